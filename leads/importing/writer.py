"""The one way in: every entry path creates and updates leads through `take_in_leads`.

The list import (page, `import_leads` command, the admin's import), web-to-lead and
the demo seed hand it cleaned rows. In one short transaction it dedupes by
normalized email, fills only the empty fields of existing leads, creates the new
ones in the entry stage with a running clock, routes them (an Assignment with rule
and reason), and records the list or form as a touch point carrying its campaign.
It writes plain rows in bulk (config.db), so a 100,000-row list stays fast; what a
take-in needs once (the clock, the personas) is worked out once in its `Entry`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from agreements.models import Channel
from agreements.stages import Stage
from config.db import IN_CHUNK, in_chunks, insert_rows, json_values, update_rows
from leads import ledger, routing
from leads.clock import PENDING, ClockStart, Rules
from leads.models import (
    PERSON_FIELDS,
    STAMPED,
    Account,
    Activity,
    Assignment,
    Campaign,
    ImportBatch,
    ImportChange,
    Lead,
    LeadAlias,
    LeadEvent,
    LeadSearch,
    restamp_lead_facts,
    restamp_search_text,
    search_text,
)

from .cleaning import Cleaned, CleanRow, RowIssue
from .columns import FILL_FIELDS, company_domain, single_line

# Rows per transaction: progress moves and a crash loses at most this many (re-run to
# finish); larger chunks mean fewer commits, each rewriting the tables' hot pages.
CHUNK = settings.IMPORT_CHUNK_ROWS

Kind = LeadEvent.Kind


@dataclass
class Summary:
    """What an import did (or would do): rows created, updated, unchanged and rejected."""

    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    issues: list[RowIssue] = field(default_factory=list)
    # Rows kept with a note (a cell cut to fit its field).
    warnings: list[RowIssue] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.issues)

    def as_dict(self) -> dict[str, Any]:
        """The counts and errors as the command's JSON prints them."""
        return {
            "total": self.total,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.rejected,
            "errors": [issue.as_dict() for issue in self.issues],
            "warnings": [issue.as_dict() for issue in self.warnings],
        }


EXISTING_FIELDS = (
    "id",
    "email",
    "version",
    "source_batch_id",
    "account_id",
    "persona_id",
    *FILL_FIELDS,
)


def _existing(emails: Sequence[str], *, lock: bool = False) -> dict[str, Lead]:
    """The leads of these emails, by email; a merged address (an alias) finds the lead it
    was merged into."""
    if not emails:
        return {}
    aliases = dict(
        LeadAlias.objects.filter(email__in=json_values(emails)).values_list("email", "lead_id")
    )
    queryset = Lead.objects.filter(
        Q(email__in=json_values(emails)) | Q(pk__in=list(aliases.values()))
    ).only(*EXISTING_FIELDS)
    if lock:
        queryset = queryset.select_for_update()
    by_id = {lead.pk: lead for lead in queryset}
    found = {lead.email: lead for lead in by_id.values()}
    found.update((email, by_id[lead_id]) for email, lead_id in aliases.items() if lead_id in by_id)
    return found


def fill_values(lead: Lead, values: dict[str, str]) -> dict[str, Any]:
    """What an entry may fill on an existing lead: only its empty fields.

    The lead keeps the campaign it came in by; a later list or form is recorded as
    a touch point carrying its own campaign.
    """
    return {
        name: values[name] for name in FILL_FIELDS if values.get(name) and not getattr(lead, name)
    }


def plan_import(cleaned: Cleaned) -> Summary:
    """The dry run: how many rows would create, update, leave unchanged, or be rejected."""
    summary = Summary(
        total=cleaned.total, issues=list(cleaned.issues), warnings=list(cleaned.warnings)
    )
    met: set[int] = set()
    for part in in_chunks(cleaned.rows, CHUNK):
        existing = _existing([r.email for r in part])
        for row in part:
            lead = existing.get(row.email)
            if lead is None:
                summary.created += 1
                continue
            if lead.pk in met:
                summary.unchanged += 1  # another address of a lead already met
                continue
            met.add(lead.pk)
            if fill_values(lead, row.values):
                summary.updated += 1
            else:
                summary.unchanged += 1
    return summary


