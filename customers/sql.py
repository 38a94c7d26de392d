"""The customers app's database-specific SQL: the texts the search looks in, per vendor.

Each lead is searched in one text (name, email, company and the digits of the phone,
lower-cased, '|' between them) and each company in one (name and domain). On Postgres a
trigram GIN index holds each text (migration customers 0001, which carries its own copy
of these expressions: change both together), so ``LIKE '%…%'`` reads the index instead
of every row; SQLite has no such index and scans, which is fine at 100,000 leads.
tests/customers/test_search.py checks on Postgres that the search uses the indexes.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection

# The phone's digits: Postgres has regexp_replace; SQLite removes what phones are written with.
_SQLITE_PHONE_DIGITS = "phone"
for _char in (" ", "-", "+", "(", ")", ".", "/"):
    _SQLITE_PHONE_DIGITS = f"replace({_SQLITE_PHONE_DIGITS}, '{_char}', '')"

LEAD_TEXT = {
    "postgresql": (
        "(lower(first_name || ' ' || last_name || '|' || email || '|' || company)"
        " || '|' || regexp_replace(phone, '[^0-9]+', '', 'g'))"
    ),
    "sqlite": (
        "(lower(first_name || ' ' || last_name || '|' || email || '|' || company)"
        f" || '|' || {_SQLITE_PHONE_DIGITS})"
    ),
}
ACCOUNT_TEXT = {
    "postgresql": "lower(name || '|' || coalesce(domain, ''))",
    "sqlite": "lower(name || '|' || coalesce(domain, ''))",
}


def like_contains(term: str) -> str:
    """A LIKE pattern (escape character backslash) matching texts that contain `term`."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def lead_ids_containing(terms: Sequence[str], limit: int) -> list[int]:
    """Ids of at most `limit` leads whose search text contains every (lower-case) term."""
    return _ids_containing("leads_lead", LEAD_TEXT, terms, limit)


def account_ids_containing(terms: Sequence[str], limit: int) -> list[int]:
    """Ids of at most `limit` companies whose name or domain contains every (lower-case) term."""
    return _ids_containing("leads_account", ACCOUNT_TEXT, terms, limit)


def _ids_containing(
    table: str, texts: dict[str, str], terms: Sequence[str], limit: int
) -> list[int]:
    if not terms:
        return []
    text = texts.get(connection.vendor, texts["sqlite"])
    where = " AND ".join(f"{text} LIKE %s ESCAPE '\\'" for _ in terms)
    sql = f"SELECT id FROM {table} WHERE {where} LIMIT %s"  # noqa: S608 (fixed texts only)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*(like_contains(t) for t in terms), limit])
        return [row[0] for row in cursor.fetchall()]
