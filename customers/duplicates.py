"""Likely duplicate leads that the one-lead-per-email rule misses.

The same person under a personal and a work address, `j.smith@` and `john.smith@` at one
company, a one-letter typo in a name or an address, one phone number. Two leads are a
candidate pair only when their names agree (the same, a nickname, an initial or one letter
apart; a missing name agrees with anything) *and* something besides the name ties them (the
company domain, the phone, a personal address matching a work one, an address one letter
apart). Different first names at one company are colleagues, never duplicates.

Blocking, never all pairs: the full scan reads the leads three times, each time ordered by
one blocking key in SQL and streamed (`values_list(...).iterator()`), and compares only the
leads of one block: the company domain of the address, the name key (last name + first
initial) and the phone's digits. Memory stays that of one block plus the pairs found.
`candidates_for(lead)` answers for one lead through indexed lookups only.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import CharField, F, IntegerField, Max, Q, QuerySet, Value
from django.db.models.functions import Length, Lower, Replace, Right, StrIndex, Substr
from nameparser import HumanName
from nicknames import NickNamer
from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from agreements import roles
from leads.importing.columns import FREE_MAIL, company_domain
from leads.models import Lead

from .models import DuplicateDismissal, DuplicatePair

# Lead fields the matcher reads, in the order of `Person.from_row`.
FIELDS = ("id", "email", "first_name", "last_name", "company", "phone", "website")
# A phone shared by more leads than this is a switchboard or a placeholder, not a person:
# it blocks nothing (it still counts as evidence for a pair found through another key).
MAX_PHONE_BLOCK = 20
# In a bigger domain or name block, leads are compared within sub-blocks only (the last
# name's first letter), so one large company costs no quadratic time.
MAX_BLOCK = 200
# A pair is proposed from this score on.
THRESHOLD = 60
PHONE_DIGITS = 9  # the last digits compared: "+44 20 7946 0000" and "020 7946 0000" agree
MIN_PHONE_DIGITS = 7

_SEPARATORS = re.compile(r"[._\-+]+")
_NOT_LETTERS = re.compile(r"[^a-z0-9 ]+")
_DIGITS = re.compile(r"[0-9]+")
_NOT_DIGITS = re.compile(r"[^0-9]+")
_COMPANY_SUFFIX = re.compile(
    r"\b(inc|incorporated|llc|ltd|limited|gmbh|ag|sa|sas|sarl|bv|nv|plc|co|corp|"
    r"corporation|company|group|the)\b"
)
_NICKNAMES = NickNamer()


# --- One lead as the matcher sees it ---------------------------------------------------


def fold(text: str) -> str:
    """Lower-case ASCII letters, digits and spaces: "Zoë Dupré-Müller" → "zoe dupre muller"."""
    text = text.lower()
    if not text.isascii():
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_NOT_LETTERS.sub(" ", text).split())


@functools.lru_cache(maxsize=65536)
def split_name(first: str, last: str) -> tuple[str, str]:
    """(first, last), folded; nameparser splits a full name typed into one field and drops
    titles and suffixes ("Dr. John Smith Jr.")."""
    if " " in first.strip() or " " in last.strip() or "," in last or "." in first + last:
        parsed = HumanName(f"{first} {last}".strip() if "," not in last else last)
        if parsed.first or parsed.last:
            first, last = parsed.first, parsed.last or (last if not parsed.first else "")
    return fold(first).replace(" ", ""), fold(last).replace(" ", "")


def phone_key(phone: str) -> str:
    """The phone's last digits, or "" when it has too few to mean a person."""
    digits = _NOT_DIGITS.sub("", phone)
    return digits[-PHONE_DIGITS:] if len(digits) >= MIN_PHONE_DIGITS else ""


@functools.lru_cache(maxsize=65536)
def company_key(company: str) -> str:
    """A company name without legal form or punctuation: "ACME, Inc." → "acme"."""
    return " ".join(_COMPANY_SUFFIX.sub(" ", fold(company)).split())


