"""The customers app's database-specific SQL: where the search looks, per vendor.

A person is found by name ("first last"), email, company or the digits of the phone; a
company by name or domain. A term of three characters or more matches anywhere in them;
a shorter one only at the start of a word ('ab%', '% ab%').

On Postgres each lead's fields are one lower-cased text ('|' between them), and so is each
company's, each held by a trigram GIN index (migration customers 0001, which carries its
own copy of these expressions: change both together), so ``LIKE '%…%'`` reads the index
instead of every row; a short term's word starts are the padded trigrams the index holds.
SQLite has no such index: it compares each field with its own case-insensitive LIKE,
cheap enough to scan 100,000 leads. tests/customers/test_search.py checks on Postgres that
the search uses the indexes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django.db import connection

SHORT_TERM = 3  # characters in a trigram

LEAD_TEXT = {
    "postgresql": (
        "(lower(first_name || ' ' || last_name || '|' || email || '|' || company)"
        " || '|' || regexp_replace(phone, '[^0-9]+', '', 'g'))"
    ),
}
ACCOUNT_TEXT = {"postgresql": "lower(name || '|' || coalesce(domain, ''))"}

# SQLite: the fields themselves; the phone's digits only for a term of digits.
_SQLITE_PHONE_DIGITS = "phone"
for _char in (" ", "-", "+", "(", ")", ".", "/"):
    _SQLITE_PHONE_DIGITS = f"replace({_SQLITE_PHONE_DIGITS}, '{_char}', '')"
SQLITE_LEAD_FIELDS = ("first_name || ' ' || last_name", "email", "company")
SQLITE_ACCOUNT_FIELDS = ("name", "coalesce(domain, '')")


def like_escaped(term: str) -> str:
    """The term with LIKE's special characters escaped (escape character backslash)."""
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def like_contains(term: str) -> str:
    """A LIKE pattern matching texts that contain `term`."""
    return f"%{like_escaped(term)}%"


def patterns_for(term: str, *, joined: bool) -> list[str]:
    """The LIKE patterns of one term: anywhere, or for a short term the start of a word
    (of the '|'-joined text when `joined`, else of one field)."""
    if len(term) >= SHORT_TERM:
        return [like_contains(term)]
    escaped = like_escaped(term)
    starts = [f"{escaped}%", f"% {escaped}%"]
    return [*starts, f"%|{escaped}%"] if joined else starts


def term_condition(fields: Sequence[str], term: str, *, joined: bool) -> tuple[str, list[str]]:
    """SQL (and its parameters): one of the fields matches one of the term's patterns."""
    patterns = patterns_for(term, joined=joined)
    parts = [f"{field} LIKE %s ESCAPE '\\'" for field in fields for _ in patterns]
    return "(" + " OR ".join(parts) + ")", [p for _ in fields for p in patterns]


def lead_ids_containing(terms: Sequence[str], limit: int) -> list[int]:
    """Ids of at most `limit` leads matching every (lower-case) term."""
    if connection.vendor == "postgresql":
        return _ids("leads_lead", terms, limit, lambda term: [LEAD_TEXT["postgresql"]])

    def fields(term: str) -> list[str]:
        return [*SQLITE_LEAD_FIELDS, *([_SQLITE_PHONE_DIGITS] if term.isdigit() else [])]

    return _ids("leads_lead", terms, limit, fields)


def account_ids_containing(terms: Sequence[str], limit: int) -> list[int]:
    """Ids of at most `limit` companies whose name or domain matches every (lower-case) term."""
    if connection.vendor == "postgresql":
        return _ids("leads_account", terms, limit, lambda term: [ACCOUNT_TEXT["postgresql"]])
    return _ids("leads_account", terms, limit, lambda term: list(SQLITE_ACCOUNT_FIELDS))


def _ids(
    table: str, terms: Sequence[str], limit: int, fields_for: Callable[[str], Sequence[str]]
) -> list[int]:
    if not terms:
        return []
    joined = connection.vendor == "postgresql"
    conditions = [term_condition(fields_for(term), term, joined=joined) for term in terms]
    where = " AND ".join(condition for condition, _ in conditions)
    params = [p for _, patterns in conditions for p in patterns]
    sql = f"SELECT id FROM {table} WHERE {where} LIMIT %s"  # noqa: S608 (fixed texts only)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, limit])
        return [row[0] for row in cursor.fetchall()]
