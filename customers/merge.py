"""Merge leads into one survivor, and undo a merge exactly.

`plan_merge` says what a merge would do before anyone confirms it: which lead survives
and why, every field's chosen value and where it comes from, which rows move and which
stay. `merge_leads` does it in one transaction with the leads locked, and logs every row
it touched as it was before and right after (customers.models). `undo_merge` writes the
"before" back — ids, values and timestamps — and refuses, naming each difference, when
the survivor or a row the merge touched changed since: guessing would lose someone's work.

Every model with a foreign key to Lead is named in ROW_RULES: a new one fails
tests/customers/test_merge_rules.py until someone decides whether its rows move.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from agreements import roles
from agreements.stages import CLOCK_STOPPING_STAGES, OPEN_STAGES, STAGE_LEVEL, Stage
from leads import ledger, services
from leads.clock import awaits_first_touch
from leads.models import (
    Activity,
    Lead,
    LeadAlias,
    LeadError,
    RepProfile,
    restamp_lead_facts,
    restamp_search_text,
)

from .models import Merge, MergedLead, MovedRow, ReplacedValue

MERGE_ROLES = (roles.OPS, roles.MARKETING, roles.SALES_MANAGER)


class MergeError(Exception):
    """A merge or undo was refused; the message is fit to show the user."""


class StalePlan(MergeError):
    """A lead changed between the plan and the confirmation."""


# What happens to the rows that point at a merged lead, per "app.Model.field".
MOVE = "move"
STAY = "stay"
ROW_RULES: dict[str, tuple[str, str]] = {
    "leads.Activity.lead": (MOVE, "the timeline"),
    "leads.StageChange.lead": (MOVE, "stage history"),
    "leads.LeadEvent.lead": (MOVE, "ledger events (touch points keep their campaigns)"),
    "leads.Deal.lead": (MOVE, "deals"),
    "leads.Feedback.lead": (MOVE, "feedback"),
    "leads.Assignment.lead": (MOVE, "assignments"),
    "leads.ImportChange.lead": (MOVE, "list memberships"),
    "leads.IntakeSubmission.lead": (MOVE, "form posts (a retried post finds the survivor)"),
    "leads.LeadAlias.lead": (MOVE, "other addresses"),
    "leads.LeadSearch.lead": (STAY, "each lead's own search text; merged leads are not found"),
    "sla.SLAWarning.lead": (MOVE, "follow-up warnings"),
    "sla.Breach.lead": (MOVE, "SLA breaches"),
    "sla.UntouchedFlag.lead": (MOVE, "untouched flags"),
    "notifications.Notification.lead": (MOVE, "notifications"),
    "content.TouchAsset.lead": (MOVE, "content used in touches"),
    "content.SharedLink.lead": (MOVE, "shared content links"),
    "content.Rating.lead": (MOVE, "ratings of content used on the lead"),
    "content.ContentRequest.lead": (MOVE, "content requests"),
    "customers.DuplicatePair.lead_a": (STAY, "the duplicate scan's pairs; it skips merged leads"),
    "customers.DuplicatePair.lead_b": (STAY, "the duplicate scan's pairs; it skips merged leads"),
    "customers.DuplicateDismissal.lead_a": (STAY, "a decision about two leads, kept as made"),
    "customers.DuplicateDismissal.lead_b": (STAY, "a decision about two leads, kept as made"),
    "leads.Lead.merged_into": (STAY, "leads merged earlier keep pointing here; ids redirect"),
    "customers.Merge.survivor": (STAY, "the merge log"),
    "customers.MergedLead.lead": (STAY, "the merge log"),
}

# Filled from the most recently updated lead that has a value ("most recent wins").
CONTACT_FIELDS = (
    "first_name",
    "last_name",
    "title",
    "company",
    "phone",
    "website",
    "country",
    "industry",
)
# The survivor's own unless empty; then the first lead's that has one ("non-empty wins").
REFERENCE_FIELDS = ("account", "persona")


def rule_key(relation: models.ForeignObjectRel) -> str:
    """'app.Model.field' of a relation pointing at Lead."""
    model = relation.related_model
    return f"{model._meta.app_label}.{model.__name__}.{relation.field.name}"


def lead_relations() -> list[models.ForeignObjectRel]:
    """Every foreign key to Lead, from every installed app."""
    # include_hidden: most of them are declared with related_name="+".
    return [
        f
        for f in Lead._meta.get_fields(include_hidden=True)
        if f.auto_created and not f.concrete and (f.one_to_many or f.one_to_one)
    ]


def _moved_relations() -> list[models.ForeignObjectRel]:
    unknown = [rule_key(r) for r in lead_relations() if rule_key(r) not in ROW_RULES]
    if unknown:
        raise MergeError(
            "Merging is off until someone decides what happens to these rows: " + ", ".join(unknown)
        )
    return [r for r in lead_relations() if ROW_RULES[rule_key(r)][0] == MOVE]


# --- Rows as plain JSON, and back --------------------------------------------------------


def _plain(f: models.Field, value: Any) -> Any:
    """A column's value as JSON, exactly (full microseconds, decimals as text)."""
    if value is None or isinstance(f, models.JSONField):
        return value
    if isinstance(value, dt.timedelta):
        return {"us": value // dt.timedelta(microseconds=1)}
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, memoryview)):
        return base64.b64encode(bytes(value)).decode()
    return value