@dataclass(frozen=True)
class Person:
    """A lead's matching fields, normalised when first needed (most rows are only blocked,
    never compared)."""

    id: int
    email: str
    first_name: str  # as typed
    last_name: str
    raw_company: str
    raw_phone: str
    website: str
    first: str  # folded
    last: str
    mail_domain: str

    @classmethod
    def from_row(cls, row: tuple) -> Person:
        pk, email, first_name, last_name, company, phone, website = row
        email = (email or "").lower()
        local, _, mail_domain = email.rpartition("@")
        first, last = split_name(first_name or "", last_name or "")
        if not first and not last:
            first, last = _name_from_address(local)
        return cls(
            pk, email, first_name or "", last_name or "", company or "", phone or "",
            website or "", first, last, mail_domain,
        )  # fmt: skip

    @functools.cached_property
    def local(self) -> str:
        """The address before the "@", separators removed."""
        return _SEPARATORS.sub("", self.email.rpartition("@")[0])

    @functools.cached_property
    def name(self) -> str:
        """The name as typed, for the reasons."""
        return f"{self.first_name} {self.last_name}".strip() or self.email

    @functools.cached_property
    def company(self) -> str:
        return company_key(self.raw_company)

    @functools.cached_property
    def phone(self) -> str:
        return phone_key(self.raw_phone)

    @functools.cached_property
    def domain(self) -> str:
        """The company domain, "" for a personal (free-mail) address."""
        return company_domain(self.email, self.website)

    @property
    def personal(self) -> bool:
        return self.mail_domain in FREE_MAIL


def _name_from_address(local: str) -> tuple[str, str]:
    """ "john.smith" → ("john", "smith"); nothing when the address holds no two-part name."""
    parts = [p for p in _SEPARATORS.split(local) if p.isalpha()]
    return (parts[0], parts[-1]) if len(parts) == 2 else ("", "")


# --- Comparing two ---------------------------------------------------------------------


def _one_letter_apart(a: str, b: str, shortest: int) -> bool:
    """One letter added, dropped, changed or two swapped, in words long enough to tell."""
    return min(len(a), len(b)) >= shortest and OSA.distance(a, b, score_cutoff=1) == 1


def first_names_agree(a: str, b: str) -> str | None:
    """How two first names agree: "same", "nickname", "initial", "typo", "unknown" (one is
    missing) — or None when they are different names."""
    if not a or not b:
        return "unknown"
    if a == b:
        return "same"
    if len(a) == 1 or len(b) == 1:
        return "initial" if a[0] == b[0] else None
    if b in _NICKNAMES.nicknames_of(a) or a in _NICKNAMES.nicknames_of(b):
        return "nickname"
    if _NICKNAMES.canonicals_of(a) & (_NICKNAMES.canonicals_of(b) | {b}):
        return "nickname"
    if _one_letter_apart(a, b, 4):
        return "typo"
    return None


def last_names_agree(a: str, b: str) -> str | None:
    """ "same", "typo", "unknown" (one is missing) or None when they differ."""
    if not a or not b:
        return "unknown"
    if a == b:
        return "same"
    return "typo" if _one_letter_apart(a, b, 4) else None


# How much each kind of agreement is worth: the first name's times the last name's.
FIRST_WEIGHT = {"same": 1.0, "nickname": 0.8, "typo": 0.8, "initial": 0.7, "unknown": 0.4}
LAST_WEIGHT = {"same": 1.0, "typo": 0.8, "unknown": 0.35}
NAME_POINTS = 55
MIN_NAME_POINTS = 15  # two leads without names are never proposed on their addresses alone


@dataclass(frozen=True, slots=True)
class Match:
    """Why two leads look like one person, and how sure we are (0–100)."""

    a: int
    b: int
    score: int
    reasons: tuple[str, ...]


def compare(a: Person, b: Person) -> Match | None:
    """The pair's score and reasons, or None when they are not likely one person."""
    if b.id < a.id:
        a, b = b, a  # the same words whichever way the pair was found
    first, last = first_names_agree(a.first, b.first), last_names_agree(a.last, b.last)
    if first is None or last is None:
        return None
    points = round(NAME_POINTS * FIRST_WEIGHT[first] * LAST_WEIGHT[last])
    if points < MIN_NAME_POINTS:
        return None
    reasons = [_name_reason(a, b, first, last)]
    tie = 0
    if a.domain and a.domain == b.domain:
        tie += 30
        reasons[0] += f" at {a.domain}"
    if a.phone and a.phone == b.phone:
        tie += 30
        reasons.append("same phone")
    # Two companies named, and different: only the phone or the address itself ties them.
    conflict = a.company and b.company and not _same_company(a, b)
    if _address_typo(a, b, conflict):
        tie += 35
        reasons.append("email differs by one letter")
    if not conflict:
        tie += _personal_and_work(a, b, reasons, tied=tie > 0)
    if tie == 0:
        return None
    # rapidfuzz grades how close the full names are, within the rule's points.
    closeness = fuzz.ratio(f"{a.first} {a.last}", f"{b.first} {b.last}") / 100
    score = min(100, round(points * (0.8 + 0.2 * closeness)) + tie)
    if score < THRESHOLD:
        return None
    return Match(a.id, b.id, score, tuple(reasons))


