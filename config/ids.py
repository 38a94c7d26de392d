"""Ids typed into URLs, forms and API bodies: a whole number a row can have, or nothing.

`str.isdigit()` accepts "²" (which int() refuses) and any length (which SQLite refuses
to compare: OverflowError); every id read from a person goes through `as_id`.
"""

from __future__ import annotations

# The largest id either database stores (a signed 64-bit integer).
MAX_ID = 2**63 - 1


def as_id(text: object) -> int | None:
    """The id `text` spells (ASCII digits, 0 … MAX_ID), or None."""
    if isinstance(text, bool):
        return None
    if isinstance(text, int):
        return text if 0 <= text <= MAX_ID else None
    spelled = str(text).strip()
    if not (spelled.isascii() and spelled.isdigit()):
        return None
    number = int(spelled)
    return number if number <= MAX_ID else None
