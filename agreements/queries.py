"""Read side of the agreements: the playbook's content and the differences between versions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Prefetch
from django.utils import timezone

from agreements.stages import Stage

from . import diagrams
from .models import (
    Agreement,
    Channel,
    Holiday,
    MarketingCommitment,
    ResponseRule,
    StageDefinition,
    Term,
    TouchGoal,
)


def agreements_with_parts() -> Any:
    """Agreements with everything the playbook and the comparison read, in a fixed query count."""
    return Agreement.objects.select_related(
        "calendar", "marketing_signed_by", "sales_signed_by", "activated_by"
    ).prefetch_related(
        Prefetch(
            "rules",
            queryset=ResponseRule.objects.select_related("channel", "escalate_to").order_by(
                "stage", "channel__name"
            ),
        ),
        Prefetch("touch_goals", queryset=TouchGoal.objects.select_related("channel")),
        Prefetch("commitments", queryset=MarketingCommitment.objects.order_by("period")),
    )


def agreement_for_version(version: int | None) -> Agreement | None:
    """The given version, or the active one (or, before any is active, the newest draft)."""
    agreements = agreements_with_parts()
    if version is not None:
        return agreements.filter(version=version).first()
    return (
        agreements.filter(status=Agreement.Status.ACTIVE).first()
        or agreements.order_by("-version").first()
    )


def ordered_definitions() -> list[StageDefinition]:
    """The ten stage definitions in funnel order: levels 1–7, then the outcomes."""
    order = list(Stage.values)
    definitions = list(StageDefinition.objects.all())
    return sorted(definitions, key=lambda d: order.index(d.stage) if d.stage in order else 99)


def _rule_line(rule: ResponseRule) -> str:
    return f"first touch within {rule.within_text}"


def _short_stage(stage: str) -> str:
    return {Stage.MQL: "MQL", Stage.IQL: "IQL", Stage.SQL: "SQL"}.get(stage, Stage(stage).label)


def channel_rows(agreement: Agreement | None, channels: list[Channel]) -> list[dict[str, Any]]:
    """One row per active channel: where its leads enter and the follow-up time that applies."""
    stage_names = dict(Stage.choices)
    covered = sorted(
        {rule.stage for rule in agreement.rules.all()} if agreement else set(),
        key=list(Stage.values).index,
    )
    rows = []
    for channel in channels:
        followups = []
        for stage in covered:
            rule = agreement.rule_for(stage, channel.pk)
            if rule is not None:
                followups.append(
                    {
                        "stage": stage_names[stage],
                        "short": _short_stage(stage),
                        "stage_value": stage,
                        "rule": rule,
                    }
                )
        own = next((f["rule"] for f in followups if f["rule"].channel_id), None)
        edge = ""
        if own is not None:
            edge = f"first touch ≤ {own.within_text}"
            if own.stage != channel.entry_stage:
                edge += f" once {_short_stage(own.stage)}"
        rows.append(
            {
                "slug": channel.slug,
                "name": channel.name,
                "description": channel.description,
                "entry_stage": channel.entry_stage,
                "entry_stage_name": stage_names.get(channel.entry_stage, channel.entry_stage),
                "cold": channel.allows_cold_prospecting,
                "followups": followups,
                "edge": edge,
            }
        )
    return rows


def playbook(version: int | None = None) -> dict[str, Any]:
    """Everything the playbook page shows, for the active version or the one asked for."""
    agreement = agreement_for_version(version)
    definitions = ordered_definitions()
    channels = list(Channel.objects.filter(is_active=True).order_by("name"))
    rows = channel_rows(agreement, channels)
    clock_text: dict[str, str] = {}
    if agreement is not None:
        for rule in agreement.rules.all():
            if rule.channel_id is None:
                clock_text[rule.stage] = f"first touch ≤ {rule.within_text}"
    default_mql = clock_text.get(Stage.MQL, "")
    if default_mql:
        default_mql += " (any other channel)"
    holidays: list[Holiday] = []
    if agreement is not None and agreement.calendar_id:
        today = timezone.localdate()
        holidays = list(
            Holiday.objects.filter(
                calendar_id=agreement.calendar_id,
                date__gte=today,
                date__lte=today + dt.timedelta(days=365),
            )
        )
    order = list(Stage.values)
    response_rules = sorted(
        agreement.rules.all() if agreement else [],
        key=lambda r: (
            order.index(r.stage),
            r.channel_id is None,
            r.channel.name if r.channel else "",
        ),
    )
    return {
        "agreement": agreement,
        "response_rules": response_rules,
        "versions": list(
            Agreement.objects.only("version", "status", "effective_from").order_by("-version")
        ),
        "definitions": definitions,
        "terms": list(Term.objects.all()),
        "channel_rows": rows,
        "holidays": holidays,
        "clock_text": clock_text,
        "channel_diagram": diagrams.channel_diagram(rows, default_mql),
    }


# --- What changed between two versions ------------------------------------------------


@dataclass(frozen=True)
class Difference:
    """One change between two agreement versions, said in plain words."""

    section: str
    text: str


def _money(value: Decimal | None) -> str:
    return f"{value:,.0f}" if value is not None else "—"


def _rule_scope(rule: ResponseRule) -> str:
    stage = rule.get_stage_display()
    scope = f"from {rule.channel.name}" if rule.channel_id else "from any channel"
    return f"{stage}s {scope}"


def _rule_terms(rule: ResponseRule) -> dict[str, str]:
    return {
        "follow-up time": rule.within_text,
        "warning": f"at {rule.warn_at_percent} % of the time",
        "escalation": f"after {rule.escalate_text}" if rule.escalate_after_amount else "none",
        "escalation action": rule.get_escalate_action_display(),
        "also notified": str(rule.escalate_to) if rule.escalate_to_id else "nobody",
    }


def _calendar_terms(agreement: Agreement) -> dict[str, str]:
    calendar = agreement.calendar
    if calendar is None:
        return {"calendar": "none (Monday–Friday 09:00–17:00 UTC)"}
    return {
        "calendar": calendar.name,
        "time zone": calendar.time_zone,
        "working hours": f"{calendar.workday_start:%H:%M}–{calendar.workday_end:%H:%M}",
        "working days": calendar.working_days_display(),
    }


def _compare_terms(section: str, what: str, old: dict, new: dict) -> list[Difference]:
    return [
        Difference(section, f"{what}: {key} is {new[key]} (was {old[key]}).")
        for key in new
        if key in old and old[key] != new[key]
    ]


def compare_agreements(old: Agreement, new: Agreement) -> list[Difference]:
    """Every difference from `old` to `new`, section by section, in plain sentences."""
    changes: list[Difference] = []
    general = "General"
    if old.title != new.title:
        changes.append(Difference(general, f"The title is now “{new.title}” (was “{old.title}”)."))
    if old.notes.strip() != new.notes.strip():
        changes.append(Difference(general, "The introduction was reworded."))
    if old.lead_scoring_enabled != new.lead_scoring_enabled:
        changes.append(
            Difference(
                "Qualification",
                "Lead scoring is now on: a high enough score also makes an MQL."
                if new.lead_scoring_enabled
                else "Lead scoring is now off: only a hand-raise makes an MQL.",
            )
        )
    thresholds = ("untouched_days_1", "untouched_days_2", "untouched_days_3")
    before = [getattr(old, name) for name in thresholds]
    after = [getattr(new, name) for name in thresholds]
    if before != after:
        changes.append(
            Difference(
                "Untouched leads",
                "Leads count as untouched after {} days (was {} days).".format(
                    "/".join(map(str, after)), "/".join(map(str, before))
                ),
            )
        )
    changes += _compare_terms(
        "Business calendar", "Business time", _calendar_terms(old), _calendar_terms(new)
    )

    section = "Response rules"
    old_rules = {(r.stage, r.channel_id): r for r in old.rules.all()}
    new_rules = {(r.stage, r.channel_id): r for r in new.rules.all()}
    for key, rule in new_rules.items():
        if key not in old_rules:
            changes.append(
                Difference(section, f"New rule: {_rule_scope(rule)} get a {_rule_line(rule)}.")
            )
        else:
            changes += _compare_terms(
                section,
                _rule_scope(rule).capitalize(),
                _rule_terms(old_rules[key]),
                _rule_terms(rule),
            )
    for key, rule in old_rules.items():
        if key not in new_rules:
            changes.append(
                Difference(
                    section,
                    f"Removed rule: {_rule_scope(rule)} no longer have their own follow-up "
                    f"time (was {rule.within_text}).",
                )
            )

    section = "Touch goals"
    old_goals = {g.channel_id: g for g in old.touch_goals.all()}
    new_goals = {g.channel_id: g for g in new.touch_goals.all()}
    for key, goal in new_goals.items():
        scope = f"Leads from {goal.channel.name}" if goal.channel_id else "Every lead"
        text = f"{goal.touches} touches within {goal.within_days} days of becoming Working"
        if key not in old_goals:
            changes.append(Difference(section, f"New goal: {scope.lower()} gets {text}."))
        else:
            was = old_goals[key]
            if (was.touches, was.within_days) != (goal.touches, goal.within_days):
                changes.append(
                    Difference(
                        section,
                        f"{scope} now gets {text} (was {was.touches} touches within "
                        f"{was.within_days} days).",
                    )
                )
    for key, goal in old_goals.items():
        if key not in new_goals:
            scope = f"leads from {goal.channel.name}" if goal.channel_id else "every lead"
            changes.append(Difference(section, f"Removed the touch goal for {scope}."))

    section = "Marketing commitments"
    labels = {
        "new_leads": ("new leads", str),
        "mqls": ("MQLs", str),
        "sales_accepted": ("sales-accepted leads", str),
        "pipeline_amount": ("pipeline", _money),
        "min_acceptance_rate": ("minimum acceptance rate", lambda v: f"{v} %"),
    }
    old_commitments = {c.period: c for c in old.commitments.all()}
    new_commitments = {c.period: c for c in new.commitments.all()}
    for period, commitment in new_commitments.items():
        when = commitment.get_period_display()
        was = old_commitments.get(period)
        if was is None:
            changes.append(
                Difference(section, f"New commitment: {when.lower()}, {commitment.mqls} MQLs.")
            )
            continue
        for name, (label, fmt) in labels.items():
            if getattr(was, name) != getattr(commitment, name):
                changes.append(
                    Difference(
                        section,
                        f"{when}: {label} {fmt(getattr(commitment, name))} "
                        f"(was {fmt(getattr(was, name))}).",
                    )
                )
    for period, commitment in old_commitments.items():
        if period not in new_commitments:
            changes.append(
                Difference(
                    section,
                    f"Removed the commitment for {commitment.get_period_display().lower()}.",
                )
            )
    return changes