def _address_typo(a: Person, b: Person, conflict: bool) -> bool:
    """One letter apart in the address name at one domain, or in the domain (unless the
    companies differ); digits apart are two accounts (jane1@ and jane2@), not a typo."""
    a_local, b_local = a.email.rpartition("@")[0], b.email.rpartition("@")[0]
    if a.mail_domain == b.mail_domain:
        one, other = a_local, b_local
    elif a_local == b_local and not conflict:
        one, other = a.mail_domain, b.mail_domain
    else:
        return False
    if _DIGITS.sub("", one) == _DIGITS.sub("", other):
        return False
    return _one_letter_apart(one, other, 3)


def _same_company(a: Person, b: Person) -> bool:
    return fuzz.token_set_ratio(a.company, b.company) >= 90


def _personal_and_work(a: Person, b: Person, reasons: list[str], tied: bool) -> int:
    """Points for a personal and a work address that the company or address name tie."""
    same_company = bool(a.company) and _same_company(a, b)
    points = 0
    if a.local == b.local and len(a.local) >= 5 and a.mail_domain != b.mail_domain:
        points += 20
        reasons.append(f"same address name at {a.mail_domain} and {b.mail_domain}")
    if a.personal != b.personal and (same_company or points or tied):
        personal, work = (a, b) if a.personal else (b, a)
        points += 20
        reasons.append(
            f"personal ({personal.mail_domain}) and work ({work.domain or work.mail_domain})"
            " address" + (f", both at {work.company.title()}" if same_company else "")
        )
    elif same_company and a.domain != b.domain and points:
        points += 10
        reasons.append(f"same company ({a.company.title()})")
    return points


def _name_reason(a: Person, b: Person, first: str, last: str) -> str:
    if first == "same" and last == "same":
        return f"same name ({a.name})"
    if first == "nickname":
        return f"{a.name} ≈ {b.name} (nickname)"
    if "typo" in (first, last):
        return f"{a.name} ≈ {b.name} (name differs by one letter)"
    return f"{a.name} ≈ {b.name}"


# --- Groups ----------------------------------------------------------------------------


@dataclass
class Group:
    """Leads that are likely one person: every pair found between them, best first."""

    lead_ids: list[int]
    matches: list[Match] = field(default_factory=list)

    @property
    def score(self) -> int:
        return max(m.score for m in self.matches)

    @property
    def reasons(self) -> list[str]:
        seen: dict[str, None] = {}
        for m in self.matches:
            seen.update(dict.fromkeys(m.reasons))
        return list(seen)


def group(matches: Iterable[Match]) -> list[Group]:
    """Pairs joined into groups, the surest first.

    Leads connected through pairs form one group when each of them matches every other;
    otherwise ("J. Smith" matches both John and Jane Smith, who are two people) each pair
    is a group of its own, so no group proposes to merge two different people.
    """
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    matches = list(matches)
    for m in matches:
        parent[root(m.a)] = root(m.b)
    components: dict[int, list[Match]] = {}
    for m in matches:
        components.setdefault(root(m.a), []).append(m)
    groups = []
    for members in components.values():
        lead_ids = sorted({i for m in members for i in (m.a, m.b)})
        complete = len(members) == len(lead_ids) * (len(lead_ids) - 1) // 2
        for part in [members] if complete else [[m] for m in members]:
            part.sort(key=lambda m: (-m.score, m.a, m.b))
            groups.append(Group(sorted({i for m in part for i in (m.a, m.b)}), part))
    return sorted(groups, key=lambda g: (-g.score, g.lead_ids))


