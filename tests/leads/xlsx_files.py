"""XLSX workbooks built by hand (raw XML in a ZIP), damaged or hostile on purpose.

A part may be given as repeated pieces ([(bytes, times)]): each piece is deflated once
and its compressed block repeated, so a file of a few MB unpacks to a GB without the
test compressing a GB.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

Pieces = Sequence[tuple[bytes, int]]

CONTENT_TYPES = b"""<?xml version="1.0" encoding="UTF-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml"
 ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml"
 ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
<Override PartName="/xl/sharedStrings.xml"
 ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>
<Override PartName="/xl/styles.xml"
 ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>
</Types>"""

ROOT_RELS = f"""<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="{RELS}">
<Relationship Id="rId1" Type="{DOC_RELS}/officeDocument" Target="xl/workbook.xml"/>
</Relationships>""".encode()

WORKBOOK = f"""<?xml version="1.0" encoding="UTF-8"?>
<workbook xmlns="{MAIN}" xmlns:r="{DOC_RELS}">
<sheets><sheet name="Notes" sheetId="9" r:id="rId9"/><sheet name="People" sheetId="1" r:id="rId1"/>
</sheets></workbook>""".encode()

# A "Notes" sheet comes first when the workbook has one (an empty one is skipped).
WORKBOOK_RELS = f"""<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="{RELS}">
<Relationship Id="rId1" Type="{DOC_RELS}/worksheet" Target="worksheets/sheet1.xml"/>
<Relationship Id="rId2" Type="{DOC_RELS}/sharedStrings" Target="sharedStrings.xml"/>
<Relationship Id="rId3" Type="{DOC_RELS}/styles" Target="styles.xml"/>
<Relationship Id="rId9" Type="{DOC_RELS}/worksheet" Target="/xl/worksheets/notes.xml"/>
</Relationships>""".encode()

# Cell format 1 shows dates (built-in number format 14, "mm-dd-yy").
STYLES = f"""<?xml version="1.0" encoding="UTF-8"?>
<styleSheet xmlns="{MAIN}">
<cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/></cellXfs>
</styleSheet>""".encode()

SHEET_HEAD = f'<?xml version="1.0" encoding="UTF-8"?>\n<worksheet xmlns="{MAIN}">'.encode()


def shared_strings(texts: Sequence[str]) -> bytes:
    items = "".join(f"<si><t>{t}</t></si>" for t in texts)
    return f'<sst xmlns="{MAIN}" count="{len(texts)}">{items}</sst>'.encode()


def sheet(rows: str, *, dimension: str = "") -> bytes:
    head = f'<dimension ref="{dimension}"/>' if dimension else ""
    return SHEET_HEAD + f"{head}<sheetData>{rows}</sheetData></worksheet>".encode()


def people_rows(corrupt_row: str = "") -> str:
    """Header (Email, First Name) in row 1, Ada in row 2, then `corrupt_row` as row 3,
    then Bob in row 4; texts are shared strings 0-3 of PEOPLE_STRINGS."""
    return (
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
        '<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2" t="inlineStr"><is><t>Ada</t></is></c>'
        "</row>"
        + corrupt_row
        + '<row r="4"><c r="A4" t="s"><v>3</v></c><c r="B4" t="inlineStr"><is><t>Bob</t></is>'
        "</c></row>"
    )


PEOPLE_STRINGS = ["Email", "First Name", "ada@engines.example", "bob@builders.example"]


def workbook(
    sheet_xml: bytes | Pieces,
    strings: bytes | Pieces | None = None,
    *,
    notes: bytes = b"",
) -> bytes:
    """An XLSX file with the sheet, its shared strings (if any), STYLES and a "Notes"
    sheet before it (empty unless given)."""
    parts: list[tuple[str, bytes | Pieces]] = [
        ("[Content_Types].xml", CONTENT_TYPES),
        ("_rels/.rels", ROOT_RELS),
        ("xl/workbook.xml", WORKBOOK),
        ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
        ("xl/styles.xml", STYLES),
        ("xl/worksheets/sheet1.xml", sheet_xml),
        ("xl/worksheets/notes.xml", notes or sheet("")),
    ]
    if strings is not None:
        parts.append(("xl/sharedStrings.xml", strings))
    return zip_archive(parts)


def deflate_pieces(pieces: Pieces) -> tuple[bytes, int, int]:
    """Raw deflate data, CRC-32 and size of the pieces, each repeated its times."""
    blocks, crc, size = [], 0, 0
    for piece, times in pieces:
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        block = compressor.compress(piece) + compressor.flush(zlib.Z_FULL_FLUSH)
        blocks.append(block * times)
        for _ in range(times):
            crc = zlib.crc32(piece, crc)
        size += len(piece) * times
    last = zlib.compressobj(9, zlib.DEFLATED, -15).flush()
    return b"".join(blocks) + last, crc, size


def zip_archive(parts: Sequence[tuple[str, bytes | Pieces]]) -> bytes:
    """A ZIP of deflated members, written by hand so a member's data can be repeated blocks."""
    out, directory = bytearray(), bytearray()
    for name, content in parts:
        pieces = [(content, 1)] if isinstance(content, bytes) else content
        data, crc, size = deflate_pieces(pieces)
        encoded = name.encode()
        offset = len(out)
        sizes = (crc, len(data), size, len(encoded))
        out += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 33, *sizes, 0)
        out += encoded + data
        head = struct.pack("<4s6H", b"PK\x01\x02", 20, 20, 0, 8, 0, 33)
        directory += head + struct.pack("<3L5H2L", *sizes, 0, 0, 0, 0, 0, offset) + encoded
    count = len(parts)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(directory), len(out), 0)
    return bytes(out + directory + end)
