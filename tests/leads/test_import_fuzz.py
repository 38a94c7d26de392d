"""Malformed CSV thrown at the importer: a clear file error or a clean import, never a
traceback, and never a partial row in the database."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agreements.models import Channel
from leads.importing.batches import create_batch, run_batch
from leads.importing.cleaning import clean_rows
from leads.importing.columns import FILL_FIELDS
from leads.importing.files import ImportFileError, read_table
from leads.importing.presets import auto_mapping
from leads.models import Lead

CELL = st.text(
    alphabet=st.sampled_from([*"ab@.x é\"',;\t\r\n=+-", "\x00", "\x1b", "\ufeff"]),
    max_size=12,
)
HEADER = st.sampled_from(["Email", "First Name", "Title", "Company", "Country", "Notes", ""])


@st.composite
def csv_bytes(draw) -> bytes:
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    width = draw(st.integers(1, 5))
    lines = [delimiter.join(draw(st.lists(HEADER, min_size=width, max_size=width)))]
    for _ in range(draw(st.integers(0, 6))):
        cells = draw(st.lists(CELL, min_size=0, max_size=width + 1))
        if draw(st.booleans()):
            cells = [f"{draw(st.sampled_from(['a', 'b', 'z']))}@x{len(lines)}.example", *cells]
        lines.append(delimiter.join(cells))
    text = draw(st.sampled_from(["\r\n", "\n", "\r"])).join(lines)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]))
    data = text.encode(encoding, errors="replace")
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]  # cut anywhere, even mid-character
    return data


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=csv_bytes() | st.binary(max_size=300))
def test_reading_and_cleaning_never_crash(data):
    try:
        table = read_table(data, "fuzz.csv")
        cleaned = clean_rows(table, auto_mapping(table.headers))
    except ImportFileError as exc:
        assert str(exc)
        return
    assert len(cleaned.rows) + len(cleaned.issues) == cleaned.total
    for issue in cleaned.issues:
        assert issue.row > table.header_row and issue.reason


@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=csv_bytes())
def test_importing_writes_whole_rows_or_nothing(data):
    channel = Channel.objects.get(slug="purchased-list")
    Lead.objects.all().delete()
    try:
        batch, table = create_batch(data, "fuzz.csv", channel=channel)
        cleaned = clean_rows(table, auto_mapping(table.headers))
        summary = run_batch(batch)
    except ImportFileError:
        assert not Lead.objects.exists()
        return
    assert summary.created + summary.updated + summary.unchanged + summary.rejected == (
        summary.total
    )
    assert Lead.objects.count() == summary.created
    expected = {row.email: row.values for row in cleaned.rows}
    for lead in Lead.objects.all():
        values = expected[lead.email]
        for name in FILL_FIELDS:
            assert getattr(lead, name) == values.get(name, "")