# --- The full scan ---------------------------------------------------------------------


@dataclass
class ScanStats:
    """What one scan read and compared, for the command and the benchmark."""

    rows: int = 0
    blocks: int = 0
    comparisons: int = 0
    skipped_blocks: int = 0  # phone numbers shared too widely to mean one person


def scan(
    leads: QuerySet[Lead] | None = None,
    dismissed: set[tuple[int, int]] | None = None,
    stats: ScanStats | None = None,
) -> list[Match]:
    """Every likely duplicate pair among `leads` (default: every current lead), each once."""
    leads = Lead.objects.all() if leads is None else leads
    dismissed = dismissed or set()
    stats = stats if stats is not None else ScanStats()
    found: dict[tuple[int, int], Match] = {}
    passes = (
        (_by_domain(leads), _domain_key),
        (_by_name(leads), _name_key),
        (_by_phone(leads), _phone_key),
    )
    for rows, key in passes:
        for block in _blocks(rows, key, stats):
            if key is _phone_key and len(block) > MAX_PHONE_BLOCK:
                stats.skipped_blocks += 1
                continue
            for a, b in _pairs(block, cross_only=key is _name_key):
                pair = (a.id, b.id) if a.id < b.id else (b.id, a.id)
                if pair in found or pair in dismissed:
                    continue
                stats.comparisons += 1
                match = compare(a, b)
                if match is not None:
                    found[pair] = match
    return sorted(found.values(), key=lambda m: (-m.score, m.a, m.b))


# Blocking keys, read off the raw row (FIELDS) so that a lead alone in its block never
# becomes a Person: most leads in the name and phone passes are.


def _domain_key(row: tuple) -> str:
    return (row[1] or "").rpartition("@")[2]


def _name_key(row: tuple) -> str:
    """Last name and first initial."""
    first, last = split_name(row[2] or "", row[3] or "")
    return f"{last}:{first[:1]}" if last else ""


def _phone_key(row: tuple) -> str:
    return phone_key(row[5] or "")


def _rows(queryset: QuerySet[Lead], *order: object) -> Iterator[tuple]:
    return queryset.order_by(*order).values_list(*FIELDS).iterator(chunk_size=5000)


def _by_domain(leads: QuerySet[Lead]) -> Iterator[tuple]:
    """Work addresses, ordered by their domain (computed in SQL, as the index has none)."""
    domain = Substr("email", StrIndex("email", Value("@")) + 1, output_field=CharField())
    return _rows(
        leads.annotate(mail_domain=domain).exclude(mail_domain__in=FREE_MAIL), "mail_domain"
    )


def _by_name(leads: QuerySet[Lead]) -> Iterator[tuple]:
    return _rows(leads.exclude(last_name=""), Lower("last_name"), Lower("first_name"))


def _by_phone(leads: QuerySet[Lead]) -> Iterator[tuple]:
    """Leads with a phone, ordered by its last digits (separators stripped in SQL)."""
    digits: object = F("phone")
    for separator in (" ", "-", "(", ")", ".", "+", "/"):
        digits = Replace(digits, Value(separator), Value(""))
    return _rows(
        leads.annotate(phone_digits=Right(digits, PHONE_DIGITS, output_field=CharField()))
        .annotate(phone_length=Length("phone_digits", output_field=IntegerField()))
        .filter(phone_length__gte=MIN_PHONE_DIGITS),
        "phone_digits",
    )


def _blocks(
    rows: Iterator[tuple], key: Callable[[tuple], str], stats: ScanStats
) -> Iterator[list[Person]]:
    """Consecutive rows with the same blocking key, as Persons; blocks of one are dropped."""
    for value, members in itertools.groupby(rows, key=key):
        block = list(members)
        stats.rows += len(block)
        if value and len(block) > 1:
            stats.blocks += 1
            yield [Person.from_row(row) for row in block]