def get_campaign(name: str, channel: Any) -> Campaign | None:
    """The campaign by name (created in the channel when new); None for an empty name."""
    name = single_line(name or "")[:200]
    if not name:
        return None
    campaign, _ = Campaign.objects.get_or_create(name=name, defaults={"channel": channel})
    return campaign


def activity_key(batch: ImportBatch) -> str:
    """The once-per-lead key of "appeared in list X": the same file appears once per lead."""
    return f"list:{batch.checksum[:40]}"


@dataclass(frozen=True)
class TouchPoint:
    """The marketing touch a take-in records on each of its leads: the list or the form."""

    side: str
    kind: str
    subject: str
    body: str = ""
    # Set: at most one such touch per lead (a file imported twice). Empty: one per take-in.
    once_key: str = ""
    # The file's row number is appended to the body (a list import).
    with_row: bool = False

    @classmethod
    def list_import(cls, batch: ImportBatch) -> TouchPoint:
        """ "Appeared in list X", once per lead and file."""
        return cls(
            side=Activity.Side.MARKETING.value,
            kind=Activity.Kind.LIST_IMPORT.value,
            subject=f"Appeared in list {batch.list_name}"[:200],
            body=f"Import #{batch.pk} ({batch.file_name})",
            once_key=activity_key(batch),
            with_row=True,
        )


# The clock columns of a new lead, in LEAD_COLUMNS order.
NO_CLOCK = (None, None, Lead.SLAStatus.NONE.value, None, None)


def clock_columns(clock: ClockStart | None) -> tuple[Any, ...]:
    """(sla_started_at, sla_due_at, sla_status, sla_rule_id, sla_agreement_id) of a start."""
    if clock is None:
        return NO_CLOCK
    return (clock.started_at, clock.due_at, PENDING.value, clock.rule.pk, clock.agreement.pk)


@dataclass
class Entry:
    """Where a take-in's leads come from and what they start with, worked out once.

    All of its new leads enter `stage` from `channel` at `at`, so they all start the
    same clock; a list import prepares one Entry and writes every chunk with it.
    """

    channel: Channel
    campaign: Campaign | None
    stage: str
    touch: TouchPoint
    at: dt.datetime
    batch: ImportBatch | None
    clock: tuple[Any, ...]
    personas: routing.PersonaMatcher
    _persona_ids: dict[tuple[str, str, str], int | None] = field(default_factory=dict)

    @classmethod
    def prepare(
        cls,
        *,
        channel: Channel,
        campaign: Campaign | None,
        touch: TouchPoint,
        at: dt.datetime | None = None,
        stage: str = "",
        batch: ImportBatch | None = None,
    ) -> Entry:
        """Read the rules in force and the personas once for a take-in."""
        at = at or timezone.now()
        stage = stage or channel.entry_stage
        return cls(
            channel=channel,
            campaign=campaign,
            stage=stage,
            touch=touch,
            at=at,
            batch=batch,
            clock=clock_columns(Rules.in_force().start(stage, channel.pk, at)),
            personas=routing.PersonaMatcher.active(),
        )

    def persona_id(self, title: str, industry: str, country: str) -> int | None:
        """The persona for these facts (matching is pure, so each combination once)."""
        key = (title, industry, country)
        if key not in self._persona_ids:
            persona = self.personas.match(title, industry, country)
            self._persona_ids[key] = persona.pk if persona is not None else None
        return self._persona_ids[key]