def _python(f: models.Field, value: Any) -> Any:
    if value is None or isinstance(f, models.JSONField):
        return value
    if isinstance(f, models.DurationField):
        return dt.timedelta(microseconds=value["us"])
    if isinstance(f, models.BinaryField):
        return base64.b64decode(value)
    return f.to_python(value)


def row_dump(obj: models.Model) -> dict[str, Any]:
    """Every column of a row, column name → JSON value."""
    return {f.attname: _plain(f, getattr(obj, f.attname)) for f in obj._meta.concrete_fields}


def _restore_row(model: type[models.Model], pk: Any, dump: dict[str, Any]) -> None:
    """Write a dumped row back as it was (update() skips auto_now, FSM protection)."""
    by_name = {f.attname: f for f in model._meta.concrete_fields}
    values = {
        name: _python(by_name[name], value)
        for name, value in dump.items()
        if name != model._meta.pk.attname
    }
    model._base_manager.filter(pk=pk).update(**values)


# --- The plan -----------------------------------------------------------------------------


@dataclass
class FieldChoice:
    name: str
    label: str
    value: Any
    text: str
    from_lead: Lead | None
    reason: str
    changes: bool  # differs from the survivor's own value
    old_text: str = ""  # the survivor's own value, in words


@dataclass
class RowCount:
    label: str
    moving: int = 0
    staying: int = 0
    why_staying: list[str] = field(default_factory=list)


@dataclass
class MergePlan:
    """What a merge would do; shown before confirming, carried by the confirmation form."""

    survivor: Lead
    others: list[Lead]
    survivor_reason: str
    choices: list[FieldChoice]
    owner: Any | None
    owner_reason: str
    stage_note: str
    rows: list[RowCount]
    versions: dict[int, int]
    blockers: list[str]

    @property
    def leads(self) -> list[Lead]:
        return [self.survivor, *self.others]

    @property
    def changes(self) -> list[FieldChoice]:
        return [c for c in self.choices if c.changes]

    def as_log(self) -> dict[str, Any]:
        return {
            "survivor": self.survivor.pk,
            "others": [lead.pk for lead in self.others],
            "survivor_reason": self.survivor_reason,
            "owner_reason": self.owner_reason,
            "stage_note": self.stage_note,
            "choices": [
                {
                    "field": c.name,
                    "label": c.label,
                    "text": c.text,
                    "from_lead": c.from_lead.pk if c.from_lead else None,
                    "reason": c.reason,
                }
                for c in self.choices
            ],
            "rows": [
                {"label": r.label, "moving": r.moving, "staying": r.staying} for r in self.rows
            ],
            "versions": {str(k): v for k, v in self.versions.items()},
        }


