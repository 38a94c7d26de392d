"""Reading the files people actually have: every vendor preset, messy encodings and layouts."""

from __future__ import annotations

import pytest

from agreements.models import Channel
from agreements.stages import Stage
from leads.importing.batches import create_batch, run_batch
from leads.importing.cleaning import clean_rows
from leads.importing.files import ImportFileError, encoding_label, read_table
from leads.importing.presets import auto_mapping, detect_preset
from leads.models import Activity, ImportRowError, Lead
from tests.leads import import_files as files

PRESETS = list(files.HEADERS)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def channel(db):
    return Channel.objects.get(slug="purchased-list")


def _import(data: bytes, name: str, channel, **kwargs):
    batch, _ = create_batch(data, name, channel=channel, **kwargs)
    return batch, run_batch(batch)


@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_file_imports_with_exact_counts(preset, channel):
    data, expected = files.messy_file(preset)
    name = f"{preset}.xlsx" if preset == "zoominfo" else f"{preset}.csv"
    batch, summary = _import(data, name, channel)
    assert {
        "created": summary.created,
        "updated": summary.updated,
        "unchanged": summary.unchanged,
        "rejected": summary.rejected,
    } == expected
    assert Lead.objects.count() == 5
    assert ImportRowError.objects.filter(batch=batch).count() == 4


@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_is_recognised_and_maps_email(preset):
    headers = files.HEADERS[preset]
    mapping = auto_mapping(headers)
    assert mapping[headers.index(files.EMAIL_HEADER[preset])] == "email"
    assert detect_preset(headers) is not None


@pytest.mark.parametrize("preset", PRESETS)
def test_rejections_name_row_column_and_reason(preset, channel):
    data, _ = files.messy_file(preset)
    table = read_table(data, preset)
    cleaned = clean_rows(table, auto_mapping(table.headers))
    first = table.header_row + 1
    reasons = {issue.row - first: issue.reason for issue in cleaned.issues}
    assert reasons[5] == "Email is missing."
    assert "not a valid address" in reasons[6]
    assert reasons[7].startswith(f"Duplicate of row {first + 1}")
    assert "too long" in reasons[8] and "at most 254" in reasons[8]


def test_cp1252_semicolon_file_keeps_accents(channel):
    data, _ = files.messy_file("marketo")
    _import(data, "marketo.csv", channel)
    lead = Lead.objects.get(email="rene.mueller@bauwerk.example")
    assert (lead.first_name, lead.last_name, lead.country) == ("René", "Müller", "DE")
    assert Lead.objects.get(email="zoe@societe.example").company == "Société Générale Démo"


def test_utf16_tab_file_from_excel_unicode_text(channel):
    data, _ = files.messy_file("pipedrive")
    table = read_table(data, "people.txt")
    assert (table.encoding, table.delimiter) == ("utf-16", "\t")
    _import(data, "people.txt", channel)
    assert Lead.objects.get(email="zoe@societe.example").first_name == "Zoë"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_read(encoding, channel):
    data = "Email\tFirst Name\r\nzoe@societe.example\tZoë\r\nann@alpha.example\tAnn\r\n"
    table = read_table(data.encode(encoding), "people.txt")
    assert (encoding_label(table.encoding), table.delimiter) == ("UTF-16", "\t")
    assert table.rows == [
        (2, ["zoe@societe.example", "Zoë"]),
        (3, ["ann@alpha.example", "Ann"]),
    ]
    _import(data.encode(encoding), "people.txt", channel)
    assert Lead.objects.get(email="zoe@societe.example").first_name == "Zoë"


def test_utf16_without_a_byte_order_mark_cut_short_says_to_save_as_utf8():
    data = "Email,First Name\r\nzoe@societe.example,Zoë\r\n".encode("utf-16-le")
    with pytest.raises(ImportFileError, match=r"UTF-16.*save it as CSV UTF-8"):
        read_table(data[:-1], "people.csv")


def test_binary_data_with_nuls_on_one_side_is_still_binary():
    data = b"".join(n.to_bytes(2, "little") for n in range(1, 250)) * 4
    with pytest.raises(ImportFileError, match="binary data"):
        read_table(data, "numbers.csv")


