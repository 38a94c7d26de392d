"""Bounded, clear import inputs: XLSX bombs refused within 5 s and 200 MB (measured in a
separate process), damaged cells named by row, CSV quotes that never close, and files
that mix two text encodings."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from agreements.models import Channel
from leads.importing.batches import confirm_batch, create_batch, run_batch
from leads.importing.cleaning import clean_rows
from leads.importing.files import ImportFileError, read_table
from leads.importing.presets import auto_mapping
from leads.importing.uploads import MISSING
from leads.importing.xlsx import XlsxLimits, read_xlsx
from leads.models import ImportBatch, ImportRowError, ImportUpload, Lead
from tests.leads import xlsx_files as x

ROOT = Path(__file__).resolve().parents[2]
SECONDS = 5
PEAK_MB = 200

# Runs in a fresh interpreter: reads the file at argv[1], prints what happened, how long
# the read took and the process's peak resident memory, Django's own included. The peak
# is the kernel's high-water mark of this program (VmHWM); getrusage's ru_maxrss would
# carry over the forking test process's size across exec.
MEASURE = """
import json, sys, time
import django
django.setup()
from leads.importing.files import ImportFileError, read_table
start = time.perf_counter()
try:
    with open(sys.argv[1], "rb") as handle:
        outcome = f"read {len(read_table(handle, 'list.xlsx').rows)} rows"
except ImportFileError as exc:
    outcome = str(exc)
seconds = time.perf_counter() - start
with open("/proc/self/status") as status:
    peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(json.dumps({"outcome": outcome, "seconds": seconds, "peak_mb": peak_kb / 1024}))