def _level(lead: Lead) -> int:
    """How far along the funnel an open lead is (nurture counts below Suspect)."""
    return STAGE_LEVEL.get(Stage(lead.stage)) or 0


def choose_survivor(leads: Sequence[Lead]) -> tuple[Lead, str]:
    """The lead in the most advanced open stage (then the most recently updated)."""
    open_leads = [lead for lead in leads if lead.stage in OPEN_STAGES]
    if open_leads:
        best = max(open_leads, key=lambda lead: (_level(lead), lead.updated_at, lead.pk))
        return best, f"its stage, {best.get_stage_display()}, is the most advanced open stage"
    converted = [lead for lead in leads if lead.stage == Stage.CONVERTED]
    pool = converted or list(leads)
    best = max(pool, key=lambda lead: (lead.updated_at, lead.pk))
    if converted:
        return best, "it is a customer (converted)"
    return best, "no lead is open; it was updated most recently"


def _text(lead: Lead, name: str) -> str:
    value = getattr(lead, name)
    return "" if value is None else str(value)


def _choice(
    name: str, survivor: Lead, source: Lead | None, reason: str, value: Any = None
) -> FieldChoice:
    """The value a field takes from `source` (or `value`), against the survivor's own."""
    f = Lead._meta.get_field(name)
    label = str(f.verbose_name).capitalize()
    if source is None:
        return FieldChoice(name, label, None, "", None, reason, False, _text(survivor, name))
    if value is None:
        value = getattr(source, f.attname)
    text = _when(value) if isinstance(value, dt.datetime) else _text(source, name)
    old = getattr(survivor, f.attname)
    old_text = _when(old) if isinstance(old, dt.datetime) else _text(survivor, name)
    return FieldChoice(name, label, value, text, source, reason, value != old, old_text)


def _when(value: dt.datetime | None) -> str:
    return "" if value is None else f"{timezone.localtime(value):%Y-%m-%d %H:%M}"


def _field_choices(survivor: Lead, leads: Sequence[Lead]) -> list[FieldChoice]:
    """Contact fields: the most recently updated lead's value; companies and personas: the
    survivor's unless empty; touch times: the first and the last of all the leads — unless
    the survivor's clock still waits for its first touch: the other leads' touches did not
    answer it, so it keeps its own (else it would read as touched, its breach resolved and
    never escalated, its real first touch not counted)."""
    recent_first = sorted(leads, key=lambda lead: (lead.updated_at, lead.pk), reverse=True)
    choices = []
    for name in CONTACT_FIELDS:
        source = next((lead for lead in recent_first if getattr(lead, name)), None)
        values = {getattr(lead, name) for lead in leads if getattr(lead, name)}
        reason = "the most recently updated lead's" if len(values) > 1 else "the only value"
        choices.append(_choice(name, survivor, source, reason if source else "empty everywhere"))
    for name in REFERENCE_FIELDS:
        attname = Lead._meta.get_field(name).attname
        if getattr(survivor, attname):
            choices.append(_choice(name, survivor, survivor, "the survivor's"))
            continue
        source = next((lead for lead in leads if getattr(lead, attname)), None)
        reason = "the survivor has none" if source else "empty everywhere"
        choices.append(_choice(name, survivor, source, reason))
    waiting = (
        survivor.stage not in CLOCK_STOPPING_STAGES
        and survivor.sla_status in (Lead.SLAStatus.PENDING, Lead.SLAStatus.BREACHED)
        and awaits_first_touch(survivor)
    )
    # What says the clock was touched: the last touch (its first too, for a clock whose
    # start was not recorded); the earliest touch of the leads may stay the first.
    kept = (
        {"last_touch_at"}
        if survivor.sla_started_at is not None
        else {
            "first_touch_at",
            "last_touch_at",
        }
    )
    for name, pick, reason in (
        ("first_touch_at", min, "the earliest sales touch of the leads"),
        ("last_touch_at", max, "the latest sales touch of the leads"),
    ):
        if waiting and name in kept:
            own = survivor if getattr(survivor, name) else None
            choices.append(
                _choice(name, survivor, own, "the survivor's: its clock waits for a first touch")
            )
            continue
        touched = [lead for lead in leads if getattr(lead, name)]
        source = pick(touched, key=lambda lead, n=name: getattr(lead, n)) if touched else None
        choices.append(_choice(name, survivor, source, reason if source else "no sales touch"))
    return choices


