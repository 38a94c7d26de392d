"""Reverting a list import, exactly: first the plan (shown for confirmation), then the revert.

A revert removes only what its batch created that nothing else has touched since:
another import, web-to-lead, the API, a rep's touch, stage move or reassignment,
the SLA engine beyond the clock the batch started. It empties the fields the batch
filled on existing leads while they still hold the batch's value, and takes the
batch's touch point (activity and ledger row) off them. A lead that a reverted import
created and kept only because this batch also contained it is, for this revert, as if
this batch had created it: the last revert of the imports that brought a lead removes
it. Everything it keeps is listed with why, before (the plan) and after (the batch's
`revert_kept`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from config.db import IN_CHUNK, in_chunks
from leads import ledger
from leads.models import (
    PERSON_FIELDS,
    STAMPED,
    Account,
    Activity,
    Assignment,
    Deal,
    Feedback,
    ImportBatch,
    ImportChange,
    IntakeSubmission,
    Lead,
    LeadError,
    LeadEvent,
    StageChange,
    restamp_lead_facts,
    restamp_search_text,
)
from notifications.models import Notification

from .columns import COLUMNS, FILL_FIELDS
from .writer import activity_key

Kind = LeadEvent.Kind
# The ledger rows a take-in writes for a lead it creates, all at the lead's creation time.
OWN_EVENT_KINDS = (Kind.STAGE_ENTERED, Kind.CLOCK_STARTED, Kind.ASSIGNED, Kind.TOUCH_POINT)
EVENT_REASONS = {
    Kind.STAGE_ENTERED: "its stage moved",
    Kind.ASSIGNED: "it was reassigned",
    Kind.SALES_TOUCH: "a rep touched it",
    Kind.FIRST_TOUCH: "a rep touched it",
    Kind.CLOCK_MET: "a rep touched it",
    Kind.TOUCH_POINT: "another list, form or campaign touched it",
    Kind.CLOCK_STARTED: "it raised its hand again (a new clock started)",
    Kind.CLOCK_BREACHED: "the SLA check breached its clock",
    Kind.CLOCK_STOPPED: "its stage moved",
    Kind.DEAL_OPENED: "it has a deal",
    Kind.DEAL_WON: "it has a deal",
    Kind.DEAL_LOST: "it has a deal",
    Kind.FEEDBACK: "sales gave feedback on it",
}
ACTIVITY_REASONS = {
    Activity.Kind.FORM: "a web-to-lead form came in for it",
    Activity.Kind.LIST_IMPORT: "it appeared in another list",
    Activity.Kind.ASSIGNMENT: "it was reassigned",
    Activity.Kind.NURTURE_RETURN: "it came back from nurture",
}
FIELD_LABELS = {
    **{name: COLUMNS[name].label.lower() for name in FILL_FIELDS},
    "account_id": "company account",
    "persona_id": "persona",
}


@dataclass
class Kept:
    """A lead, or a value on one, the revert leaves in place, and why."""

    id: int
    email: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "email": self.email, "reason": self.reason}


@dataclass
class RevertPlan:
    """What reverting a batch does: the leads it removes, the leads whose fields it
    restores, the touch points it takes off, the companies it removes, and what it keeps."""

    batch: ImportBatch
    remove: list[int] = field(default_factory=list)
    restore: dict[int, dict[str, Any]] = field(default_factory=dict)  # lead → field → empty
    touch_points: list[int] = field(default_factory=list)  # existing leads losing the list's
    accounts: list[int] = field(default_factory=list)
    kept: list[Kept] = field(default_factory=list)  # leads it created, kept
    kept_values: list[Kept] = field(default_factory=list)  # values it filled, kept

    def kept_dicts(self) -> list[dict[str, Any]]:
        """Everything kept, as the batch records it (revert_kept)."""
        return [k.as_dict() for k in [*self.kept, *self.kept_values]]


def check_revertible(batch: ImportBatch) -> None:
    """Raise LeadError (fit to show) when the batch cannot be reverted now."""
    if batch.status == ImportBatch.Status.UPLOADED:
        raise LeadError("This import was never run; there is nothing to revert.")
    if batch.status in (ImportBatch.Status.QUEUED, ImportBatch.Status.RUNNING):
        raise LeadError(
            "This import is still running (or resuming after it stalled); "
            "wait for it to finish before reverting."
        )
    if batch.status == ImportBatch.Status.REVERTED:
        raise LeadError("This import was already reverted.")


def plan_revert(batch: ImportBatch, *, lock: bool = False) -> RevertPlan:
    """Work out what reverting the batch would do, touching nothing.

    With `lock`, the leads involved are locked (Postgres) until the caller's
    transaction ends, so nobody works them between the plan and the revert.
    """
    plan = RevertPlan(batch)
    own = _own(batch)
    created = Lead.with_merged.filter(
        Q(source_batch=batch) | Q(pk__in=_adopted(batch).values("lead_id"))
    ).order_by("pk")
    if lock:
        created = created.select_for_update()
    emails = dict(created.values_list("pk", "email"))
    touched = _touched(own, list(emails))
    plan.kept += [Kept(pk, emails[pk], touched[pk]) for pk in emails if pk in touched]
    plan.remove = [pk for pk in emails if pk not in touched]
    _plan_restores(plan, lock=lock)
    plan.accounts = _unused_accounts(batch, plan, own.creators)
    return plan


@dataclass
class _Own:
    """What a revert counts as its own on the leads it checks: its batch; the keys of the
    list entries (activities and their touch points) that are its or a reverted creator's;
    the leads a reverted import created and this batch met, each with the version the
    imports left it at (1, or 2 when this batch filled a field); those creators."""

    batch: ImportBatch
    keys: list[str]
    versions: dict[int, int] = field(default_factory=dict)
    creators: list[ImportBatch] = field(default_factory=list)


def _adopted(batch: ImportBatch) -> QuerySet[ImportChange]:
    """The batch's entries for the leads a reverted import created and kept because this
    batch also contained them: when this one is reverted, they are its to remove."""
    return ImportChange.objects.filter(
        batch=batch, lead__source_batch__status=ImportBatch.Status.REVERTED
    )


def _own(batch: ImportBatch) -> _Own:
    """What the revert of this batch counts as its own (see _Own)."""
    met = _adopted(batch)
    versions = {
        lead_id: 2 if filled else 1 for lead_id, filled in met.values_list("lead_id", "filled")
    }
    creators = list(
        ImportBatch.objects.filter(
            pk__in=met.values("lead__source_batch"), status=ImportBatch.Status.REVERTED
        )
    )
    keys = list(dict.fromkeys([activity_key(batch), *map(activity_key, creators)]))
    return _Own(batch, keys, versions, creators)


def _plan_restores(plan: RevertPlan, *, lock: bool) -> None:
    """The fields the batch filled on existing leads that still hold its value (none on
    the leads the revert removes)."""
    removed = set(plan.remove)
    changes = ImportChange.objects.filter(batch=plan.batch).order_by("lead_id")
    rows = [
        row
        for row in changes.values_list("lead_id", "filled", "wrote_activity")
        if row[0] not in removed
    ]
    for part in in_chunks(rows, 500):
        leads = Lead.objects.filter(pk__in=[lead_id for lead_id, _, _ in part]).only(
            "email", *FIELD_LABELS
        )
        if lock:
            leads = leads.select_for_update()
        by_id = {lead.pk: lead for lead in leads}
        for lead_id, filled, wrote_activity in part:
            lead = by_id.get(lead_id)
            if lead is None:
                continue
            if wrote_activity:
                plan.touch_points.append(lead_id)
            for name, value in filled.items():
                if getattr(lead, name) == value:  # untouched since the import wrote it
                    empty = None if name.endswith("_id") else ""
                    plan.restore.setdefault(lead_id, {})[name] = empty
                else:
                    label = FIELD_LABELS.get(name, name)
                    plan.kept_values.append(
                        Kept(lead_id, lead.email, f"its {label} changed after the import")
                    )


def _unused_accounts(
    batch: ImportBatch, plan: RevertPlan, creators: Sequence[ImportBatch] = ()
) -> list[int]:
    """The companies the batch (or a reverted creator of a lead it removes) created that
    no lead or deal will use after the revert (the leads it deletes, and those it takes
    the company off, do not count)."""
    removed = set(plan.remove)
    removed.update(pk for pk, fields in plan.restore.items() if "account_id" in fields)
    created = dict.fromkeys(batch.accounts_created)
    for creator in creators:
        created.update(dict.fromkeys(creator.accounts_created))
    unused = []
    for part in in_chunks(list(created), IN_CHUNK):
        used = {
            account_id
            for pk, account_id in Lead.objects.filter(account_id__in=part).values_list(
                "pk", "account_id"
            )
            if pk not in removed
        }
        used.update(Deal.objects.filter(account_id__in=part).values_list("account_id", flat=True))
        unused += [pk for pk in part if pk not in used]
    return unused


def touched_since(batch: ImportBatch, lead_ids: Sequence[int]) -> dict[int, str]:
    """Of the leads this batch created, those something else touched since, with why."""
    return _touched(_own(batch), lead_ids)


def _touched(own: _Own, lead_ids: Sequence[int]) -> dict[int, str]:
    touched: dict[int, str] = {}
    for part in in_chunks(list(lead_ids), IN_CHUNK):
        for reason_of in _TOUCH_CHECKS:
            for lead_id, reason in reason_of(own, part):
                touched.setdefault(lead_id, reason)
    return touched


def _merged(own: _Own, part: Sequence[int]) -> Iterable[tuple[int, str]]:
    rows = Lead.with_merged.filter(pk__in=part, merged_into__isnull=False)
    for pk, survivor in rows.values_list("pk", "merged_into_id"):
        yield pk, f"it was merged into lead {survivor}"


def _other_imports(own: _Own, part: Sequence[int]) -> Iterable[tuple[int, str]]:
    rows = (
        ImportChange.objects.filter(lead_id__in=part)
        .exclude(batch=own.batch)
        .values_list("lead_id", "batch_id", "batch__file_name")
    )
    return ((pk, f"import #{other} ({name}) also contained it") for pk, other, name in rows)


def _other_activities(own: _Own, part: Sequence[int]) -> Iterable[tuple[int, str]]:
    rows = (
        Activity.objects.filter(lead_id__in=part)
        .exclude(kind=Activity.Kind.LIST_IMPORT, once_key__in=own.keys)
        .values_list("lead_id", "kind", "side")
    )
    for pk, kind, side in rows:
        label = Activity.Kind(kind).label.lower()
        if kind in ACTIVITY_REASONS:
            yield pk, ACTIVITY_REASONS[kind]
        elif side == Activity.Side.SALES:
            yield pk, f"a rep logged a {label} on it"
        else:
            yield pk, f"it has a later activity ({label})"


def _other_events(own: _Own, part: Sequence[int]) -> Iterable[tuple[int, str]]:
    # The batch's touch point carries its row's date (a registration time), not the
    # import's: it is the batch's own when its list entry has that time.
    own_entry = Activity.objects.filter(
        lead=OuterRef("lead"),
        kind=Activity.Kind.LIST_IMPORT,
        once_key__in=own.keys,
        occurred_at=OuterRef("at"),
    )
    rows = (
        LeadEvent.objects.filter(lead_id__in=part)
        .exclude(kind__in=OWN_EVENT_KINDS, at=F("lead__created_at"))
        .exclude(Q(kind=LeadEvent.Kind.TOUCH_POINT) & Q(Exists(own_entry)))
        .values_list("lead_id", "kind")
    )
    return ((pk, EVENT_REASONS.get(kind, "its history moved on")) for pk, kind in rows)


def _other_records(own: _Own, part: Sequence[int]) -> Iterable[tuple[int, str]]:
    checks = (
        (
            Assignment.objects.filter(lead_id__in=part).exclude(at=F("lead__created_at")),
            "it was reassigned",
        ),
        (StageChange.objects.filter(lead_id__in=part), "it moved through the lifecycle"),
        (Deal.objects.filter(lead_id__in=part), "it has a deal"),
        (Feedback.objects.filter(lead_id__in=part), "sales gave feedback on it"),
        (IntakeSubmission.objects.filter(lead_id__in=part), "a web-to-lead form came in for it"),
        (Notification.objects.filter(lead_id__in=part), "someone was notified about it"),
    )
    for queryset, reason in checks:
        for pk in queryset.order_by().values_list("lead_id", flat=True).distinct():
            yield pk, reason


def _edited(own: _Own, part: Sequence[int]) -> Iterable[tuple[int, str]]:
    rows = Lead.objects.filter(pk__in=part, version__gt=1).values_list("pk", "version")
    return (
        (pk, "it was changed after the import")
        for pk, version in rows
        if version > own.versions.get(pk, 1)
    )


# Most telling reason first: the first one found for a lead is the one shown.
_TOUCH_CHECKS = (_merged, _other_imports, _other_activities, _other_events, _other_records, _edited)


def revert_batch(batch: ImportBatch, *, by: Any) -> RevertPlan:
    """Revert a batch as plan_revert says (worked out again, under lock, in one transaction).

    Raises LeadError when the batch cannot be reverted (still running, or already).
    """
    check_revertible(batch)
    key = activity_key(batch)
    with transaction.atomic():
        batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        check_revertible(batch)
        plan = plan_revert(batch, lock=connection.vendor == "postgresql")
        for part in in_chunks(plan.remove, IN_CHUNK):
            Lead.objects.filter(pk__in=part).delete()
        now = timezone.now()
        for lead_id, restore in plan.restore.items():
            Lead.objects.filter(pk=lead_id).update(
                **restore, version=F("version") + 1, updated_at=now
            )
        restamp_lead_facts(
            lead_id for lead_id, restore in plan.restore.items() if set(restore) & set(STAMPED)
        )
        restamp_search_text(
            lead_id
            for lead_id, restore in plan.restore.items()
            if set(restore) & set(PERSON_FIELDS)
        )
        for part in in_chunks(plan.touch_points, IN_CHUNK):
            _remove_touch_points(part, key)
        ImportChange.objects.filter(batch=batch).delete()
        for part in in_chunks(plan.accounts, IN_CHUNK):
            Account.objects.filter(pk__in=part, lead__isnull=True, deal__isnull=True).delete()
        batch.status = ImportBatch.Status.REVERTED
        batch.reverted_at = now
        batch.reverted_by = by if getattr(by, "is_authenticated", False) else None
        batch.revert_kept = plan.kept_dicts()
        batch.save(update_fields=["status", "reverted_at", "reverted_by", "revert_kept"])
    return plan


def _remove_touch_points(lead_ids: Sequence[int], key: str) -> None:
    """Take the list's activity off these leads, and its touch point off their ledger."""
    activities = Activity.objects.filter(
        lead_id__in=lead_ids, kind=Activity.Kind.LIST_IMPORT, once_key=key
    )
    # One run of the import wrote its activities and touch points at one time.
    runs: dict[tuple[Any, int], list[int]] = {}
    for lead_id, at, campaign_id in activities.values_list("lead_id", "occurred_at", "campaign_id"):
        if campaign_id is not None:
            runs.setdefault((at, campaign_id), []).append(lead_id)
    for (at, campaign_id), leads in runs.items():
        LeadEvent.objects.filter(
            lead_id__in=leads, kind=Kind.TOUCH_POINT, at=at, campaign_id=campaign_id
        ).delete()
    ledger.settle_influence(lead_ids)
    activities.delete()