def _pairs(block: list[Person], cross_only: bool) -> Iterator[tuple[Person, Person]]:
    """The pairs of one block worth comparing.

    In a name block (`cross_only`), only pairs across domains, where a personal address is
    involved or the company name is the same: same-domain pairs come from the domain block,
    and two work addresses at different companies under one common name are two people.
    A big block is compared within sub-blocks by the last name's initial.
    """
    if cross_only:
        personal = [p for p in block if p.personal]
        work = [p for p in block if not p.personal]
        yield from itertools.product(personal, work)
        yield from itertools.combinations(personal, 2)
        by_company: dict[str, list[Person]] = {}
        for p in work:
            if p.company:
                by_company.setdefault(p.company, []).append(p)
        for same in by_company.values():
            yield from ((a, b) for a, b in itertools.combinations(same, 2) if a.domain != b.domain)
        return
    if len(block) <= MAX_BLOCK:
        yield from itertools.combinations(block, 2)
        return
    by_initial: dict[str, list[Person]] = {}
    for p in block:
        by_initial.setdefault(p.last[:1], []).append(p)
    for initial, members in by_initial.items():
        if initial:
            yield from itertools.combinations(members + by_initial.get("", []), 2)


# --- One lead --------------------------------------------------------------------------


def candidates_for(lead: Lead, dismissed: set[tuple[int, int]] | None = None) -> list[Match]:
    """Likely duplicates of one lead, through indexed lookups only (the lead page's hint).

    The leads of its account (its company domain; in a big one, those whose last name
    starts alike) and the addresses the same person is likely to have: for a work address
    the same address name at each personal mail domain, for a personal one the usual
    name patterns at the same mail domain. What needs a scan (one phone, typos across
    companies) comes from the stored pairs (`hint_for`).
    """
    me = Person.from_row(tuple(getattr(lead, f) for f in FIELDS))
    dismissed = dismissed or set()
    others = Lead.objects.exclude(pk=lead.pk)
    queries = []
    if lead.account_id is not None:
        colleagues = others.filter(account_id=lead.account_id)
        if lead.last_name:
            initial = lead.last_name[:1]
            colleagues = colleagues.filter(Q(last_name__istartswith=initial) | Q(last_name=""))
        queries.append(colleagues[:MAX_BLOCK])
    locals_ = _address_names(me, lead.email.rpartition("@")[0])
    if me.personal:
        queries.append(others.filter(email__in=[f"{n}@{me.mail_domain}" for n in locals_]))
    else:
        queries.append(others.filter(email__in=[f"{n}@{d}" for n in locals_ for d in FREE_MAIL]))
    matches = []
    seen: set[int] = set()
    for query in queries:
        for row in query.values_list(*FIELDS):
            other = Person.from_row(row)
            pair = tuple(sorted((me.id, other.id)))
            if other.id in seen or pair in dismissed:
                continue
            seen.add(other.id)
            match = compare(me, other)
            if match is not None:
                matches.append(match)
    return sorted(matches, key=lambda m: -m.score)


def _address_names(me: Person, local: str) -> list[str]:
    """Address names the same person is likely to use: as typed, first.last, firstlast…"""
    names = {local}
    if me.first and me.last:
        f, last = me.first, me.last
        names |= {f"{f}.{last}", f"{f}{last}", f"{f}_{last}", f"{f[0]}{last}", f"{f[0]}.{last}"}
    return sorted(names)


# --- Stored results --------------------------------------------------------------------


def dismissed_pairs(lead: Lead | None = None) -> set[tuple[int, int]]:
    """The pairs someone said are not duplicates (of one lead, or all), as (low, high) ids."""
    dismissals = DuplicateDismissal.objects.all()
    if lead is not None:
        dismissals = dismissals.filter(Q(lead_a=lead) | Q(lead_b=lead))
    return set(dismissals.values_list("lead_a_id", "lead_b_id"))


def refresh(stats: ScanStats | None = None) -> int:
    """Scan every current lead and store the pairs found in place of the last scan's.

    Idempotent: the same leads give the same rows, so a repeated run is harmless, and
    a concurrent one cannot fail on the other's rows (conflicts are skipped).
    """
    return store(scan(dismissed=dismissed_pairs(), stats=stats))


def store(matches: list[Match]) -> int:
    """Replace the stored pairs with these (a scan's), in one transaction."""
    group_of = {(m.a, m.b): n for n, g in enumerate(group(matches), 1) for m in g.matches}
    rows = [
        DuplicatePair(
            lead_a_id=m.a, lead_b_id=m.b, score=m.score, reasons=list(m.reasons),
            group=group_of[m.a, m.b],
        )
        for m in matches
    ]  # fmt: skip
    with transaction.atomic():
        DuplicatePair.objects.all().delete()
        DuplicatePair.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    return len(rows)


