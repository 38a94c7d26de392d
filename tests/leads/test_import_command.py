"""`manage.py import_leads`: the browser's import for scripts."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from leads.models import Campaign, ImportBatch, Lead
from tests.leads import import_files as files


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def apollo_file(tmp_path):
    data, _ = files.messy_file("apollo")
    path = tmp_path / "apollo.csv"
    path.write_bytes(data)
    return path


def run(*args: str) -> dict:
    out = StringIO()
    call_command("import_leads", *args, "--format", "json", stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_json_output_has_the_counts_and_row_errors(apollo_file):
    result = run(str(apollo_file), "--channel", "purchased-list", "--campaign", "Q1 Apollo")
    assert (result["created"], result["updated"], result["unchanged"], result["skipped"]) == (
        5,
        0,
        0,
        4,
    )
    assert [e["row"] for e in result["errors"]] == [7, 8, 9, 10]
    assert result["errors"][0]["reason"] == "Email is missing."
    assert Lead.objects.filter(campaign__name="Q1 Apollo").count() == 5
    assert ImportBatch.objects.get().created == 5


@pytest.mark.django_db
def test_dry_run_writes_nothing(apollo_file):
    result = run(str(apollo_file), "--channel", "purchased-list", "--dry-run", "--campaign", "X")
    assert (result["created"], result["skipped"], result["dry_run"]) == (5, 4, True)
    assert not Lead.objects.exists()
    assert not ImportBatch.objects.exists()
    assert not Campaign.objects.exists()


@pytest.mark.django_db
def test_an_unreadable_file_exits_non_zero(tmp_path):
    path = tmp_path / "photo.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    out = StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command("import_leads", str(path), "--channel", "purchased-list", stdout=out)
    assert excinfo.value.returncode == 2
    assert "binary" in str(excinfo.value)


@pytest.mark.django_db
def test_text_output_lists_rejected_rows(apollo_file):
    out = StringIO()
    call_command("import_leads", str(apollo_file), "--channel", "purchased-list", stdout=out)
    text = out.getvalue()
    assert "5 created, 0 updated, 0 unchanged, 4 rejected" in text
    assert "row 7 [Email]: Email is missing." in text
