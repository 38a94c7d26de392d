"""The header's search: people by name, email (a merged lead's address, its alias, finds the
lead it was merged into), company or phone, and companies by name or domain. Leads merged
away are never results (the default manager leaves them out).

Every person found is listed, but in full only when the user may open the lead (the lead
page's rule, `Lead.objects.visible_to`); of anyone else's lead she learns only that the
person exists and who owns them, so she does not contact a colleague's lead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from leads.models import Account, Lead, LeadAlias

from . import sql

MIN_LENGTH = 2
MAX_TERMS = 6
SHOWN = 20  # people (and companies) listed
CANDIDATES = 200  # matches read to choose the SHOWN best from
PHONE_LIKE = re.compile(r"^[\d\s()+\-./]+$")
MIN_PHONE_DIGITS = 3


@dataclass(frozen=True)
class Person:
    """One lead found; `visible` says whether the user may see it in full (and open it)."""

    lead: Lead
    visible: bool
    matched: str  # what matched: "name", "email", "company", "phone" or "alias"


@dataclass
class Results:
    """What a search found: the people and companies to show, and whether there were more."""

    query: str
    too_short: bool = False
    people: list[Person] = field(default_factory=list)
    companies: list[Account] = field(default_factory=list)
    more_people: bool = False
    more_companies: bool = False

    @property
    def empty(self) -> bool:
        return not self.too_short and not self.people and not self.companies


def clean_query(text: str) -> str:
    """The typed text with runs of white space made one space, at most 200 characters."""
    return " ".join((text or "").split())[:200]


def terms_of(query: str) -> list[str]:
    """The lower-case words to find (all of them), or the digits for a phone number."""
    digits = re.sub(r"\D", "", query)
    if PHONE_LIKE.match(query) and len(digits) >= MIN_PHONE_DIGITS:
        return [digits]
    words = query.lower().replace("|", " ").split()
    return words[:MAX_TERMS]


def search(user: Any, text: str) -> Results:
    """Find people and companies for the header's box (see the module's docstring)."""
    query = clean_query(text)
    results = Results(query=query)
    if len(query) < MIN_LENGTH:
        results.too_short = bool(query)
        return results
    terms = terms_of(query)
    if not terms:  # only separators, such as "||"
        return results
    results.people, results.more_people = _people(user, query, terms)
    results.companies, results.more_companies = _companies(terms)
    return results


def _people(user: Any, query: str, terms: list[str]) -> tuple[list[Person], bool]:
    ids = sql.lead_ids_containing(terms, CANDIDATES + 1)
    more = len(ids) > CANDIDATES
    by_alias = set(_alias_lead_ids(terms)) - set(ids)
    wanted = [*ids[:CANDIDATES], *by_alias]
    leads = list(Lead.objects.filter(pk__in=wanted).select_related("owner", "account"))
    visible = set(
        Lead.objects.visible_to(user)
        .filter(pk__in=[lead.pk for lead in leads])
        .values_list("pk", flat=True)
    )
    people = [
        Person(lead, lead.pk in visible, "alias" if lead.pk in by_alias else _matched(lead, terms))
        for lead in leads
    ]
    people.sort(key=lambda p: _rank(p, query))
    return people[:SHOWN], more or len(people) > SHOWN


def _alias_lead_ids(terms: list[str]) -> list[int]:
    """Leads with a merged address (an alias) that contains every term."""
    rows = LeadAlias.objects.all()
    for term in terms:
        rows = rows.filter(email__contains=term)
    return list(rows.values_list("lead_id", flat=True)[:SHOWN])


def _companies(terms: list[str]) -> tuple[list[Account], bool]:
    ids = sql.account_ids_containing(terms, CANDIDATES + 1)
    companies = sorted(Account.objects.filter(pk__in=ids[:CANDIDATES]), key=_company_rank(terms))
    return companies[:SHOWN], len(ids) > SHOWN


def _matched(lead: Lead, terms: list[str]) -> str:
    """The field the first term was found in, in the order a person would look."""
    term = terms[0]
    fields = (
        ("name", lead.full_name.lower()),
        ("email", lead.email),
        ("company", lead.company.lower()),
        ("phone", re.sub(r"\D", "", lead.phone)),
    )
    return next((name for name, value in fields if term in value), "name")


def _rank(person: Person, query: str) -> tuple[Any, ...]:
    """Exact email or name first, then names that start with the query, then the rest;
    the user's own leads before others' at the same rank, then by name."""
    lead, q = person.lead, query.lower()
    name = lead.full_name.lower()
    if lead.email == q:
        rank = 0
    elif name == q:
        rank = 1
    elif name.startswith(q) or lead.email.startswith(q):
        rank = 2
    else:
        rank = 3
    return (rank, not person.visible, name, lead.email)


def _company_rank(terms: list[str]) -> Any:
    first = terms[0]

    def key(account: Account) -> tuple[Any, ...]:
        name = account.name.lower()
        exact = name == " ".join(terms) or (account.domain or "") == first
        return (not exact, not name.startswith(first), name)

    return key
