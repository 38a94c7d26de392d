"""Exports never hand a spreadsheet a formula: one sanitiser (leads.spreadsheet.safe_cell)
for the reports, the admin's lead export and an import's rejected rows."""

from __future__ import annotations

import csv
import io

import pytest
from import_export.formats.base_formats import XLSX
from openpyxl import load_workbook

from leads.resources import LeadResource
from leads.spreadsheet import csv_response, safe_cell
from tests.factories import LeadFactory

FORMULAS = [
    "=1+1",
    "+1+1",
    "-1+1",
    "@SUM(A1)",
    "\t=1+1",
    "\r=1+1",
    "\tanything",
    ' =HYPERLINK("http://evil")',
    "   +cmd|' /C calc'!A0",
    "\n=1+1",
    "\r\n  @SUM(A1)",
    "＝1+1",
    "＋1+1",
    "－1+1",
    "＠SUM(A1)",
    ' ＝HYPERLINK("http://evil")',
    "\u3000=1+1",
    "\xa0=1+1",
    "+49 30 1234 =1+1",
    "+1 cmd",
    "+1+cmd|' /C calc'!A0",
    "-",
]
LEFT_ALONE = [
    "+49 30 1234567",
    "+4930123456",
    " +33 1 23 45 67 89",
    "+1 (650) 253-0000",
    "+44 20.7946.0000",
    "Ada Lovelace",
    "ada@analytical.example",
    "a=b",
    "Score: -5",
    "",
    " plain text after a space",
]


@pytest.mark.parametrize("text", FORMULAS)
def test_formula_like_text_gets_a_leading_quote(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("text", LEFT_ALONE)
def test_phone_numbers_and_plain_text_are_left_as_they_are(text):
    assert safe_cell(text) == text


@pytest.mark.parametrize("value", [-5, 3.5, None, 0])
def test_numbers_stay_numbers(value):
    assert safe_cell(value) == value


@pytest.mark.django_db
def test_the_admin_lead_export_escapes_every_formula_and_keeps_phones():
    LeadFactory(
        email="ada@analytical.example",
        first_name='＝HYPERLINK("http://evil")',
        last_name=" =1+1",
        company="\n@SUM(A1)",
        phone="+49 30 1234567",
    )
    dataset = LeadResource().export()
    row = dataset.dict[0]
    assert row["first_name"] == '\'＝HYPERLINK("http://evil")'
    assert row["last_name"] == "' =1+1"
    assert row["company"] == "'\n@SUM(A1)"
    assert row["phone"] == "+49 30 1234567"


@pytest.mark.django_db
def test_the_admin_lead_xlsx_export_holds_a_control_character():
    # A vertical tab pasted into a company name: openpyxl refuses it in a cell, and
    # import-export failed the whole export unless told to replace it (settings).
    LeadFactory(email="vt@example.com", company="Acme\x0bGmbH")
    book = load_workbook(io.BytesIO(XLSX().export_data(LeadResource().export())))
    values = [cell.value for row in book.active.iter_rows() for cell in row]
    assert "Acme\N{REPLACEMENT CHARACTER}GmbH" in values


def test_csv_downloads_escape_header_and_cells():
    response = csv_response("rows.csv", ["=head", "phone"], [[" =1+1", "+49 30 1234567"]])
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows == [["'=head", "phone"], ["' =1+1", "+49 30 1234567"]]