def _owner_choice(survivor: Lead, leads: Sequence[Lead]) -> tuple[Any | None, str]:
    """The owner of the lead a rep touched last; else the survivor's; else any owner."""
    touched = [lead for lead in leads if lead.last_touch_at is not None and lead.owner_id]
    if touched:
        last = max(touched, key=lambda lead: lead.last_touch_at)
        who = roles.display_name(last.owner)
        if last.owner_id == survivor.owner_id:
            return survivor.owner, f"{who}, who has the lead touched last"
        if not survivor.is_open:
            return survivor.owner, (
                f"the survivor's: it is {survivor.get_stage_display()}, so it is not "
                f"reassigned to {who}"
            )
        if not RepProfile.objects.filter(user_id=last.owner_id).exists():
            return survivor.owner, f"the survivor's: {who} (who touched last) is not a sales rep"
        return last.owner, f"{who}, who has the lead touched last (reassigned by the merge)"
    if survivor.owner_id:
        return survivor.owner, "the survivor's: no lead was touched by sales"
    owned = next((lead for lead in leads if lead.owner_id), None)
    if owned is None or not survivor.is_open:
        return None, "nobody owns these leads: the lead desk"
    if not RepProfile.objects.filter(user_id=owned.owner_id).exists():
        return None, "the survivor's (the lead desk)"
    return owned.owner, f"{roles.display_name(owned.owner)}: the survivor had no owner"


def _stage_note(survivor: Lead, leads: Sequence[Lead]) -> str:
    ahead = [
        lead
        for lead in leads
        if lead.stage in OPEN_STAGES and _level(lead) > _level(survivor) and lead is not survivor
    ]
    if not ahead:
        return f"Stays {survivor.get_stage_display()}."
    best = max(ahead, key=_level)
    return (
        f"Stays {survivor.get_stage_display()}, behind {best.email} "
        f"({best.get_stage_display()}): a merge never moves a lead through the lifecycle. "
        f"Keep {best.email} as the survivor to keep {best.get_stage_display()}."
    )


def _unique_keys(model: type[models.Model], fk: str) -> list[tuple[list[str], Q]]:
    """The other columns of each unique constraint that includes the lead column."""
    keys = []
    for c in model._meta.constraints:
        if isinstance(c, models.UniqueConstraint) and fk in c.fields:
            keys.append(([n for n in c.fields if n != fk], c.condition or Q()))
    return keys


def _rows_plan(
    relation: models.ForeignObjectRel, survivor: Lead, others: Sequence[Lead]
) -> tuple[list[int], list[tuple[int, str]]]:
    """The ids of the rows that move, and those that stay (with why): a row whose unique
    key the survivor already holds (the same SLA clock, the same list) stays."""
    model, fk = relation.related_model, relation.field.name
    manager = model._base_manager
    rows = list(manager.filter(**{f"{fk}__in": [o.pk for o in others]}).order_by("pk"))
    staying: dict[int, str] = {}
    for others_cols, condition in _unique_keys(model, fk):
        held = set(
            manager.filter(condition, **{fk: survivor.pk}).values_list(*others_cols, named=False)
        )
        within = set(
            manager.filter(condition, pk__in=[r.pk for r in rows]).values_list("pk", flat=True)
        )
        for row in rows:
            if row.pk not in within or row.pk in staying:
                continue
            key = tuple(getattr(row, model._meta.get_field(n).attname) for n in others_cols)
            if key in held:
                names = ", ".join(str(model._meta.get_field(n).verbose_name) for n in others_cols)
                staying[row.pk] = f"the survivor already has one with the same {names}"
            else:
                held.add(key)
    moving = [row.pk for row in rows if row.pk not in staying]
    return moving, sorted(staying.items())


