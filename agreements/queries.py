"""Read side of the agreements: the playbook's content and the differences between versions."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

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
from .touches import DEFAULT_TOUCH_KINDS, TOUCH_KINDS


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
        Prefetch("terms", queryset=Term.objects.order_by("name")),
        Prefetch("definitions", queryset=StageDefinition.objects.order_by("pk")),
        Prefetch("calendar__holidays", queryset=Holiday.objects.order_by("date")),
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


def ordered_definitions(agreement: Agreement | None) -> list[StageDefinition]:
    """A version's stage definitions in funnel order: levels 1–7, then the outcomes."""
    if agreement is None:
        return []
    order = list(Stage.values)
    definitions = list(agreement.definitions.all())
    return sorted(definitions, key=lambda d: order.index(d.stage) if d.stage in order else 99)


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
    definitions = ordered_definitions(agreement)
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
        holidays = [
            h
            for h in agreement.calendar.holidays.all()
            if today <= h.date <= today + dt.timedelta(days=365)
        ]
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
        "terms": list(agreement.terms.all()) if agreement else [],
        "channel_rows": rows,
        "holidays": holidays,
        "clock_text": clock_text,
        "channel_diagram": diagrams.channel_diagram(rows, default_mql),
    }


# --- What changed between two versions ------------------------------------------------

WORD = re.compile(r"\s+|\w+|[^\w\s]")


def mark_words(old: str, new: str) -> tuple[str, str]:
    """Old and new text as HTML, the words that differ in <del> (old) and <ins> (new)."""
    before, after = WORD.findall(old), WORD.findall(new)
    old_html: list[str] = []
    new_html: list[str] = []
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        removed = conditional_escape("".join(before[i1:i2]))
        added = conditional_escape("".join(after[j1:j2]))
        if tag == "equal":
            old_html.append(removed)
            new_html.append(added)
            continue
        if removed:
            old_html.append(f"<del>{removed}</del>")
        if added:
            new_html.append(f"<ins>{added}</ins>")
    return mark_safe("".join(old_html)), mark_safe("".join(new_html))


@dataclass(frozen=True)
class Difference:
    """One change between two agreement versions: what, and its old and new wording."""

    section: str
    what: str
    old: str
    new: str

    @property
    def marked(self) -> tuple[str, str]:
        return mark_words(self.old, self.new)

    @property
    def old_marked(self) -> str:
        return self.marked[0]

    @property
    def new_marked(self) -> str:
        return self.marked[1]

    @property
    def text(self) -> str:
        if not self.old:
            return f"{self.what}: added — {self.new}"
        if not self.new:
            return f"{self.what}: removed (was {self.old})"
        return f"{self.what}: {self.new} (was {self.old})"


def _money(value: Decimal | None) -> str:
    return f"{value:,.0f}" if value is not None else "—"


def _rule_scope(rule: ResponseRule) -> str:
    stage = rule.get_stage_display()
    scope = f"from {rule.channel.name}" if rule.channel_id else "from any channel"
    return f"{stage}s {scope}"


def _rule_text(rule: ResponseRule) -> str:
    text = f"First touch within {rule.within_text}; the rep is warned at {rule.warn_at_percent} %"
    if rule.escalate_after_amount:
        text += (
            f"; after {rule.escalate_text} without a touch: "
            f"{rule.get_escalate_action_display().lower()}"
        )
        if rule.escalate_to_id:
            text += f", and {rule.escalate_to} is told"
    return text + "."


def _calendar_lines(agreement: Agreement) -> dict[str, tuple[str, str]]:
    calendar = agreement.calendar
    if calendar is None:
        return {"calendar": ("Calendar", "none (Monday–Friday 09:00–17:00 UTC)")}
    lines = {
        "calendar": ("Calendar", calendar.name),
        "zone": ("Time zone", calendar.time_zone),
        "hours": ("Working hours", f"{calendar.workday_start:%H:%M}–{calendar.workday_end:%H:%M}"),
        "days": ("Working days", calendar.working_days_display()),
    }
    for holiday in calendar.holidays.all():
        lines[f"holiday {holiday.date}"] = (
            f"Holiday on {holiday.date:%d %b %Y}",
            holiday.name,
        )
    return lines