"""


def measure_read(tmp_path: Path, data: bytes) -> dict:
    """Read the file in a separate process: what it said, seconds and peak MB."""
    path = tmp_path / "list.xlsx"
    path.write_bytes(data)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def rows_piece(count: int) -> bytes:
    """`count` rows without numbers (each follows the last), two cells each."""
    row = b'<row><c t="s"><v>2</v></c><c t="inlineStr"><is><t>Ann</t></is></c></row>'
    return row * count


def sheet_pieces(*middle: tuple[bytes, int]) -> list[tuple[bytes, int]]:
    return [(x.SHEET_HEAD + b"<sheetData>", 1), *middle, (b"</sheetData></worksheet>", 1)]


PEOPLE = x.shared_strings(x.PEOPLE_STRINGS)


# --- XLSX bombs ------------------------------------------------------------------------


def test_declared_dimension_of_a_whole_sheet_is_not_believed(tmp_path):
    data = x.workbook(x.sheet(x.people_rows(), dimension="A1:XFD1048576"), PEOPLE)
    assert len(data) < 5_000
    result = measure_read(tmp_path, data)
    assert result["outcome"] == "read 2 rows"
    assert result["seconds"] < SECONDS and result["peak_mb"] < PEAK_MB


def test_value_in_the_last_column_is_refused_not_padded(tmp_path):
    last = '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
    data = x.workbook(x.sheet(x.people_rows() + last, dimension="A1:XFD1048576"), PEOPLE)
    result = measure_read(tmp_path, data)
    assert "more than 1,000 columns" in result["outcome"]
    assert result["seconds"] < SECONDS and result["peak_mb"] < PEAK_MB


def test_small_file_unpacking_to_twenty_million_rows_is_refused(tmp_path):
    block = 50_000
    data = x.workbook(sheet_pieces((rows_piece(block), 20_000_000 // block)), PEOPLE)
    assert len(data) < 5_000_000
    result = measure_read(tmp_path, data)
    assert "more than 100,000 rows" in result["outcome"]
    assert result["seconds"] < SECONDS and result["peak_mb"] < PEAK_MB


def test_cell_of_five_hundred_million_characters_is_refused(tmp_path):
    strings = [
        (f'<sst xmlns="{x.MAIN}"><si><t>'.encode(), 1),
        (b"a" * 1_000_000, 500),
        (b"</t></si></sst>", 1),
    ]
    cell = '<row r="1"><c r="A1" t="s"><v>0</v></c></row>'
    data = x.workbook(x.sheet(cell), strings)
    assert len(data) < 1_000_000
    result = measure_read(tmp_path, data)
    assert "a text of more than 32,767 characters" in result["outcome"]
    assert result["seconds"] < SECONDS and result["peak_mb"] < PEAK_MB


def test_inline_cell_of_five_hundred_million_characters_is_refused(tmp_path):
    sheet = sheet_pieces(
        (b'<row r="1"><c r="A1" t="inlineStr"><is><t>', 1),
        (b"a" * 1_000_000, 500),
        (b"</t></is></c></row>", 1),
    )
    result = measure_read(tmp_path, x.workbook(sheet))
    assert "a text of more than 32,767 characters" in result["outcome"]
    assert result["seconds"] < SECONDS and result["peak_mb"] < PEAK_MB


def test_a_part_unpacking_past_the_limit_is_refused_as_it_unpacks():
    sheet = sheet_pieces((x.people_rows().encode(), 1), (b"<x/>" * 250_000, 2))
    data = x.workbook(sheet, PEOPLE)
    with pytest.raises(ImportFileError, match="unpacks to more than 1 MB"):
        read_xlsx(_file(data), XlsxLimits(unpacked_bytes=1024 * 1024))
    assert len(read_xlsx(_file(data), XlsxLimits(unpacked_bytes=3 * 1024 * 1024))) == 3


def test_cell_longer_than_excel_allows_is_named_by_row_and_cell():
    long = '<row r="3"><c r="B3" t="inlineStr"><is><t>' + "a" * 40_000 + "</t></is></c></row>"
    data = x.workbook(x.sheet(x.people_rows(long)), PEOPLE)
    with pytest.raises(ImportFileError, match=r"Row 3, cell B3 holds more than 32,767"):
        read_table(data, "list.xlsx")


def test_shared_text_longer_than_excel_allows_is_refused():
    data = x.workbook(x.sheet(x.people_rows()), x.shared_strings([*x.PEOPLE_STRINGS, "b" * 40_000]))
    with pytest.raises(ImportFileError, match="more than 32,767 characters"):
        read_table(data, "list.xlsx")


def test_rows_and_cells_are_counted_as_read_not_as_declared():
    data = x.workbook(x.sheet(x.people_rows()), PEOPLE)
    with pytest.raises(ImportFileError, match="more than 2 rows"):
        read_xlsx(_file(data), XlsxLimits(rows=2))
    with pytest.raises(ImportFileError, match="more than 5 cells"):
        read_xlsx(_file(data), XlsxLimits(cells=5))
    with pytest.raises(ImportFileError, match="more than 1 columns"):
        read_xlsx(_file(data), XlsxLimits(columns=1))
    assert len(read_xlsx(_file(data), XlsxLimits(rows=3, cells=6, columns=2))) == 3


def test_a_doctype_with_entities_is_refused():
    sheet = (
        b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa">]>'
        + x.sheet(x.people_rows()).split(b"?>", 1)[1]
    )
    with pytest.raises(ImportFileError, match="DOCTYPE"):
        read_table(x.workbook(sheet, PEOPLE), "list.xlsx")


def _file(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)


# --- Damaged cells ---------------------------------------------------------------------

DAMAGED_CELLS = {
    "shared string index": '<row r="3"><c r="A3" t="s"><v>99</v></c></row>',
    "number": '<row r="3"><c r="A3" t="inlineStr"><is><t>c@x.example</t></is></c>'
    '<c r="B3"><v>twelve</v></c></row>',
    "cell reference": '<row r="3"><c r="3A" t="s"><v>2</v></c></row>',
    "row number": '<row r="two"><c r="A3" t="s"><v>2</v></c></row>',
    "boolean": '<row r="3"><c r="A3" t="b"><v>maybe</v></c></row>',
    "date": '<row r="3"><c r="A3" t="d"><v>last Tuesday</v></c></row>',
    "date number": '<row r="3"><c r="A3" s="1"><v>1e300</v></c></row>',
}
DAMAGE_SAYS = {
    "shared string index": "damaged at row 3, cell A3: it refers to text number “99”",
    "number": "damaged at row 3, cell B3: “twelve” is not a number",
    "cell reference": "damaged at row 3: a cell has the reference “3A”",
    "row number": "damaged after row 2: the next row is numbered “two”",
    "boolean": "damaged at row 3, cell A3: “maybe” is not TRUE or FALSE",
    "date": "damaged at row 3, cell A3: “last Tuesday” is not a date",
    "date number": "damaged at row 3, cell A3: “1e+300” is not a date",
}


def damaged_file(kind: str) -> bytes:
    return x.workbook(x.sheet(x.people_rows(DAMAGED_CELLS[kind])), PEOPLE)


@pytest.mark.parametrize("kind", DAMAGED_CELLS)
def test_damaged_cell_is_named_by_its_row(kind):
    with pytest.raises(ImportFileError) as error:
        read_table(damaged_file(kind), "list.xlsx")
    assert DAMAGE_SAYS[kind] in str(error.value)


@pytest.mark.parametrize("kind", DAMAGED_CELLS)
def test_damaged_cell_is_a_form_error_on_the_imports_page(kind, client, marketer, channel):
    client.force_login(marketer)
    response = client.post(
        reverse("leads:imports"),
        {"file": SimpleUploadedFile("list.xlsx", damaged_file(kind)), "channel": channel.pk},
    )
    assert response.status_code == 400
    assert DAMAGE_SAYS[kind] in response.content.decode()
    assert not Lead.objects.exists()


@pytest.mark.parametrize("kind", DAMAGED_CELLS)
def test_damaged_cell_stops_the_command_with_a_clear_error(kind, tmp_path, channel):
    path = tmp_path / "list.xlsx"
    path.write_bytes(damaged_file(kind))
    with pytest.raises(CommandError) as error:
        call_command("import_leads", str(path), "--channel", channel.slug)
    assert error.value.returncode == 2
    assert DAMAGE_SAYS[kind] in str(error.value)
    assert not Lead.objects.exists()


def test_a_sound_hand_made_workbook_reads_like_excel_shows_it():
    third = (
        '<row r="3"><c r="A3" t="inlineStr"><is><t>cid@x.example</t></is></c>'
        '<c r="B3" s="1"><v>45000.5</v></c><c r="C3" t="b"><v>1</v></c>'
        '<c r="D3"><v>4930901820</v></c><c r="E3" t="e"><v>#N/A</v></c></row>'
    )
    table = read_table(x.workbook(x.sheet(x.people_rows(third)), PEOPLE), "list.xlsx")
    assert table.headers == ["Email", "First Name"]
    assert table.rows[1] == (3, ["cid@x.example", "2023-03-15T12:00:00"])
    records = read_xlsx(_file(x.workbook(x.sheet(x.people_rows(third)), PEOPLE)))
    assert records[2] == (3, ["cid@x.example", "2023-03-15T12:00:00", "TRUE", "4930901820", "#N/A"])


# --- CSV: quotes that never close, mixed encodings --------------------------------------


@pytest.fixture
def channel(db):
    return Channel.objects.get(slug="purchased-list")


UNCLOSED = (
    b"Name,Email,Company\r\n"
    b"Ann,ann@alpha.example,Alpha\r\n"
    b'Bea,"bea@beta.example,Beta\r\n'
    b"Bob,bob@bolt.example,Bolt\r\n"
    b'Cid,cid@cog.example,"Cog, Inc"\r\n'
)


def test_unclosed_quote_rejects_its_row_and_keeps_the_next_ones():
    table = read_table(UNCLOSED, "list.csv")
    assert [cells[1] for _, cells in table.rows] == [
        "ann@alpha.example",
        "bob@bolt.example",
        "cid@cog.example",
    ]
    assert [n for n, _ in table.rows] == [2, 4, 5]
    [(number, cells, reason)] = table.rejected
    assert number == 3 and cells[0] == "Bea" and "never closed" in reason


def test_unclosed_quote_in_a_two_column_file_does_not_swallow_the_next_row():
    data = b'Name,Email\nAnn,"q2@alpha.example\nBob,bob@bolt.example\n'
    table = read_table(data, "list.csv")
    assert table.rows == [(3, ["Bob", "bob@bolt.example"])]
    assert table.rejected[0][0] == 2


def test_quoted_line_breaks_inside_a_cell_are_still_one_row():
    data = (
        b'Name,Email,Address\nAnn,ann@alpha.example,"1 Main Street\nSuite 200"\nBob,b@b.example,\n'
    )
    table = read_table(data, "list.csv")
    assert [n for n, _ in table.rows] == [2, 3] and not table.rejected


def test_a_closed_cell_whose_second_line_holds_a_rows_delimiters_is_one_row(channel):
    data = (
        b"email,first_name,address\n"
        b'ann@alpha.example,Ann,"Alpha GmbH\nHauptstr. 1, 10115 Berlin, Germany"\n'
        b"bob@beta.example,Bob,Beta\n"
    )
    table = read_table(data, "list.csv")
    assert not table.rejected
    assert table.rows == [
        (2, ["ann@alpha.example", "Ann", "Alpha GmbH\nHauptstr. 1, 10115 Berlin, Germany"]),
        (3, ["bob@beta.example", "Bob", "Beta"]),
    ]
    batch, _ = create_batch(data, "list.csv", channel=channel)
    summary = run_batch(batch)
    assert (summary.created, summary.rejected) == (2, 0)


def test_unclosed_quote_row_is_reported_as_rejected_by_the_import(channel):
    batch, _ = create_batch(UNCLOSED, "list.csv", channel=channel)
    summary = run_batch(batch)
    assert (summary.total, summary.created, summary.rejected) == (4, 3, 1)
    error = ImportRowError.objects.get(batch=batch)
    assert error.row == 3 and "never closed" in error.reason and error.values[0] == "Bea"
    assert not Lead.objects.filter(email__startswith="bea").exists()


MIXED = (
    b"Email,First Name,Company\r\n"
    + "rene@bauwerk.example,René,Bauwerk\r\n".encode()
    + "zoe@societe.example,Zoë,Société\r\n".encode("cp1252")
    + b"ann@alpha.example,Ann,Alpha\r\n"
    + "jose@nino.example,José,Niño\r\n".encode()
)


def test_mixed_encodings_are_each_read_in_their_own_and_named():
    table = read_table(MIXED, "list.csv")
    names = {cells[0]: (cells[1], cells[2]) for _, cells in table.rows}
    assert names["zoe@societe.example"] == ("Zoë", "Société")
    assert names["rene@bauwerk.example"] == ("René", "Bauwerk")
    assert names["jose@nino.example"] == ("José", "Niño")
    [warning] = table.warnings
    assert "row 3 is in Windows-1252, the rest in UTF-8" in warning


def test_a_file_in_one_single_byte_encoding_has_no_warning():
    data = "Email,First Name\r\nzoe@societe.example,Zoë\r\n".encode("cp1252")
    table = read_table(data, "list.csv")
    assert table.rows[0][1][1] == "Zoë" and not table.warnings


def test_clean_rows_counts_the_rejected_lines():
    table = read_table(UNCLOSED, "list.csv")
    cleaned = clean_rows(table, auto_mapping(table.headers))
    assert cleaned.total == 4
    assert [issue.row for issue in cleaned.issues] == [3]


# --- The pages -------------------------------------------------------------------------


def upload(client, channel, data: bytes, name: str):
    return client.post(
        reverse("leads:imports"),
        {"file": SimpleUploadedFile(name, data), "channel": channel.pk},
    )


def test_preview_names_the_rows_of_another_encoding(client, marketer, channel):
    client.force_login(marketer)
    upload(client, channel, MIXED, "list.csv")
    batch = ImportBatch.objects.get()
    page = client.get(reverse("leads:import_preview", args=[batch.pk])).content.decode()
    assert 'data-testid="file-warnings"' in page
    assert "row 3 is in Windows-1252, the rest in UTF-8" in page


def test_preview_lists_the_row_with_an_unclosed_quote(client, marketer, channel):
    client.force_login(marketer)
    upload(client, channel, UNCLOSED, "list.csv")
    batch = ImportBatch.objects.get()
    response = client.get(reverse("leads:import_preview", args=[batch.pk]))
    assert response.context["summary"].created == 3
    [issue] = response.context["issues"]
    assert issue.row == 3 and "never closed" in issue.reason


# Not "page": that is the browser tests' fixture, and sharing its name puts this test among
# them (pytest groups tests by the browser's session-wide parameters).
@pytest.mark.parametrize("view", ["leads:import_preview", "leads:import_mapping"])
def test_a_missing_upload_is_a_clear_message_not_an_error_page(view, client, marketer, channel):
    client.force_login(marketer)
    upload(client, channel, UNCLOSED, "list.csv")
    batch = ImportBatch.objects.get()
    ImportUpload.objects.filter(batch=batch).delete()
    response = client.get(reverse(view, args=[batch.pk]), follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("leads:imports")
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert said == [MISSING]


def test_a_batch_with_every_row_rejected_says_so_beside_its_download(client, marketer, channel):
    client.force_login(marketer)
    data = b"Email,First Name\nnot-an-email,Ann\nalso@,Bob\n@nope.example,Cid\n"
    batch, _ = create_batch(data, "list.csv", channel=channel)
    confirm_batch(batch)
    run_batch(batch)
    batch.refresh_from_db()
    assert (batch.rejected, batch.rows_done, batch.total_rows) == (3, 3, 3)
    page = client.get(batch.get_absolute_url()).content.decode()
    assert '<span class="num">3</span>rejected' in page
    assert "Download 3 rejected rows" in page


def test_a_byte_no_windows_encoding_defines_is_read_not_a_crash():
    data = (
        "Email,First Name\r\nzoe@societe.example,Zoë\r\n".encode("cp1252")
        + b"ann@alpha.example,An\x81n\r\n"
    )
    table = read_table(data, "list.csv")
    assert [cells[0] for _, cells in table.rows] == ["zoe@societe.example", "ann@alpha.example"]


@pytest.mark.parametrize("dry_run", [True, False])
def test_the_command_reports_mixed_encodings_and_unclosed_quotes(dry_run, tmp_path, channel):
    path = tmp_path / "list.csv"
    path.write_bytes(MIXED + b'Bea,"bea@beta.example,Beta\r\nbob@bolt.example,Bob,Bolt\r\n')
    out = io.StringIO()
    extra = ["--dry-run"] if dry_run else []
    call_command("import_leads", str(path), "--channel", channel.slug, "--format", "json",
                 *extra, stdout=out)  # fmt: skip
    result = json.loads(out.getvalue())
    assert ["row 3 is in Windows-1252" in w for w in result["file_warnings"]] == [True]
    assert [(e["row"], "never closed" in e["reason"]) for e in result["errors"]] == [(6, True)]
    assert result["created"] == 5


def test_rows_of_another_encoding_after_a_utf8_byte_order_mark_are_read_and_named():
    table = read_table(b"\xef\xbb\xbf" + MIXED, "list.csv")
    assert table.headers[0] == "Email"
    assert {cells[1] for _, cells in table.rows} == {"René", "Zoë", "Ann", "José"}
    assert "row 3 is in Windows-1252" in table.warnings[0]


def test_the_first_sheet_with_a_value_is_read_and_the_limits_count_every_sheet_read():
    blank = (
        '<row r="1"><c r="A1" s="1"/></row>'
        '<row r="2"><c r="A2" t="inlineStr"><is><t> </t></is></c></row>'
    )
    data = x.workbook(x.sheet(x.people_rows()), PEOPLE, notes=x.sheet(blank))
    assert [n for n, _ in read_table(data, "list.xlsx").rows] == [2, 4]
    with pytest.raises(ImportFileError, match="more than 4 rows"):
        read_xlsx(_file(data), XlsxLimits(rows=4))
    assert len(read_xlsx(_file(data), XlsxLimits(rows=5))) == 3


def test_a_zip_directory_of_800_000_entries_is_refused_before_it_is_read(tmp_path):
    name = b"x/%07d"
    entry = struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 0, 0, 33, 0, 0, 0, 9, 0, 0, 0,
                        0, 0, 0)  # fmt: skip
    directory = b"".join(entry + name % i for i in range(800_000))  # 44 MB, under the cap
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(directory), 0, 0)
    result = measure_read(tmp_path, b"PK\x03\x04" + directory + end)
    assert "ZIP directory lists far more parts than a workbook has" in result["outcome"]
    assert result["seconds"] < SECONDS and result["peak_mb"] < PEAK_MB


def test_a_cell_over_the_csv_size_limit_is_named_by_its_row():
    rows = b"".join(b"p%d@list.example,Ann\r\n" % i for i in range(5000))
    data = b"Email,Notes\r\n" + rows + b'big@list.example,"' + b"x" * 11_000_000 + b'"\r\n'
    with pytest.raises(ImportFileError, match="not valid CSV at row 5002: field larger than"):
        read_table(data, "list.csv")