def _blockers(survivor: Lead, others: Sequence[Lead]) -> list[str]:
    blockers = []
    for lead in others:
        if lead.sla_status == Lead.SLAStatus.PENDING:
            due = timezone.localtime(lead.sla_due_at).strftime("%Y-%m-%d %H:%M")
            blockers.append(
                f"{lead.email} has a follow-up clock running (due {due}). Keep it as the "
                "survivor, or let its rep touch it first: a merge does not stop a clock."
            )
    return blockers


def _load(ids: Iterable[int], by: Any) -> list[Lead]:
    wanted = sorted({int(i) for i in ids})
    if len(wanted) < 2:
        raise MergeError("Choose at least two leads to merge.")
    found = {
        lead.pk: lead
        for lead in Lead.with_merged.filter(pk__in=wanted).select_related(
            "owner", "account", "persona"
        )
    }
    visible = set(
        Lead.with_merged.visible_to(by).filter(pk__in=wanted).values_list("pk", flat=True)
    )
    for pk in wanted:
        lead = found.get(pk)
        if lead is None or pk not in visible:
            raise MergeError(f"There is no lead {pk} you may merge.")
        if lead.merged_into_id is not None:
            raise MergeError(
                f"{lead.email} (lead {pk}) was already merged into lead {lead.merged_into_id}."
            )
    return [found[pk] for pk in wanted]


def may_merge(user: Any) -> bool:
    """Ops, Marketing and Sales managers merge leads; reps do not."""
    return roles.has_role(user, *MERGE_ROLES)


def may_see_merge(user: Any, merge: Merge) -> bool:
    """Whether the user may see (and so undo) a merge: its survivor is a lead she may see."""
    return Lead.with_merged.visible_to(user).filter(pk=merge.survivor_id).exists()


def plan_merge(leads: Iterable[Lead | int], by: Any, survivor: int | None = None) -> MergePlan:
    """What merging these leads would do (nothing is written). `survivor`: the lead id the
    person chose to keep; by default the one in the most advanced open stage."""
    if not may_merge(by):
        raise MergeError("Only Ops, Marketing and Sales managers can merge leads.")
    loaded = _load([lead if isinstance(lead, int) else lead.pk for lead in leads], by)
    if survivor is None:
        kept, reason = choose_survivor(loaded)
    else:
        kept = next((lead for lead in loaded if lead.pk == int(survivor)), None)
        if kept is None:
            raise MergeError("The lead to keep must be one of the leads merged.")
        best, best_reason = choose_survivor(loaded)
        reason = best_reason if best is kept else "chosen by you"
    others = [lead for lead in loaded if lead is not kept]
    owner, owner_reason = _owner_choice(kept, loaded)
    rows = []
    for relation in _moved_relations():
        moving, staying = _rows_plan(relation, kept, others)
        if moving or staying:
            label = ROW_RULES[rule_key(relation)][1]
            rows.append(RowCount(label, len(moving), len(staying), sorted({w for _, w in staying})))
    return MergePlan(
        survivor=kept,
        others=others,
        survivor_reason=reason,
        choices=_field_choices(kept, loaded),
        owner=owner,
        owner_reason=owner_reason,
        stage_note=_stage_note(kept, loaded),
        rows=rows,
        versions={lead.pk: lead.version for lead in loaded},
        blockers=_blockers(kept, others),
    )


# --- The merge ------------------------------------------------------------------------


def _related_rows(
    relations: Sequence[models.ForeignObjectRel], lead_ids: Sequence[int]
) -> dict[tuple[str, int], models.Model]:
    """Every row of the moved relations that points at these leads, by (key, id)."""
    found = {}
    for relation in relations:
        model, fk = relation.related_model, relation.field.name
        for row in model._base_manager.filter(**{f"{fk}__in": lead_ids}).order_by("pk"):
            found[(rule_key(relation), row.pk)] = row
    return found


