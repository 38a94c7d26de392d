"""Who gets a new lead: persona tagging, routing rules, then a fair, locking round robin.

The pure part (which persona, which rule) takes plain objects and touches no
database. The round robin runs inside the caller's transaction: it locks the
team's RoutingCursor row, so two imports routing to one team at the same time
take turns and see each other's assignments.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count
from django.utils import timezone

from agreements.models import Persona
from agreements.stages import OPEN_STAGES

from .models import Assignment, Lead, RepProfile, RoutingCursor, RoutingRule, Team

# "Recently", for fairness between reps: assignments by the same rule in this window.
FAIRNESS_WINDOW = dt.timedelta(days=30)
DESK = "Lead desk"


def _words(text: str) -> list[str]:
    return [w.strip().lower() for w in (text or "").split(",") if w.strip()]


@dataclass
class PersonaMatcher:
    """Tags a lead with the first persona (by priority) whose fit rules all hold."""

    personas: Sequence[Any]
    _compiled: list[tuple[Any, re.Pattern[str] | None, set[str], set[str]]] = field(
        default_factory=list
    )

    def __post_init__(self) -> None:
        for persona in self.personas:
            keywords = _words(persona.title_keywords)
            pattern = (
                re.compile(r"\b(" + "|".join(re.escape(k) for k in keywords) + r")\b", re.I)
                if keywords
                else None
            )
            industries = set(_words(persona.industries))
            countries = {c.upper() for c in _words(persona.countries)}
            if pattern or industries or countries:
                self._compiled.append((persona, pattern, industries, countries))

    @classmethod
    def active(cls) -> PersonaMatcher:
        """A matcher over the active personas, highest priority first."""
        return cls(list(Persona.objects.filter(is_active=True).order_by("priority", "name")))

    def match(self, title: str, industry: str, country: str) -> Any | None:
        """The persona for these facts, or None."""
        industry = (industry or "").strip().lower()
        country = (country or "").strip().upper()
        for persona, pattern, industries, countries in self._compiled:
            if pattern is not None and not pattern.search(title or ""):
                continue
            if industries and industry not in industries:
                continue
            if countries and country not in countries:
                continue
            return persona
        return None


def active_rules() -> list[RoutingRule]:
    """The routing rules in the order they are tried."""
    return list(
        RoutingRule.objects.filter(is_active=True).select_related("team").order_by("priority", "id")
    )


def match_rule(lead: Lead, rules: Iterable[RoutingRule]) -> RoutingRule | None:
    """The first active rule whose conditions hold for the lead."""
    for rule in rules:
        if rule.matches(lead):
            return rule
    return None


def _rotation_key(team_id: int, user_id: int) -> str:
    """A stable order that looks random: neither seniority nor id decides who comes first."""
    return hashlib.sha256(f"accord-rotation:{team_id}:{user_id}".encode()).hexdigest()


@dataclass
class _Rep:
    user_id: int
    cap: int
    load: int
    recent: int
    order: str


def _eligible_reps(team: Team, rule_label: str, now: dt.datetime) -> list[_Rep]:
    """Active, not-away reps of the team with their open load and recent share of this rule."""
    profiles = list(
        RepProfile.objects.filter(team=team, is_away=False, user__is_active=True).values_list(
            "user_id", "open_lead_cap"
        )
    )
    if not profiles:
        return []
    ids = [user_id for user_id, _ in profiles]
    loads = dict(
        Lead.objects.filter(owner_id__in=ids, stage__in=OPEN_STAGES)
        .values_list("owner_id")
        .annotate(n=Count("id"))
        .values_list("owner_id", "n")
    )
    recent = dict(
        Assignment.objects.filter(
            to_owner_id__in=ids, rule=rule_label, by__isnull=True, at__gte=now - FAIRNESS_WINDOW
        )
        .values_list("to_owner_id")
        .annotate(n=Count("id"))
        .values_list("to_owner_id", "n")
    )
    return [
        _Rep(
            user_id=user_id,
            cap=cap,
            load=loads.get(user_id, 0),
            recent=recent.get(user_id, 0),
            order=_rotation_key(team.pk, user_id),
        )
        for user_id, cap in profiles
    ]


@dataclass
class Route:
    """Where routing sent one new lead and why: one Assignment row, before it is saved."""

    lead: Any
    to_owner_id: int | None
    rule: str
    reason: str
    open_load: int | None = None

    def assignment(self, at: dt.datetime) -> Assignment:
        """The Assignment to save (after the lead: it points at the lead object)."""
        return Assignment(
            lead=self.lead,
            to_owner_id=self.to_owner_id,
            at=at,
            rule=self.rule,
            open_load=self.open_load,
            reason=self.reason,
        )


def route_new_leads(leads: Sequence[Lead], *, at: dt.datetime | None = None) -> list[Assignment]:
    """Give each new lead an owner by the routing rules; return the Assignments to save.

    Must run inside a transaction (it locks each team's cursor row until the
    caller commits). Sets owner and assigned_at on the leads in memory; the
    returned Assignments point at the lead objects, so save the leads first.
    Leads no rule matches stay on the lead desk without an Assignment row;
    a rule whose team has nobody available records why the lead went to the desk.
    """
    now = at or timezone.now()
    return [route.assignment(now) for route in route_leads(leads, at=now)]


NO_RULE_REASON = "No routing rule matches this lead: it waits on the lead desk."


def route_leads(
    leads: Sequence[Any], *, at: dt.datetime | None = None, desk_when_unmatched: bool = False
) -> list[Route]:
    """route_new_leads for any objects with a lead's routing facts, before they have ids.

    The objects need persona_id, channel_id and country (what rules match on) and
    get owner_id and assigned_at set; the import writes its rows without model
    instances and saves the Routes as plain Assignment rows once the ids are known.
    `desk_when_unmatched`: leads that enter with a running clock get an owner decision
    even when no rule matches (the lead desk, with that reason).
    """
    now = at or timezone.now()
    if not leads:
        return []
    rules = active_rules()
    by_rule: dict[int, list[Any]] = {}
    rule_by_id = {rule.pk: rule for rule in rules}
    routes: list[Route] = []
    for lead in leads:
        rule = match_rule(lead, rules)
        if rule is not None:
            by_rule.setdefault(rule.pk, []).append(lead)
        elif desk_when_unmatched:
            routes.append(Route(lead=lead, to_owner_id=None, rule="", reason=NO_RULE_REASON))
    for rule_id in sorted(by_rule, key=lambda pk: (rule_by_id[pk].team_id, pk)):
        routes += _round_robin(rule_by_id[rule_id], by_rule[rule_id], now)
    return routes


def _round_robin(rule: RoutingRule, leads: list[Any], now: dt.datetime) -> list[Route]:
    team = rule.team
    RoutingCursor.objects.get_or_create(team=team)
    cursor = RoutingCursor.objects.select_for_update().get(team=team)
    reps = _eligible_reps(team, rule.name, now)
    reps.sort(key=lambda r: r.order)
    # Rotation starts after whoever got the team's last lead.
    start = 0
    for index, rep in enumerate(reps):
        if rep.user_id == cursor.last_owner_id:
            start = index + 1
    rotation = {rep.user_id: (index - start) % len(reps) for index, rep in enumerate(reps)}
    routes = []
    for lead in leads:
        available = [r for r in reps if r.load < r.cap]
        if not available:
            routes.append(
                Route(
                    lead=lead,
                    to_owner_id=None,
                    rule=rule.name,
                    reason=f"Rule “{rule.name}” sends it to team {team.name}, but every rep "
                    "there is away, inactive or at their open-lead cap: lead desk.",
                )
            )
            continue
        rep = min(available, key=lambda r: (r.recent, rotation[r.user_id]))
        lead.owner_id = rep.user_id
        lead.assigned_at = now
        routes.append(
            Route(
                lead=lead,
                to_owner_id=rep.user_id,
                rule=rule.name,
                open_load=rep.load,
                reason=f"Rule “{rule.name}” → team {team.name}; round robin among "
                f"{len(available)} available reps: fewest leads from this rule in the last "
                f"{FAIRNESS_WINDOW.days} days ({rep.recent}); open load {rep.load} of "
                f"{rep.cap}.",
            )
        )
        rep.load += 1
        rep.recent += 1
        # After a pick the rotation moves past that rep, so ties keep rotating.
        rotation = {
            r.user_id: (rotation[r.user_id] - rotation[rep.user_id] - 1) % len(reps) for r in reps
        }
        cursor.last_owner_id = rep.user_id
    cursor.updated_at = now
    cursor.save(update_fields=["last_owner", "updated_at"])
    return routes


def next_rep(
    team: Team, *, exclude_user_id: int | None, at: dt.datetime | None = None
) -> int | None:
    """The team's next available rep in the rotation, never `exclude_user_id` (SLA escalation).

    Uses the same eligibility (active, not away, under their cap), the same stable
    rotation order and the same locked team cursor as routing, inside the caller's
    transaction. None when nobody else in the team can take the lead.
    """
    now = at or timezone.now()
    RoutingCursor.objects.get_or_create(team=team)
    cursor = RoutingCursor.objects.select_for_update().get(team=team)
    reps = sorted(_eligible_reps(team, "SLA escalation", now), key=lambda r: r.order)
    start = next((i + 1 for i, r in enumerate(reps) if r.user_id == cursor.last_owner_id), 0)
    for rep in reps[start:] + reps[:start]:
        if rep.user_id != exclude_user_id and rep.load < rep.cap:
            cursor.last_owner_id = rep.user_id
            cursor.updated_at = now
            cursor.save(update_fields=["last_owner", "updated_at"])
            return rep.user_id
    return None
