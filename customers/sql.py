"""The customers app's database-specific SQL: where the search looks, per vendor.

A person is found by name ("first last"), email, company or the digits of the phone; a
company by name or domain. A term of three characters or more matches anywhere in them;
a shorter one only at the start of a word ('ab%', '% ab%').

A lead's fields are one lower-cased text ('|' between them) kept beside it
(leads.LeadSearch, rewritten only when they change), and each company's is an
expression of its row. On Postgres each is held by a trigram GIN index (migrations
customers 0001 and 0005, which carry their own copy of the company's expression: change
both together), so ``LIKE '%…%'`` reads the index instead of every row; a short term's
word starts are the padded trigrams the index holds. A term most rows contain only
filters the rows the other terms find (`split_terms`). SQLite has no such index: it
compares with a case-insensitive LIKE, cheap enough to scan 100,000 leads.
tests/customers/test_search.py checks on Postgres that the search uses the indexes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.db import connection

SHORT_TERM = 3  # characters in a trigram
# Postgres: a term expected in more than this share of the rows filters instead of reading
# the index.
COMMON_SHARE = 0.1

# The leads' texts (leads.LeadSearch: made by leads.models.search_text).
LEAD_SEARCH_TABLE = "leads_leadsearch"
ACCOUNT_TEXT = {"postgresql": "lower(name || '|' || coalesce(domain, ''))"}

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


# Leads merged into another are never found (the default manager's rule, in SQL; the
# partial index lead_merged_into holds the few merged).
CURRENT_LEADS = (
    "lead_id NOT IN (SELECT id FROM leads_lead WHERE merged_into_id IS NOT NULL)",
    [],
)


def lead_ids_containing(terms: Sequence[str], limit: int) -> list[int]:
    """Ids of at most `limit` current (not merged) leads matching every (lower-case) term."""
    if not terms:
        return []
    if connection.vendor == "postgresql":
        return _postgres_ids(
            LEAD_SEARCH_TABLE, "text", terms, limit, extra=[CURRENT_LEADS], key="lead_id"
        )
    return _sqlite_ids(
        LEAD_SEARCH_TABLE,
        terms,
        limit,
        ["text"],
        extra=[CURRENT_LEADS],
        key="lead_id",
        joined=True,
    )


def account_ids_containing(terms: Sequence[str], limit: int) -> list[int]:
    """Ids of at most `limit` companies whose name or domain matches every (lower-case) term."""
    if not terms:
        return []
    if connection.vendor == "postgresql":
        return _postgres_ids("leads_account", ACCOUNT_TEXT["postgresql"], terms, limit)
    return _sqlite_ids("leads_account", terms, limit, SQLITE_ACCOUNT_FIELDS)


def _sqlite_ids(
    table: str,
    terms: Sequence[str],
    limit: int,
    fields: Sequence[str],
    extra: Sequence[tuple[str, list[str]]] = (),
    *,
    key: str = "id",
    joined: bool = False,
) -> list[int]:
    conditions = [term_condition(fields, term, joined=joined) for term in terms]
    conditions += extra
    where, params = _all_of(conditions)
    return _fetch_ids(f"SELECT {key} FROM {table} WHERE {where} LIMIT %s", [*params, limit])  # noqa: S608


def _postgres_ids(
    table: str,
    text: str,
    terms: Sequence[str],
    limit: int,
    extra: Sequence[tuple[str, list[str]]] = (),
    *,
    key: str = "id",
) -> list[int]:
    """The rarer terms read the index; a term most rows contain (a "Company" in "Company
    124999") only filters their rows, since reading its long index entries costs more
    than the rest of the search."""
    indexed, filtered = split_terms(table, text, terms)
    where, params = _all_of(
        [*(term_condition([text], term, joined=True) for term in indexed), *extra]
    )
    if not filtered:
        sql = f"SELECT {key} FROM {table} WHERE {where} LIMIT %s"  # noqa: S608
        return _fetch_ids(sql, [*params, limit])
    rest, rest_params = _all_of([term_condition(["t"], term, joined=True) for term in filtered])
    # OFFSET 0 keeps the subquery whole, so the planner cannot fold the filter into the scan.
    sql = (
        f"SELECT {key} FROM (SELECT {key}, {text} AS t FROM {table} WHERE {where} OFFSET 0) AS s "  # noqa: S608
        f"WHERE {rest} LIMIT %s"
    )
    return _fetch_ids(sql, [*params, *rest_params, limit])


def split_terms(table: str, text: str, terms: Sequence[str]) -> tuple[list[str], list[str]]:
    """(terms the index reads, terms that only filter): a term the planner expects in more
    than COMMON_SHARE of the table's rows only filters, unless every term is that common
    (then the rarest reads the index). Either way the same rows match."""
    if len(terms) < 2:
        return list(terms), []
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
        total = max(cursor.fetchone()[0], 1)  # -1 for a table never analysed
        estimates = []
        for term in terms:
            condition, params = term_condition([text], term, joined=True)
            cursor.execute(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM {table} WHERE {condition}", params)  # noqa: S608
            estimates.append(_plan_rows(cursor.fetchone()[0]))
    common = [rows > COMMON_SHARE * total for rows in estimates]
    if all(common):
        rarest = estimates.index(min(estimates))
        return [terms[rarest]], [t for i, t in enumerate(terms) if i != rarest]
    return (
        [t for t, is_common in zip(terms, common, strict=True) if not is_common],
        [t for t, is_common in zip(terms, common, strict=True) if is_common],
    )


def _plan_rows(plan: Any) -> float:
    """The estimated rows of an EXPLAIN (FORMAT JSON) answer (parsed or text)."""
    if isinstance(plan, str):
        plan = json.loads(plan)
    return float(plan[0]["Plan"]["Plan Rows"])


def _all_of(conditions: Sequence[tuple[str, list[str]]]) -> tuple[str, list[str]]:
    return " AND ".join(c for c, _ in conditions), [p for _, ps in conditions for p in ps]


def _fetch_ids(sql: str, params: list[Any]) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]
