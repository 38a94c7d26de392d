"""Properties of the bounded readers: any damage to an XLSX sheet's cells is a clear file
error or a clean read, never a traceback; a CSV quote that never closes costs its own row
and no other."""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leads.importing.files import ImportFileError, read_table
from tests.leads import xlsx_files as x

ROW_NUMBER = st.one_of(st.integers(-3, 1_100_000).map(str), st.text("0123456789x-. ", max_size=6))
REFERENCE = st.text("ABXZ0129$:!a ", max_size=6)
CELL_TYPE = st.sampled_from(["s", "n", "b", "d", "e", "str", "inlineStr", "zz", ""])
STYLE = st.text("0123456789x-", max_size=3)
VALUE = st.text(max_size=12)


@st.composite
def damaged_cell(draw) -> str:
    attributes = ""
    if draw(st.booleans()):
        attributes += f" r={quoteattr(draw(REFERENCE))}"
    if draw(st.booleans()):
        attributes += f" t={quoteattr(draw(CELL_TYPE))}"
    if draw(st.booleans()):
        attributes += f" s={quoteattr(draw(STYLE))}"
    value = escape(draw(VALUE))
    inner = f"<is><t>{value}</t></is>" if draw(st.booleans()) else f"<v>{value}</v>"
    return f"<c{attributes}>{inner}</c>"


@st.composite
def damaged_row(draw) -> str:
    number = f" r={quoteattr(draw(ROW_NUMBER))}" if draw(st.booleans()) else ""
    cells = "".join(draw(st.lists(damaged_cell(), max_size=4)))
    return f"<row{number}>{cells}</row>"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(row=damaged_row())
def test_damaged_cells_are_a_clear_error_or_a_clean_read(row):
    data = x.workbook(x.sheet(x.people_rows(row)), x.shared_strings(x.PEOPLE_STRINGS))
    try:
        table = read_table(data, "fuzz.xlsx")
    except ImportFileError as exc:
        assert str(exc).startswith(("The Excel file", "Row ", "The sheet", "The workbook"))
        return
    assert table.headers == ["Email", "First Name"]
    assert all(len(cells) == 2 for _, cells in table.rows)


PLAIN = st.text(st.sampled_from("abcxyzéü-"), min_size=1, max_size=8)


@settings(max_examples=150, deadline=None)
@given(
    width=st.integers(2, 5),
    count=st.integers(2, 8),
    data=st.data(),
)
def test_an_unclosed_quote_costs_its_own_row_only(width, count, data):
    rows = [
        [f"p{i}@list{i}.example"] + [data.draw(PLAIN) for _ in range(width - 1)]
        for i in range(count)
    ]
    broken = data.draw(st.integers(0, count - 2))  # a row with rows after it
    column = data.draw(st.integers(0, width - 1))
    rows[broken][column] = '"' + rows[broken][column]
    lines = [",".join(["Email", *(f"Column {i}" for i in range(1, width))])]
    lines += [",".join(cells) for cells in rows]
    table = read_table(("\r\n".join(lines) + "\r\n").encode(), "list.csv")
    assert [number for number, _, _ in table.rejected] == [broken + 2]
    kept = [i for i in range(count) if i != broken]
    assert [cells[0] for _, cells in table.rows] == [rows[i][0] for i in kept]
    assert [number for number, _ in table.rows] == [i + 2 for i in kept]