def test_zoom_attendee_report_skips_preamble_and_host(channel):
    data, _ = files.messy_file("zoom_attendees")
    table = read_table(data, "attendees.csv")
    assert table.header_row == len(files.ZOOM_ATTENDEE_PREAMBLE) + 1
    _import(data, "attendees.csv", channel)
    assert not Lead.objects.filter(email="hannah@accord.example").exists()


def test_salesforce_report_footer_is_not_a_row(channel):
    data, _ = files.messy_file("salesforce_report")
    table = read_table(data, "report.csv")
    assert len(table.rows) == 9


def test_trailing_rows_holding_only_an_email_are_imported_not_taken_for_a_footer(channel):
    data = b"email,first_name,company\na@x.example,Ann,X\nb@x.example,,\nc@x.example,,\n"
    _, summary = _import(data, "list.csv", channel)
    assert (summary.created, summary.rejected) == (3, 0)
    assert sorted(Lead.objects.values_list("email", flat=True)) == [
        "a@x.example",
        "b@x.example",
        "c@x.example",
    ]


def test_a_footer_after_rows_holding_only_an_email_is_still_dropped():
    data = b'email,first_name\na@x.example,Ann\nb@x.example,\n\n"Grand Totals (2 records)"\n'
    table = read_table(data, "report.csv")
    assert [cells[0] for _, cells in table.rows] == ["a@x.example", "b@x.example"]


def test_quoted_newlines_and_unknown_columns_are_fine(channel):
    data, _ = files.messy_file("apollo")  # Company Address holds "1 Main Street\nSuite 200"
    table = read_table(data, "apollo.csv")
    assert len(table.rows) == 9
    assert table.rows[0][1][files.APOLLO_HEADERS.index("Company Address")].count("\n") == 1


def test_xlsx_numbers_and_preamble(channel):
    grid = files.records("apollo", [files.row_for("apollo", files.person(0))])
    grid[1][files.APOLLO_HEADERS.index("Work Direct Phone")] = 4930901820
    data = files.to_xlsx(grid, preamble=[["Exported from Apollo"], []])
    _import(data, "apollo.xlsx", channel)
    assert Lead.objects.get().phone == "4930901820"


def test_new_lead_gets_channel_entry_stage_campaign_and_account(channel):
    data, _ = files.messy_file("apollo")
    batch, _ = _import(data, "apollo.csv", channel, campaign_name="Q1 list")
    lead = Lead.objects.get(email="ada@analytical.example")
    assert lead.stage == Stage.SUSPECT
    assert lead.channel == channel
    assert lead.campaign.name == "Q1 list"
    assert lead.account.domain == "analytical.example"
    assert lead.source_batch == batch
    activity = Activity.objects.get(lead=lead)
    assert activity.kind == Activity.Kind.LIST_IMPORT
    assert activity.subject == "Appeared in list Q1 list"


def test_persona_is_tagged_when_its_rules_match(channel):
    data, _ = files.messy_file("apollo")
    _import(data, "apollo.csv", channel)
    assert Lead.objects.get(email="ada@analytical.example").persona.name == "Economic buyer"
    assert Lead.objects.get(email="linus@nordic.example").persona.name == "Operations"


def test_formula_cells_are_stored_as_plain_text(channel):
    row = {**files.row_for("apollo", files.person(0)), "Company": '=HYPERLINK("http://x","y")'}
    _import(files.to_csv(files.records("apollo", [row])), "apollo.csv", channel)
    assert Lead.objects.get().company == '=HYPERLINK("http://x","y")'


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, ".xls"),
        (b"PK\x03\x04not really a zip", "not an Excel workbook"),
    ],
)
def test_unreadable_files_get_a_clear_message(data, message):
    with pytest.raises(ImportFileError, match=message):
        read_table(data, "upload.bin")


def test_file_over_the_size_cap_is_refused(settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 100
    with pytest.raises(ImportFileError, match="limit is"):
        read_table(b"Email\n" + b"a@b.example\n" * 20, "big.csv")


def test_no_email_column_is_a_file_error():
    table = read_table(b"Name,Company\nAda,Engines\n", "x.csv")
    with pytest.raises(ImportFileError, match="Email"):
        clean_rows(table, auto_mapping(table.headers))