def _lock(plan: MergePlan) -> list[Lead]:
    ids = sorted(plan.versions)
    locked = list(Lead.with_merged.select_for_update().filter(pk__in=ids).order_by("pk"))
    changed = [
        lead
        for lead in locked
        if lead.version != plan.versions[lead.pk] or lead.merged_into_id is not None
    ]
    if len(locked) != len(ids) or changed:
        names = ", ".join(lead.email for lead in changed) or "a lead"
        raise StalePlan(
            f"{names} changed since this plan was shown; nothing was merged. "
            "Look at the new plan and confirm again."
        )
    return locked


def merge_leads(plan: MergePlan, by: Any) -> Merge:
    """Merge the plan's leads into its survivor, in one transaction, and log it for undo."""
    if not may_merge(by):
        raise MergeError("Only Ops, Marketing and Sales managers can merge leads.")
    if plan.blockers:
        raise MergeError(" ".join(plan.blockers))
    relations = _moved_relations()
    with transaction.atomic():
        locked = {lead.pk: lead for lead in _lock(plan)}
        fresh = plan_merge(list(locked), by, survivor=plan.survivor.pk)
        if fresh.blockers:
            raise MergeError(" ".join(fresh.blockers))
        survivor = locked[fresh.survivor.pk]
        others = [locked[lead.pk] for lead in fresh.others]
        all_ids = [survivor.pk, *[o.pk for o in others]]
        before = _related_rows(relations, all_ids)
        merge = Merge.objects.create(
            survivor=survivor,
            merged_by=by,
            plan=fresh.as_log(),
            survivor_before=row_dump(survivor),
        )
        MergedLead.objects.bulk_create(
            MergedLead(merge=merge, lead=o, email=o.email, before=row_dump(o)) for o in others
        )
        _apply_choices(merge, survivor, others, fresh)
        moved = _move_rows(relations, survivor, others)
        # The survivor's MQL entries gained the merged leads' later events: their outcomes
        # are worked out again (logged below as changed rows, so an undo restores them).
        ledger.resettle_outcomes([survivor.pk])
        # The merged leads' tenures still held are the survivor's now: its stage is theirs;
        # and every moved ledger row takes the survivor's facts (channel, campaign, persona).
        ledger.keep_held_stage([survivor.pk])
        ledger.settle_feedback_reasons([survivor.pk])
        ledger.settle_influence([survivor.pk])
        restamp_lead_facts([survivor.pk])
        restamp_search_text([survivor.pk])
        LeadAlias.objects.bulk_create(LeadAlias(email=o.email, lead=survivor) for o in others)
        now = timezone.now()
        Lead.with_merged.filter(pk__in=[o.pk for o in others]).update(
            merged_into=survivor, updated_at=now
        )
        Activity.objects.create(
            lead=survivor,
            side=Activity.Side.SYSTEM,
            kind=Activity.Kind.NOTE,
            actor=by,
            occurred_at=now,
            subject=f"Merged with {', '.join(o.email for o in others)}"[:200],
            body="Their timelines, history, deals and ledger moved here; "
            "their addresses find this lead.",
        )
        _log_rows(merge, relations, all_ids, before, moved)
        survivor.refresh_from_db()
        merge.survivor_after = row_dump(survivor)
        merge.survivor_rows = _row_ids(relations, survivor.pk)
        merge.save(update_fields=["survivor_after", "survivor_rows"])
    return merge