def dismiss(lead_ids: Iterable[int], by: AbstractBaseUser) -> int:
    """Record that these leads are not duplicates of each other; their pairs stop showing."""
    ids = sorted(set(lead_ids))
    pairs = list(itertools.combinations(ids, 2))
    with transaction.atomic():
        DuplicateDismissal.objects.bulk_create(
            [DuplicateDismissal(lead_a_id=a, lead_b_id=b, dismissed_by=by) for a, b in pairs],
            ignore_conflicts=True,
        )
        DuplicatePair.objects.filter(lead_a__in=ids, lead_b__in=ids).delete()
    return len(pairs)


def can_review(user: AbstractBaseUser) -> bool:
    """Ops and marketing review duplicates; sales managers read the page for their leads."""
    return roles.has_role(user, roles.OPS, roles.MARKETING, roles.SALES_MANAGER)


def can_dismiss(user: AbstractBaseUser) -> bool:
    return roles.has_role(user, roles.OPS, roles.MARKETING)


def stored_pairs(user: AbstractBaseUser) -> QuerySet[DuplicatePair]:
    """Stored pairs of two current leads the user may both see."""
    pairs = DuplicatePair.objects.filter(
        lead_a__merged_into__isnull=True, lead_b__merged_into__isnull=True
    )
    if not roles.has_role(user, roles.OPS, roles.MARKETING):
        visible = Lead.objects.visible_to(user).values("pk")
        pairs = pairs.filter(lead_a__in=visible, lead_b__in=visible)
    return pairs


def group_rows(user: AbstractBaseUser) -> QuerySet:
    """One row per stored group ({"group", "best"}), the surest first: what the page pages."""
    return (
        stored_pairs(user)
        .order_by()
        .values("group")
        .annotate(best=Max("score"))
        .order_by("-best", "group")
    )


@dataclass
class ShownGroup:
    """A group as the page shows it: its leads (with owner and account) and its pairs."""

    score: int
    leads: list[Lead]
    reasons: list[str]

    @property
    def ids(self) -> str:
        return ",".join(str(lead.pk) for lead in self.leads)


def shown_groups(user: AbstractBaseUser, page_rows: Iterable[dict]) -> list[ShownGroup]:
    """The page's groups with their leads, in two queries whatever their number."""
    keys = [row["group"] for row in page_rows]
    pairs = list(stored_pairs(user).filter(group__in=keys))
    ids = {i for p in pairs for i in (p.lead_a_id, p.lead_b_id)}
    leads = Lead.objects.filter(pk__in=ids).select_related("owner", "account").in_bulk()
    by_group: dict[int, list[DuplicatePair]] = {}
    for pair in pairs:
        by_group.setdefault(pair.group, []).append(pair)
    shown = []
    for key in keys:
        members = by_group.get(key, [])
        lead_ids = sorted({i for p in members for i in (p.lead_a_id, p.lead_b_id)} & set(leads))
        if len(lead_ids) < 2:
            continue
        reasons = list(dict.fromkeys(r for p in members for r in p.reasons))
        score = max(p.score for p in members)
        shown.append(ShownGroup(score, [leads[i] for i in lead_ids], reasons))
    return shown


def hint_for(lead: Lead, user: AbstractBaseUser) -> list[tuple[Lead, Match]]:
    """The lead page's hint: its likely duplicates the user may see, live and stored."""
    dismissed = dismissed_pairs(lead)
    matches = {m.a if m.b == lead.pk else m.b: m for m in candidates_for(lead, dismissed)}
    stored = DuplicatePair.objects.filter(Q(lead_a=lead) | Q(lead_b=lead))
    for pair in stored:
        other = pair.lead_b_id if pair.lead_a_id == lead.pk else pair.lead_a_id
        if other not in matches and (pair.lead_a_id, pair.lead_b_id) not in dismissed:
            matches[other] = Match(pair.lead_a_id, pair.lead_b_id, pair.score, tuple(pair.reasons))
    others = Lead.objects.visible_to(user).filter(pk__in=matches).select_related("owner")
    found = [(other, matches[other.pk]) for other in others]
    return sorted(found, key=lambda item: (-item[1].score, item[0].pk))