def touch_kinds_text(agreement: Agreement | None) -> str:
    """The activities that count as a sales touch, as people read them."""
    kinds = agreement.counted_touch_kinds() if agreement is not None else DEFAULT_TOUCH_KINDS
    names = [label.lower() for kind, label in TOUCH_KINDS if kind in kinds]
    return f"{', '.join(names).capitalize()}; a note never counts."


def _agreement_lines(agreement: Agreement) -> dict[str, dict[str, tuple[str, str]]]:
    """Every wording of a version, by section and key: (label, text)."""
    thresholds = (
        agreement.untouched_days_1,
        agreement.untouched_days_2,
        agreement.untouched_days_3,
    )
    scoring = (
        "Lead scoring is on: a hand-raise or a high enough score makes an MQL."
        if agreement.lead_scoring_enabled
        else "Lead scoring is off: only a hand-raise makes an MQL."
    )
    sections: dict[str, dict[str, tuple[str, str]]] = {
        "General": {
            "title": ("Title", agreement.title),
            "notes": ("Introduction", agreement.notes.strip()),
        },
        "Qualification": {"scoring": ("Lead scoring", scoring)},
        "Sales touches": {"kinds": ("Counts as a sales touch", touch_kinds_text(agreement))},
        "Untouched leads": {
            "days": (
                "Untouched after",
                "{} days".format("/".join(str(d) for d in thresholds)),
            )
        },
        "Business calendar": _calendar_lines(agreement),
        "Response rules": {
            ("rule", r.stage, r.channel_id): (_rule_scope(r), _rule_text(r))
            for r in agreement.rules.all()
        },
        "Touch goals": {
            ("goal", g.channel_id): (
                f"Leads from {g.channel.name}" if g.channel_id else "Every lead",
                f"{g.touches} touches within {g.within_days} days of becoming Working.",
            )
            for g in agreement.touch_goals.all()
        },
        "Marketing commitments": {
            ("commitment", c.period): (
                c.get_period_display(),
                f"{c.new_leads} new leads, {c.mqls} MQLs, {c.sales_accepted} sales-accepted "
                f"leads, pipeline {_money(c.pipeline_amount)}, minimum acceptance rate "
                f"{c.min_acceptance_rate} %.",
            )
            for c in agreement.commitments.all()
        }
        | (
            {"content_requests": ("Content requests", agreement.content_request_text)}
            if agreement.content_request_text
            else {}
        ),
        "Glossary": {},
        "Stage definitions": {},
    }
    for term in agreement.terms.all():
        for field in ("abbreviation", "definition", "measured_by", "owner"):
            value = term.get_owner_display() if field == "owner" else getattr(term, field)
            label = Term._meta.get_field(field).verbose_name
            sections["Glossary"][("term", term.name, field)] = (f"{term.name}: {label}", value)
    for definition in agreement.definitions.all():
        for field in StageDefinition.VERSIONED_FIELDS:
            value = getattr(definition, field)
            if field == "owner":
                value = definition.get_owner_display()
            label = StageDefinition._meta.get_field(field).verbose_name
            key = ("definition", definition.stage, field)
            sections["Stage definitions"][key] = (
                f"{Stage(definition.stage).label}: {label}",
                "" if value is None else str(value),
            )
    return sections


def compare_agreements(old: Agreement, new: Agreement) -> list[Difference]:
    """Every wording that differs from `old` to `new`, section by section, old beside new."""
    changes: list[Difference] = []
    before, after = _agreement_lines(old), _agreement_lines(new)
    for section, lines in after.items():
        was = before.get(section, {})
        for key, (label, text) in lines.items():
            old_text = was.get(key, ("", ""))[1]
            if old_text != text:
                changes.append(Difference(section, label, old_text, text))
        for key, (label, text) in was.items():
            if key not in lines and text:
                changes.append(Difference(section, label, text, ""))
    return changes