def _apply_choices(merge: Merge, survivor: Lead, others: Sequence[Lead], plan: MergePlan) -> None:
    """Write the chosen values onto the survivor (each replaced value logged); a new owner
    goes through leads.services.assign, so the assignment and its ledger event are written."""
    replaced = []
    for choice in plan.changes:
        f = Lead._meta.get_field(choice.name)
        replaced.append(
            ReplacedValue(
                merge=merge,
                field=choice.name,
                label=choice.label,
                old_value=_plain(f, getattr(survivor, f.attname)),
                new_value=_plain(f, choice.value),
                old_text=choice.old_text[:300],
                new_text=choice.text[:300],
                from_lead_id=choice.from_lead.pk if choice.from_lead else None,
                reason=choice.reason[:200],
            )
        )
        setattr(survivor, f.attname, choice.value)
    survivor.save()
    new_owner_id = plan.owner.pk if plan.owner is not None else None
    if new_owner_id != survivor.owner_id and survivor.is_open:
        replaced.append(
            ReplacedValue(
                merge=merge,
                field="owner",
                label="Owner",
                old_value=survivor.owner_id,
                new_value=new_owner_id,
                old_text=_person(survivor.owner),
                new_text=_person(plan.owner),
                reason=plan.owner_reason[:200],
            )
        )
        try:
            services.assign(
                survivor,
                plan.owner,
                by=None,
                rule="Merge",
                reason=f"Merged with {', '.join(o.email for o in others)}: "
                f"the owner is {plan.owner_reason}.",
            )
        except LeadError as exc:
            raise MergeError(str(exc)) from exc
    ReplacedValue.objects.bulk_create(replaced)


def _person(user: Any | None) -> str:
    return roles.display_name(user) if user is not None else "the lead desk"


def _move_rows(
    relations: Sequence[models.ForeignObjectRel], survivor: Lead, others: Sequence[Lead]
) -> set[tuple[str, int]]:
    moved = set()
    for relation in relations:
        model, fk = relation.related_model, relation.field.name
        ids, _staying = _rows_plan(relation, survivor, others)
        model._base_manager.filter(pk__in=ids).update(**{fk: survivor})
        moved.update((rule_key(relation), pk) for pk in ids)
    return moved


def _log_rows(
    merge: Merge,
    relations: Sequence[models.ForeignObjectRel],
    lead_ids: Sequence[int],
    before: dict[tuple[str, int], models.Model],
    moved: set[tuple[str, int]],
) -> None:
    """One MovedRow per row the merge touched: moved, created, or changed on the survivor."""
    after = _related_rows(relations, lead_ids)
    logged = []
    for key, row in after.items():
        dump = row_dump(row)
        old = before.get(key)
        if old is None:
            action = MovedRow.Action.CREATED
        elif key in moved:
            action = MovedRow.Action.MOVED
        elif row_dump(old) != dump:
            action = MovedRow.Action.CHANGED
        else:
            continue
        label, field_name = key[0].rsplit(".", 1)
        logged.append(
            MovedRow(
                merge=merge,
                model=label,
                field=field_name,
                row_id=row.pk,
                from_lead_id=getattr(old, f"{field_name}_id") if old is not None else None,
                action=action,
                before=row_dump(old) if old is not None else None,
                after=dump,
            )
        )
    MovedRow.objects.bulk_create(logged)


def _row_ids(relations: Sequence[models.ForeignObjectRel], lead_id: int) -> dict[str, list[int]]:
    return {
        rule_key(r): sorted(
            r.related_model._base_manager.filter(**{r.field.name: lead_id}).values_list(
                "pk", flat=True
            )
        )
        for r in relations
    }


# --- Undo ---------------------------------------------------------------------------------