@dataclass
class TakenIn:
    """What one take-in did: counts, and the lead id of every row's email."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    lead_ids: dict[str, int] = field(default_factory=dict)
    created_ids: list[int] = field(default_factory=list)


def write_import(
    batch: ImportBatch,
    cleaned: Cleaned,
    *,
    progress: Callable[[ImportBatch], None] | None = None,
) -> Summary:
    """Take a cleaned file in for a batch, CHUNK rows per short transaction.

    Safe to run again for the same batch (after a crash, or twice): leads are
    matched by email, leads this batch created count as created, and what it
    did to other leads is read back from ImportChange rows.
    """
    entry = Entry.prepare(
        channel=batch.channel,
        campaign=batch.campaign,
        touch=TouchPoint.list_import(batch),
        batch=batch,
    )
    summary = Summary(
        total=cleaned.total, issues=list(cleaned.issues), warnings=list(cleaned.warnings)
    )
    done = len(cleaned.issues)
    batch.rejected = len(cleaned.issues)
    for part in in_chunks(cleaned.rows, CHUNK):
        for attempt in range(3):
            try:
                taken = take_in_leads(entry, part)
                break
            except IntegrityError:
                # Another import created one of these emails meanwhile: read again.
                if attempt == 2:
                    raise
        summary.created += taken.created
        summary.updated += taken.updated
        summary.unchanged += taken.unchanged
        done += len(part)
        ImportBatch.objects.filter(pk=batch.pk).update(
            heartbeat_at=timezone.now(),
            rows_done=done,
            created=summary.created,
            updated=summary.updated,
            unchanged=summary.unchanged,
            rejected=summary.rejected,
        )
        batch.rows_done, batch.created = done, summary.created
        batch.updated, batch.unchanged = summary.updated, summary.unchanged
        if progress is not None:
            progress(batch)
    return summary


def take_in_leads(entry: Entry, rows: Sequence[CleanRow]) -> TakenIn:
    """Create or update the leads of cleaned rows (unique emails), in one transaction.

    New leads enter the entry's stage with its clock running, get routed (Assignment
    rows with rule and reason) and a touch point with the campaign; existing leads get
    their empty fields filled and the touch point (once per key).
    """
    batch, now, touch = entry.batch, entry.at, entry.touch
    taken = TakenIn()
    with transaction.atomic():
        existing = _existing([r.email for r in rows], lock=True)
        domains = [company_domain(r.email, r.values.get("website", "")) for r in rows]
        accounts = _accounts_for(batch, rows, domains, existing)
        ids = list({lead.pk for lead in existing.values()})
        changes: dict[int, ImportChange] = {}
        appeared: set[int] = set()
        for part in in_chunks(ids, IN_CHUNK):
            if batch is not None:
                changes.update(
                    (c.lead_id, c)
                    for c in ImportChange.objects.filter(batch=batch, lead_id__in=part)
                )
            if touch.once_key:
                appeared.update(
                    Activity.objects.filter(lead_id__in=part, once_key=touch.once_key).values_list(
                        "lead_id", flat=True
                    )
                )
        new_leads: list[_NewLead] = []
        new_changes: list[tuple[Any, ...]] = []
        activities: list[tuple[Any, ...]] = []
        updates: dict[tuple[str, ...], list[Lead]] = {}
        met: set[int] = set()
        for row, domain in zip(rows, domains, strict=True):
            lead = existing.get(row.email)
            values = row.values
            if lead is None:
                new_leads.append(_new_lead(entry, row, accounts.get(domain)))
                taken.created += 1
                continue
            taken.lead_ids[row.email] = lead.pk
            if lead.pk in met:
                taken.unchanged += 1  # another address of a lead already met in these rows
                continue
            met.add(lead.pk)
            if batch is not None and lead.source_batch_id == batch.pk:
                taken.created += 1  # created by an earlier run of this same batch
                continue
            if lead.pk in changes:
                if changes[lead.pk].filled:
                    taken.updated += 1
                else:
                    taken.unchanged += 1
                continue
            filled = fill_values(lead, values)
            if lead.account_id is None and domain in accounts:
                filled["account_id"] = accounts[domain]
            if lead.persona_id is None:
                merged = {name: getattr(lead, name) or values.get(name, "") for name in FILL_FIELDS}
                persona_id = entry.persona_id(
                    merged["title"], merged["industry"], merged["country"]
                )
                if persona_id is not None:
                    filled["persona_id"] = persona_id
            for name, value in filled.items():
                setattr(lead, name, value)
            write_activity = lead.pk not in appeared
            if filled:
                updates.setdefault(tuple(sorted(filled)), []).append(lead)
                taken.updated += 1
            else:
                taken.unchanged += 1
            # Every existing lead a batch meets is recorded: a revert of the batch that
            # created it then knows another list contained it, even one that changed nothing.
            if batch is not None:
                new_changes.append((batch.pk, lead.pk, json.dumps(filled), write_activity))
            if write_activity:
                activities.append(_activity_row(entry, lead.pk, row))
        # An MQL (or any lead with a running clock) gets an owner decision even when no
        # routing rule matches: the lead desk, with that reason.
        decide = entry.clock != NO_CLOCK or entry.stage == Stage.MQL
        routes = routing.route_leads(new_leads, at=now, desk_when_unmatched=decide)
        created_ids = _insert_leads(entry, new_leads)
        # Stamped when written, not when a long import began: the API's change feed
        # (api.sync) serves changes in this order and must not find one behind it.
        written = timezone.now()
        for fields, leads in updates.items():
            update_rows(
                Lead,
                [*fields, "updated_at"],
                [(lead.pk, *[getattr(lead, name) for name in fields], written) for lead in leads],
                increment=("version",),
            )
            if set(fields) & set(STAMPED):  # a persona or title filled: the ledger's rows follow
                restamp_lead_facts([lead.pk for lead in leads])
            if set(fields) & set(PERSON_FIELDS):  # a name, company or phone: the search's text
                restamp_search_text([lead.pk for lead in leads])
        activities += [
            _activity_row(entry, created_ids[new.row.email], new.row) for new in new_leads
        ]
        insert_rows(Activity, ACTIVITY_COLUMNS, activities)
        if new_changes:
            insert_rows(ImportChange, ("batch", "lead", "filled", "wrote_activity"), new_changes)
        insert_rows(
            Assignment,
            ("lead", "to_owner", "at", "rule", "reason", "open_load"),
            [
                (created_ids[r.lead.row.email], r.to_owner_id, now, r.rule, r.reason, r.open_load)
                for r in routes
            ],
        )
        ledger.append_rows(_ledger_rows(entry, new_leads, routes, activities, created_ids))
    taken.lead_ids.update(created_ids)
    taken.created_ids = [created_ids[new.row.email] for new in new_leads]
    return taken


def _ledger_rows(
    entry: Entry,
    new_leads: Sequence[_NewLead],
    routes: Sequence[routing.Route],
    touch_points: Sequence[tuple[Any, ...]],
    created_ids: dict[str, int],
) -> list[tuple[Any, ...]]:
    """The take-in's ledger: each new lead entered its stage (and started its clock), each
    route assigned one, and each touch point with a campaign is one."""
    now, rows = entry.at, []
    started, due = entry.clock[0], entry.clock[1]
    for new in new_leads:
        lead_id = created_ids[new.row.email]
        rows.append(
            ledger.row(lead_id, Kind.STAGE_ENTERED, now, stage=entry.stage, owner_id=new.owner_id)
        )
        if started is not None:
            rows.append(
                ledger.row(
                    lead_id,
                    Kind.CLOCK_STARTED,
                    now,
                    owner_id=new.owner_id,
                    started_at=started,
                    due_at=due,
                )
            )
    rows += [
        ledger.row(
            created_ids[r.lead.row.email],
            Kind.ASSIGNED,
            now,
            owner_id=r.to_owner_id,
            held_stage=entry.stage,
        )
        for r in routes
    ]
    if entry.campaign is not None:
        rows += [
            # The touch point's time is its activity's (ACTIVITY_COLUMNS: lead, …, occurred_at).
            ledger.row(point[0], Kind.TOUCH_POINT, point[3], campaign_id=entry.campaign.pk)
            for point in touch_points
        ]
    return rows


class _NewLead:
    """A lead a take-in creates, before it has an id: what routing reads and sets, and its row."""

    __slots__ = ("account_id", "assigned_at", "channel_id", "owner_id", "persona_id", "row")

    def __init__(
        self, row: CleanRow, persona_id: int | None, account_id: int | None, channel_id: int
    ) -> None:
        self.row = row
        self.persona_id = persona_id
        self.account_id = account_id
        self.channel_id = channel_id
        self.owner_id: int | None = None
        self.assigned_at: dt.datetime | None = None

    @property
    def country(self) -> str:
        return self.row.values.get("country", "")


def _new_lead(entry: Entry, row: CleanRow, account_id: int | None) -> _NewLead:
    values = row.values
    persona_id = entry.persona_id(
        values.get("title", ""), values.get("industry", ""), values.get("country", "")
    )
    return _NewLead(row, persona_id, account_id, entry.channel.pk)


LEAD_COLUMNS = (
    "email",
    *FILL_FIELDS,
    "stage",
    "channel",
    "campaign",
    "persona",
    "account",
    "source_batch",
    "created_at",
    "stage_entered_at",
    "owner",
    "assigned_at",
    "sla_started_at",
    "sla_due_at",
    "sla_status",
    "sla_rule",
    "sla_agreement",
)
ACTIVITY_COLUMNS = (
    "lead",
    "side",
    "kind",
    "occurred_at",
    "subject",
    "body",
    "once_key",
    "campaign",
)


def _insert_leads(entry: Entry, new_leads: Sequence[_NewLead]) -> dict[str, int]:
    """Write the new leads as plain rows (no model instances); email → id."""
    if not new_leads:
        return {}
    now = entry.at
    fixed = (
        entry.stage,
        entry.channel.pk,
        entry.campaign.pk if entry.campaign is not None else None,
    )
    batch_id = entry.batch.pk if entry.batch is not None else None
    rows = [
        (
            new.row.email,
            *[new.row.values.get(name, "") for name in FILL_FIELDS],
            *fixed,
            new.persona_id,
            new.account_id,
            batch_id,
            now,
            now,
            new.owner_id,
            new.assigned_at,
            *entry.clock,
        )
        for new in new_leads
    ]
    ids = dict(insert_rows(Lead, LEAD_COLUMNS, rows, returning=("email", "id")))
    person = [LEAD_COLUMNS.index(name) for name in PERSON_FIELDS]
    texts = [(ids[row[0]], search_text(*(row[i] for i in person))) for row in rows]
    insert_rows(LeadSearch, ("lead", "text"), texts)
    return ids


def _activity_row(entry: Entry, lead_id: int, row: CleanRow) -> tuple[Any, ...]:
    """One touch point on a lead, in ACTIVITY_COLUMNS order: at the row's own time of the
    touch (a webinar's registration) when the file gives one, else the take-in's."""
    touch = entry.touch
    body = f"{touch.body}, row {row.row}." if touch.with_row else touch.body
    when = row.values.get("activity_time")
    return (
        lead_id,
        touch.side,
        touch.kind,
        dt.datetime.fromisoformat(when) if when else entry.at,
        touch.subject,
        body,
        touch.once_key,
        entry.campaign.pk if entry.campaign is not None else None,
    )


def _accounts_for(
    batch: ImportBatch | None,
    rows: Sequence[CleanRow],
    domains: Sequence[str],
    existing: dict[str, Lead],
) -> dict[str, int]:
    """Domain → account id for the rows that need one, creating missing accounts."""
    wanted: dict[str, CleanRow] = {}
    for row, domain in zip(rows, domains, strict=True):
        lead = existing.get(row.email)
        if lead is not None and lead.account_id is not None:
            continue
        if domain and domain not in wanted:
            wanted[domain] = row
    if not wanted:
        return {}
    found: dict[str, int] = {}
    found.update(Account.objects.filter(domain__in=json_values(wanted)).values_list("domain", "id"))
    missing = [domain for domain in wanted if domain not in found]
    if missing:
        new = dict(
            insert_rows(
                Account,
                ("name", "domain", "industry", "country"),
                [
                    (
                        (wanted[domain].values.get("company") or domain)[:200],
                        domain,
                        wanted[domain].values.get("industry", "")[:100],
                        wanted[domain].values.get("country", ""),
                    )
                    for domain in missing
                ],
                returning=("domain", "id"),
            )
        )
        found.update(new)
        if batch is not None:
            # The revert deletes the accounts its batch created (when nothing uses them).
            created = list(batch.accounts_created) + [new[domain] for domain in missing]
            ImportBatch.objects.filter(pk=batch.pk).update(accounts_created=created)
            batch.accounts_created = created
    return found