class UndoRefused(MergeError):
    """The merge cannot be undone exactly; `problems` says why, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(
            "This merge cannot be undone exactly, so nothing was changed: " + " ".join(problems)
        )
        self.problems = problems


def _labels(
    dump_a: dict[str, Any], dump_b: dict[str, Any], ignore: Iterable[str] = ()
) -> list[str]:
    return sorted(k for k in dump_a if k not in ignore and dump_a.get(k) != dump_b.get(k))


def undo_problems(merge: Merge) -> list[str]:
    """What stands in the way of restoring every lead and row exactly as before the merge:
    the survivor or a row the merge touched changed since, or rows were added to it since.
    Empty: the undo can restore everything."""
    if merge.is_undone:
        return [f"It was already undone on {timezone.localtime(merge.undone_at):%Y-%m-%d %H:%M}."]
    lead_ids = [merge.survivor_id, *merge.merged_leads.values_list("lead_id", flat=True)]
    later = (
        Merge.objects.filter(pk__gt=merge.pk, undone_at__isnull=True)
        .filter(Q(survivor_id__in=lead_ids) | Q(merged_leads__lead_id__in=lead_ids))
        .order_by("-pk")
        .first()
    )
    if later is not None:
        return [
            f"Merge {later.pk} (into lead {later.survivor_id}) came later and involves these "
            "leads: undo that merge first."
        ]
    problems = []
    survivor = Lead.with_merged.get(pk=merge.survivor_id)
    if survivor.merged_into_id is not None:
        problems.append(f"The survivor was merged into lead {survivor.merged_into_id} since.")
    changed = _labels(merge.survivor_after, row_dump(survivor), ignore=("merged_into_id",))
    if changed:
        problems.append(
            f"The survivor ({survivor.email}) changed since the merge: {', '.join(changed)}."
        )
    for merged in merge.merged_leads.all():
        lead = Lead.with_merged.get(pk=merged.lead_id)
        if lead.merged_into_id != merge.survivor_id:
            problems.append(f"{merged.email} no longer points at the survivor.")
        changed = _labels(merged.before, row_dump(lead), ignore=("merged_into_id", "updated_at"))
        if changed:
            problems.append(f"{merged.email} changed since the merge: {', '.join(changed)}.")
    relations = {rule_key(r): r for r in _moved_relations()}
    for row in merge.moved_rows.all():
        model = apps.get_model(row.model)
        current = model._base_manager.filter(pk=row.row_id).first()
        what = f"{model._meta.verbose_name} {row.row_id}"
        if current is None:
            problems.append(f"The {what} was deleted since the merge.")
        elif row_dump(current) != row.after:
            fields = _labels(row.after, row_dump(current))
            problems.append(f"The {what} changed since the merge: {', '.join(fields)}.")
    for key, ids in _row_ids(list(relations.values()), merge.survivor_id).items():
        added = sorted(set(ids) - set(merge.survivor_rows.get(key, [])))
        if added:
            model = relations[key].related_model._meta
            name = model.verbose_name if len(added) == 1 else model.verbose_name_plural
            problems.append(
                f"{len(added)} {name} added to the survivor since the merge "
                f"(ids {', '.join(map(str, added[:10]))}{'…' if len(added) > 10 else ''}): "
                "undoing would have to guess which lead they belong to."
            )
    return problems


def undo_merge(merge: Merge, by: Any) -> Merge:
    """Restore every lead and row the merge touched exactly as before (ids, values,
    timestamps), or refuse with UndoRefused naming what changed since."""
    if not may_merge(by):
        raise MergeError("Only Ops, Marketing and Sales managers can undo a merge.")
    if not may_see_merge(by, merge):
        raise MergeError(f"There is no merge {merge.pk} you may undo.")
    with transaction.atomic():
        merge = Merge.objects.select_for_update().get(pk=merge.pk)
        ids = [merge.survivor_id, *merge.merged_leads.values_list("lead_id", flat=True)]
        list(Lead.with_merged.select_for_update().filter(pk__in=ids).order_by("pk"))
        problems = undo_problems(merge)
        if problems:
            raise UndoRefused(problems)
        rows = list(merge.moved_rows.all())
        for row in reversed(rows):
            if row.action == MovedRow.Action.CREATED:
                apps.get_model(row.model)._base_manager.filter(pk=row.row_id).delete()
        for row in rows:
            if row.action != MovedRow.Action.CREATED:
                _restore_row(apps.get_model(row.model), row.row_id, row.before)
        for merged in merge.merged_leads.all():
            _restore_row(Lead, merged.lead_id, merged.before)
        _restore_row(Lead, merge.survivor_id, merge.survivor_before)
        # What the ledger keeps on its rows, worked out again from the rows as restored:
        # a merge logged before those columns existed does not hold them.
        restamp_lead_facts(ids)
        restamp_search_text(ids)
        ledger.keep_held_stage(ids)
        ledger.settle_feedback_reasons(ids)
        ledger.settle_influence(ids)
        merge.undone_at = timezone.now()
        merge.undone_by = by
        merge.save(update_fields=["undone_at", "undone_by"])
    return merge
