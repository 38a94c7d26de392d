"""Leads and their lifecycle.

The lifecycle's stage graph lives in `Lead`, top to bottom: each transition
says where it comes from, where it goes, who may run it and what it needs.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django_fsm import FSMField, FSMModelMixin, transition

from agreements import roles
from agreements.stages import CLOSED_STAGES, OPEN_STAGES, SALES_STAGES, Stage
from agreements.touches import DEFAULT_TOUCH_KINDS, TOUCH_LABELS
from config.db import in_chunks, insert_rows


class LeadError(Exception):
    """A business rule refused the operation; the message is fit to show the user."""


class StaleLead(LeadError):
    """The lead changed since the user loaded it."""

    def __init__(self, message: str = "") -> None:
        super().__init__(
            message
            or "This lead was changed by someone else while you were looking at it. "
            "Reload it to see the latest version; nothing was saved."
        )


def normalize_email(value: str | None) -> str:
    """The lead's identity: trimmed and lower-cased."""
    return (value or "").strip().lower()


class Team(models.Model):
    """A sales team and its manager; routing sends leads to a team, then to one of its reps."""

    name = models.CharField(max_length=100, unique=True)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="managed_teams",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RepProfile(models.Model):
    """Routing facts about a sales rep: team, away flag and how many open leads they can hold."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="rep_profile"
    )
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="reps")
    is_away = models.BooleanField(default=False, help_text="Away reps get no new leads.")
    open_lead_cap = models.PositiveIntegerField(default=500)

    def __str__(self) -> str:
        return f"{self.user} ({self.team})"


class Account(models.Model):
    """A company; leads are matched to it by their email or website domain."""

    name = models.CharField(max_length=200)
    domain = models.CharField(max_length=200, unique=True, null=True, blank=True)
    industry = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Campaign(models.Model):
    """A marketing campaign within a channel, with its cost and dates."""

    name = models.CharField(max_length=200, unique=True)
    channel = models.ForeignKey("agreements.Channel", on_delete=models.PROTECT)
    cost = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-starts_on", "name"]

    def __str__(self) -> str:
        return self.name


# --- Who may run a transition ------------------------------------------------
# django-fsm calls these with (lead, user); user is never None here, because
# system actions (imports, intake, the SLA engine) bypass the permission check.


def _is_sales_for(lead: Lead, user: Any) -> bool:
    """The lead's own rep, or a manager of the owner's team (or of the lead desk)."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    if roles.has_role(user, roles.SALES_REP) and lead.owner_id == user.pk:
        return True
    if roles.has_role(user, roles.SALES_MANAGER):
        if lead.owner_id is None or lead.owner_id == user.pk:
            return True
        # The lead page loads the owner's profile and team with the lead: no query here.
        profile = getattr(lead.owner, "rep_profile", None)
        return profile is not None and profile.team.manager_id == user.pk
    return False


# The reason of a junk disqualification (bot sign-ups, test entries): no feedback is asked,
# and marketing's feedback and acceptance figures leave it out (reports.figures.marketing).
JUNK_REASON = "Junk / spam"


def marketing_may(lead: Lead, user: Any) -> bool:
    """Marketing-owned moves: Marketing and Ops."""
    return roles.is_marketing(user)


def sales_may(lead: Lead, user: Any) -> bool:
    """Sales-owned moves: the lead's rep and the manager of the owner's team."""
    return _is_sales_for(lead, user)


def owner_side_may(lead: Lead, user: Any) -> bool:
    """Out of a marketing stage or nurture (shared): marketing or the lead's sales side;
    out of a sales stage: the sales side only."""
    if lead.stage not in SALES_STAGES and roles.is_marketing(user):
        return True
    return _is_sales_for(lead, user)


def manager_or_ops_may(lead: Lead, user: Any) -> bool:
    """Ops, or a sales manager who may act for the lead (the owner's team, or the lead desk)."""
    if roles.has_role(user, roles.OPS):
        return True
    return roles.has_role(user, roles.SALES_MANAGER) and _is_sales_for(lead, user)


def channel_allows_cold_prospecting(lead: Lead) -> bool:
    return lead.channel is not None and lead.channel.allows_cold_prospecting


class LeadQuerySet(models.QuerySet):
    def open(self) -> LeadQuerySet:
        return self.filter(stage__in=OPEN_STAGES)

    def visible_to(self, user: Any) -> LeadQuerySet:
        """The leads a user may see: reps their own, managers their teams' and the desk."""
        if user.is_superuser or roles.has_role(user, roles.OPS, roles.MARKETING):
            return self
        if roles.has_role(user, roles.SALES_MANAGER):
            return self.filter(
                models.Q(owner__isnull=True)
                | models.Q(owner=user)
                | models.Q(owner__rep_profile__team__manager=user)
            )
        if roles.has_role(user, roles.SALES_REP):
            return self.filter(owner=user)
        return self.none()


class CurrentLeadManager(models.Manager.from_queryset(LeadQuerySet)):  # type: ignore[misc]
    """Every lead except those merged into another (customers.merge).

    A merged lead keeps its row, so its old id redirects and an undo restores it, but it
    is nobody's lead any more: being the default manager, this keeps it out of every list,
    queue, report count, check and scan without each of them having to remember it.
    `Lead.with_merged` reaches it (the merge itself, its undo, the old id's redirect).
    """

    def get_queryset(self) -> LeadQuerySet:
        return super().get_queryset().filter(merged_into__isnull=True)


# django-fsm-2's FSMModelMixin.refresh_from_db turns the stage field's protection off and
# on again around Django's refresh, on the field object that every thread shares: two
# threads refreshing at once re-protect it under each other. Refreshes take turns (each is
# one read by primary key; re-entrant because a deferred field's load is a refresh too).
_REFRESHING = threading.RLock()


class Lead(FSMModelMixin, models.Model):
    """A person marketing or sales may sell to, one per normalized email."""

    class SLAStatus(models.TextChoices):
        NONE = "none", "No SLA"
        PENDING = "pending", "Clock running"
        MET = "met", "Met"
        BREACHED = "breached", "Breached"

    email = models.EmailField(max_length=254)  # unique: Meta.constraints
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    title = models.CharField(max_length=200, blank=True)
    company = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=50, blank=True)
    country = models.CharField(max_length=2, blank=True)
    industry = models.CharField(max_length=100, blank=True)
    website = models.CharField(max_length=200, blank=True)

    stage = FSMField(
        max_length=20, choices=Stage.choices, default=Stage.SUSPECT, protected=True
    )  # indexed in Meta.indexes
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="owned_leads",
        db_index=False,  # lead_owner_stage (owner, stage) serves every owner lookup
    )
    # Not indexed: a handful of channels and personas each hold a tenth of the leads or
    # more, so no query would use the index, and every lead write would pay for it.
    # Deleting one (rare, in the admin) scans the table instead.
    channel = models.ForeignKey(
        "agreements.Channel", on_delete=models.PROTECT, null=True, blank=True, db_index=False
    )
    campaign = models.ForeignKey(Campaign, on_delete=models.SET_NULL, null=True, blank=True)
    persona = models.ForeignKey(
        "agreements.Persona", on_delete=models.SET_NULL, null=True, blank=True, db_index=False
    )
    account = models.ForeignKey(Account, on_delete=models.SET_NULL, null=True, blank=True)
    source_batch = models.ForeignKey(
        "ImportBatch",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="created_leads",
        help_text="The list import that created this lead.",
    )

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    stage_entered_at = models.DateTimeField(default=timezone.now)
    assigned_at = models.DateTimeField(null=True, blank=True)
    first_touch_at = models.DateTimeField(null=True, blank=True)
    last_touch_at = models.DateTimeField(null=True, blank=True)
    sla_started_at = models.DateTimeField(
        null=True, blank=True, help_text="When the running (or last) SLA clock started."
    )
    sla_due_at = models.DateTimeField(null=True, blank=True)
    sla_status = models.CharField(max_length=10, choices=SLAStatus.choices, default=SLAStatus.NONE)
    # Indexed although no query filters by them: deleting a draft agreement (SET_NULL,
    # then Postgres's foreign key check per rule) would otherwise scan every lead.
    sla_rule = models.ForeignKey(
        "agreements.ResponseRule",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    sla_agreement = models.ForeignKey(
        "agreements.Agreement", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    nurture_until = models.DateField(null=True, blank=True)
    disqualify_reason = models.CharField(max_length=200, blank=True)
    version = models.PositiveIntegerField(
        default=1, help_text="Bumped on every save; a stale copy cannot overwrite a newer one."
    )

    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # lead_merged_into: a partial index holds only the merged few
        help_text="The lead this one was merged into; it is then out of every list.",
    )

    objects = CurrentLeadManager()
    with_merged = LeadQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        # Every index is rewritten when the SLA check breaches a lead (sla_status is in
        # lead_sla_pending_due's condition, so the update cannot be HOT): add one only
        # for a query or a delete that needs it (each costs the check about 2 µs per
        # breached lead on Postgres, and the import as much per new lead). No index on
        # company: the search's icontains cannot use one. email and stage are indexed here rather
        # than with unique=True / db_index=True, which on Postgres also build a
        # varchar_pattern_ops copy for LIKE 'x%' that no query runs.
        constraints = [models.UniqueConstraint(fields=["email"], name="lead_email_unique")]
        indexes = [
            # A rep's queue and the urgency counts (the queue's tabs, the team page) read
            # every open lead of an owner for its urgency bucket: on Postgres the columns
            # the buckets and the queue's order need ride in the index, so that is one
            # index-only pass (9 → 3.5 ms for a rep with 5,000 leads at 1,000,000).
            models.Index(
                fields=["owner", "stage"],
                include=[
                    "id",
                    "sla_status",
                    "sla_started_at",
                    "sla_due_at",
                    "last_touch_at",
                    "nurture_until",
                    "first_touch_at",
                    "created_at",
                    "merged_into",
                ],
                name="lead_owner_stage",
            ),
            models.Index(fields=["stage"], name="lead_stage"),
            models.Index(
                fields=["sla_due_at"],
                name="lead_sla_pending_due",
                condition=models.Q(sla_status="pending"),
            ),
            models.Index(
                fields=["nurture_until"],
                name="lead_nurture_due",
                condition=models.Q(stage="nurture"),
            ),
            # The API's change feed walks leads by (updated_at, id) from a cursor.
            models.Index(fields=["updated_at", "id"], name="lead_updated_at_id"),
            models.Index(
                fields=["merged_into"],
                name="lead_merged_into",
                condition=models.Q(merged_into__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def is_open(self) -> bool:
        return self.stage not in CLOSED_STAGES

    @property
    def is_sales_stage(self) -> bool:
        return self.stage in SALES_STAGES

    def get_absolute_url(self) -> str:
        return reverse("leads:detail", args=[self.pk])

    def refresh_from_db(self, *args: Any, **kwargs: Any) -> None:
        """Django's refresh with django-fsm-2's protection toggle, one thread at a time."""
        with _REFRESHING:
            super().refresh_from_db(*args, **kwargs)
        fields = kwargs.get("fields")
        if fields is None or _field_names(fields) >= STAMPED_NAMES:
            self._loaded_facts = self.facts()  # what the database holds now
        if fields is None or _field_names(fields) >= set(PERSON_FIELDS):
            self._loaded_person = self.person()

    @classmethod
    def from_db(cls, db: Any, field_names: Any, values: Any) -> Lead:
        lead = super().from_db(db, field_names, values)
        lead._loaded_facts = lead.facts()
        lead._loaded_person = lead.person()
        return lead

    def person(self) -> tuple[Any, ...]:
        """The fields its search text is made of (PERSON_FIELDS), as loaded or set."""
        return tuple(self.__dict__.get(name) for name in PERSON_FIELDS)

    def person_written(self, *, new: bool = False) -> None:
        """After writing the lead: its search text follows its names, email, company and
        phone, if they changed; a `new` lead gets its first."""
        if self.pk is None or getattr(self, "_loaded_person", None) == self.person():
            return
        if any(value is None for value in self.person()):  # a copy loaded without them
            restamp_search_text([self.pk])
        elif new:
            LeadSearch.objects.create(lead_id=self.pk, text=search_text(*self.person()))
        else:
            text = search_text(*self.person())
            if not LeadSearch.objects.filter(lead_id=self.pk).update(text=text):
                LeadSearch.objects.create(lead_id=self.pk, text=text)
        self._loaded_person = self.person()

    def facts(self) -> tuple[Any, ...]:
        """The lead's facts its ledger rows carry (STAMPED), as loaded or set."""
        return tuple(self.__dict__.get(name) for name in STAMPED)

    def facts_changed(self) -> bool:
        """Whether the facts its ledger rows carry differ from the ones it was loaded with
        (a copy not loaded from the database, or loaded without them, may have changed)."""
        return getattr(self, "_loaded_facts", None) != self.facts()

    def facts_written(self) -> None:
        """After writing the lead: its ledger rows take its facts, if they changed."""
        if self.pk is not None and self.facts_changed():
            restamp_lead_facts([self.pk])
        self._loaded_facts = self.facts()

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save with the email normalized and the version bumped (stale forms compare it);
        the lead's ledger rows take its facts when they changed."""
        self.email = normalize_email(self.email)
        updating = not self._state.adding and self.pk is not None
        loaded_version = self.version
        if updating:
            self.version += 1
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "version", "updated_at"}
        try:
            super().save(*args, **kwargs)
        except Exception:
            # Nothing was written: this copy keeps the version it was loaded at.
            self.version = loaded_version
            raise
        fields = kwargs.get("update_fields")
        if not updating:
            self._loaded_facts = self.facts()  # a new lead has no ledger rows yet
        elif fields is None or _field_names(fields) & STAMPED_NAMES:
            self.facts_written()
        if fields is None or _field_names(fields) & set(PERSON_FIELDS):
            self.person_written(new=not updating)

    def clean_fields(self, exclude: Any = None) -> None:
        # A protected FSM field cannot be reassigned, which full_clean() would do.
        exclude = set(exclude or ()) | {"stage"}
        super().clean_fields(exclude=exclude)

    # --- The lifecycle -----------------------------------------------------
    # Every transition takes `by` (the user, or None for the system) and an
    # optional `note`. leads.services.run_transition runs them: it records the
    # stage change, the clock and what a transition returns for the lead's deals.

    @transition(
        field=stage,
        source=Stage.SUSPECT,
        target=Stage.FAN,
        permission=marketing_may,
        custom={"label": "Mark as fan", "side": "marketing"},
    )
    def mark_fan(self, *, by: Any = None, note: str = "") -> None:
        """Suspect → Fan: the contact interacted with our content or site."""

    @transition(
        field=stage,
        source=[Stage.SUSPECT, Stage.FAN],
        target=Stage.IQL,
        permission=marketing_may,
        custom={"label": "Qualify information (IQL)", "side": "marketing"},
    )
    def qualify_information(self, *, by: Any = None, note: str = "") -> None:
        """Suspect/Fan → IQL: email verified and demographic fit confirmed."""

    @transition(
        field=stage,
        source=[Stage.SUSPECT, Stage.FAN, Stage.IQL, Stage.NURTURE],
        target=Stage.MQL,
        permission=marketing_may,
        custom={"label": "Hand-raise (MQL)", "side": "marketing"},
    )
    def hand_raise(self, *, by: Any = None, note: str = "") -> None:
        """→ MQL: a contact or demo request; starts the follow-up SLA clock."""
        self.nurture_until = None

    @transition(
        field=stage,
        source=[Stage.MQL, Stage.NURTURE],
        target=Stage.WORKING,
        permission=sales_may,
        custom={"label": "Start working", "side": "sales"},
    )
    def start_working(self, *, by: Any = None, note: str = "") -> None:
        """MQL/Nurture → Working: the first sales touch does this by itself."""
        self.nurture_until = None

    @transition(
        field=stage,
        source=Stage.IQL,
        target=Stage.WORKING,
        permission=sales_may,
        conditions=[channel_allows_cold_prospecting],
        custom={"label": "Start cold prospecting", "side": "sales"},
    )
    def start_prospecting(self, *, by: Any = None, note: str = "") -> None:
        """IQL → Working: only for leads whose channel allows cold prospecting."""

    @transition(
        field=stage,
        source=Stage.WORKING,
        target=Stage.SQL,
        permission=sales_may,
        custom={"label": "Accept (SQL)", "side": "sales"},
    )
    def accept(self, *, by: Any = None, note: str = "") -> None:
        """Working → SQL: sales confirmed the data and the qualification."""

    @transition(
        field=stage,
        source=Stage.SQL,
        target=Stage.OPPORTUNITY,
        permission=sales_may,
        custom={"label": "Open opportunity", "side": "sales", "needs": "amount"},
    )
    def open_opportunity(
        self, *, by: Any = None, amount: Decimal | str | None = None, note: str = ""
    ) -> DealChange:
        """SQL → Opportunity: a deal is active; needs its amount."""
        return DealChange(open_amount=_positive_amount(amount))

    @transition(
        field=stage,
        source=Stage.OPPORTUNITY,
        target=Stage.CONVERTED,
        permission=sales_may,
        custom={"label": "Deal won (converted)", "side": "sales"},
    )
    def win(self, *, by: Any = None, note: str = "") -> DealChange:
        """Opportunity → Converted: the deal was won; converted is final."""
        return DealChange(close_as=Deal.Status.WON)

    @transition(
        field=stage,
        source=sorted(OPEN_STAGES),
        target=Stage.DISQUALIFIED,
        permission=owner_side_may,
        custom={"label": "Disqualify", "side": "either", "needs": "reason"},
    )
    def disqualify(self, *, by: Any = None, reason: str = "", note: str = "") -> DealChange | None:
        """Any open stage → Disqualified: a reason is required."""
        reason = (reason or "").strip()
        if not reason:
            raise LeadError("A reason is required to disqualify a lead.")
        self.disqualify_reason = reason[:200]
        self.nurture_until = None
        return self._lose_open_deals()

    @transition(
        field=stage,
        source=[Stage.MQL, Stage.WORKING, Stage.SQL, Stage.OPPORTUNITY],
        target=Stage.NURTURE,
        permission=owner_side_may,
        custom={"label": "Needs nurturing", "side": "either", "needs": "return_on"},
    )
    def nurture(
        self, *, by: Any = None, return_on: dt.date | str | None = None, note: str = ""
    ) -> DealChange | None:
        """→ Nurture: the buyer needs more time; a return date (in the future) is required."""
        if isinstance(return_on, str) and return_on:
            try:
                return_on = dt.date.fromisoformat(return_on)
            except ValueError as exc:
                raise LeadError("The return date must be a date like 2026-03-31.") from exc
        if not isinstance(return_on, dt.date):
            raise LeadError("A return date is required to put a lead in nurture.")
        if return_on <= timezone.localdate():
            raise LeadError("The return date must be in the future.")
        self.nurture_until = return_on
        return self._lose_open_deals()

    @transition(
        field=stage,
        source=Stage.DISQUALIFIED,
        target=Stage.SUSPECT,
        permission=manager_or_ops_may,
        custom={"label": "Reopen", "side": "either"},
    )
    def reopen(self, *, by: Any = None, note: str = "") -> None:
        """Disqualified → Suspect: a manager or ops reopens a lead."""
        self.disqualify_reason = ""

    def _lose_open_deals(self) -> DealChange | None:
        """Leaving Opportunity any other way than a win loses its open deals."""
        return DealChange(close_as=Deal.Status.LOST) if self.stage == Stage.OPPORTUNITY else None


# The lead's fields its search text is made of (LeadSearch).
PERSON_FIELDS = ("first_name", "last_name", "email", "company", "phone")


def search_text(first_name: str, last_name: str, email: str, company: str, phone: str) -> str:
    """What the search looks in for a lead: "first last|email|company|phone digits", in
    lower case (the search's terms are lower-cased the same way)."""
    digits = "".join(char for char in phone if char in "0123456789")
    return f"{first_name} {last_name}|{email}|{company}|{digits}".lower()


class LeadSearch(models.Model):
    """A lead's search text, beside the lead: the trigram index that finds it on Postgres
    (customers.sql) is rewritten when a name, email, company or phone changes, not each
    time the lead's stage, owner or clock does (a third of the SLA check's lead update)."""

    lead = models.OneToOneField(
        Lead, on_delete=models.CASCADE, primary_key=True, related_name="search"
    )
    text = models.TextField()

    def __str__(self) -> str:
        return self.text


def restamp_search_text(lead_ids: Any) -> None:
    """These leads' search texts from their fields now: called by whatever writes a
    lead's names, email, company or phone without Lead.save (the import, its revert, a
    merge and its undo)."""
    for part in in_chunks(sorted(set(lead_ids))):
        rows = Lead.with_merged.filter(pk__in=part).values_list("pk", *PERSON_FIELDS)
        texts = [(pk, search_text(*person)) for pk, *person in rows]
        LeadSearch.objects.filter(lead_id__in=part).delete()
        insert_rows(LeadSearch, ("lead", "text"), texts)


@dataclass(frozen=True)
class DealChange:
    """What a transition does to the lead's deals: open one for an amount, or close the open
    ones as won or lost. run_transition writes it after the lead is saved."""

    open_amount: Decimal | None = None
    close_as: str | None = None


# Deal.amount holds 14 digits, 2 of them after the point.
MAX_DEAL_AMOUNT = Decimal("999999999999.99")


def _positive_amount(amount: Decimal | str | None) -> Decimal:
    """A deal amount as typed by a person ("12,000.50"), or a LeadError saying what is wrong."""
    text = "" if amount is None else str(amount).strip().replace(",", "")
    if not text:
        raise LeadError("A deal amount is required to open an opportunity.")
    try:
        value = Decimal(text)
    except ArithmeticError as exc:
        raise LeadError("The deal amount must be a number, like 12000.") from exc
    if not value.is_finite():
        raise LeadError("The deal amount must be a number, like 12000.")
    if value <= 0:
        raise LeadError("The deal amount must be greater than zero.")
    if value > MAX_DEAL_AMOUNT:
        raise LeadError("The deal amount is too large.")
    return value.quantize(Decimal("0.01"))


class StageChange(models.Model):
    """One move through the lifecycle: who, when, from, to, why, under which agreement."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.CharField(max_length=20, choices=Stage.choices)
    to_stage = models.CharField(max_length=20, choices=Stage.choices)
    transition = models.CharField(max_length=50)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    note = models.TextField(blank=True)
    agreement = models.ForeignKey(
        "agreements.Agreement", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    stage_definition_version = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Version of the target stage's definition in force at the time "
        "(agreements.StageDefinition.words_at_version reads its words).",
    )

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["lead", "at"], name="stagechange_lead_at"),
            models.Index(fields=["to_stage", "at"], name="stagechange_stage_at"),
            # Reports: "did this lead reach/enter stage X (after T)?" from the index alone.
            models.Index(fields=["lead", "to_stage", "at"], name="stagechange_lead_stage_at"),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id}: {self.from_stage} → {self.to_stage}"


class Activity(models.Model):
    """One touch or action on a lead, by one side, shown on the lead's timeline."""

    class Side(models.TextChoices):
        MARKETING = "marketing", "Marketing"
        SALES = "sales", "Sales"
        CUSTOMER = "customer", "Customer"
        SYSTEM = "system", "System"

    class Kind(models.TextChoices):
        # The kinds of touch and their names: agreements.touches, where ops choose from them.
        EMAIL = "email", TOUCH_LABELS["email"]
        CALL = "call", TOUCH_LABELS["call"]
        MEETING = "meeting", TOUCH_LABELS["meeting"]
        SOCIAL = "social", TOUCH_LABELS["social"]
        NOTE = "note", "Note"
        SEQUENCE_STEP = "sequence_step", TOUCH_LABELS["sequence_step"]
        WEB_VISIT = "web_visit", "Web visit"
        CONTENT_DOWNLOAD = "content_download", "Content download"
        FORM = "form", "Form submission"
        WEBINAR = "webinar", "Webinar"
        LIST_IMPORT = "list_import", "Appeared in a list"
        ASSIGNMENT = "assignment", "Assignment"
        NURTURE_RETURN = "nurture_return", "Back from nurture"
        CONTENT_SHARED = "content_shared", "Content shared"
        CONTENT_OPENED = "content_opened", "Content opened"

    # What a rep logs as a touch; which of them count as a sales touch (DESIGN's "Sales
    # touch") the agreement in force says (Agreement.touch_kinds). A note never counts.
    SALES_TOUCH_KINDS = tuple(map(Kind, DEFAULT_TOUCH_KINDS))
    # Kinds a rep logs by hand: the sales touches and notes.
    LOGGED_KINDS = (*SALES_TOUCH_KINDS, Kind.NOTE)

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="activities")
    side = models.CharField(max_length=10, choices=Side.choices)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    occurred_at = models.DateTimeField(default=timezone.now)
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The campaign a marketing touch belongs to (for attribution).",
    )
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    is_touch = models.BooleanField(
        default=False, help_text="A human sales touch (counts for first touch and the SLA)."
    )
    once_key = models.CharField(
        max_length=100,
        blank=True,
        default="",
        editable=False,
        help_text="Set on system activities that must exist at most once per lead.",
    )

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "activities"
        indexes = [
            models.Index(fields=["lead", "occurred_at"], name="activity_lead_time"),
            # Reports count a lead's sales touches in a window: only touches, and is_touch
            # as a column too so SQLite answers from the index without reading the rows.
            models.Index(
                fields=["lead", "occurred_at", "is_touch"],
                name="activity_touch_lead_time",
                condition=models.Q(is_touch=True),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["lead", "once_key"],
                condition=~models.Q(once_key=""),
                name="activity_once_per_lead_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.lead_id}"


class LeadEvent(models.Model):
    """The ledger: one row per thing that happened to a lead, appended in the same
    transaction by the service that did it (leads.ledger). Reports count these rows."""

    class Kind(models.TextChoices):
        STAGE_ENTERED = "stage_entered", "Entered a stage"
        ASSIGNED = "assigned", "Assigned"
        SALES_TOUCH = "sales_touch", "Sales touch"
        TOUCH_POINT = "touch_point", "Marketing touch point"
        CLOCK_STARTED = "clock_started", "Clock started"
        CLOCK_MET = "clock_met", "Clock met"
        CLOCK_BREACHED = "clock_breached", "Clock breached"
        CLOCK_STOPPED = "clock_stopped", "Clock stopped"
        FIRST_TOUCH = "first_touch", "First touch on a clock"
        DEAL_OPENED = "deal_opened", "Deal opened"
        DEAL_WON = "deal_won", "Deal won"
        DEAL_LOST = "deal_lost", "Deal lost"
        FEEDBACK = "feedback", "Feedback to marketing"
        CONTENT_SHARED = "content_shared", "Content shared"
        CONTENT_OPENED = "content_opened", "Content opened"

    # The plain lead index stays beside (lead, kind, at): without it SQLite's planner read
    # the 1:1 report's "MQL entry in the range before" by a range of every entry instead.
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    at = models.DateTimeField()
    stage = models.CharField(
        max_length=20, choices=Stage.choices, blank=True, help_text="The stage entered."
    )
    from_stage = models.CharField(max_length=20, choices=Stage.choices, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        help_text="Who held the lead for this event (the new holder of an assignment; a "
        "clock's owner at its due time, or at the touch that met it). Empty: the lead desk.",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        help_text="Who did it; empty: the system.",
    )
    # The owner's rep profile (so its team), joined on the owner's id directly: a path
    # through `owner` joins the user table too, for nothing (the team figures' passes
    # were a third slower on SQLite for it). No column: `owner` is the link.
    owner_profile = models.ForeignObject(
        RepProfile,
        on_delete=models.DO_NOTHING,
        from_fields=["owner"],
        to_fields=["user"],
        null=True,
        related_name="+",
    )
    # Few rows carry a campaign or a deal: their indexes are partial (see Meta).
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    deal = models.ForeignKey(
        "Deal",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="events",
        db_index=False,
    )
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True, help_text="A clock's start.")
    due_at = models.DateTimeField(null=True, blank=True, help_text="A clock's due time.")
    # First touch on a clock, in business seconds: DESIGN's three times to first touch.
    customer_wait = models.PositiveIntegerField(null=True, blank=True)
    routing_delay = models.PositiveIntegerField(null=True, blank=True)
    rep_response = models.PositiveIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    # A tenure's story on its assignment row, settled by later events (leads.ledger).
    held_until = models.DateTimeField(
        null=True, blank=True, help_text="An assignment's end: the lead's next assignment."
    )
    untouched_for = models.DurationField(
        null=True,
        blank=True,
        help_text="How long an assignment went untouched: until the first of its end, the "
        "lead's close and the holder's first sales touch. Empty while it goes on untouched.",
    )
    # The lead's own facts a report groups and filters by, on each of its rows and kept in
    # step with the lead (Lead.save, leads.services, the import, its revert and a merge
    # restamp them: restamp_lead_facts): the marketing reports count the ledger by
    # channel, campaign and persona without joining a million leads. Copies of the lead's
    # own columns, whose foreign keys the database checks: not checked again on each of
    # the lead's rows (three lookups per row written; a tenth of the SLA check at 1 %).
    # Deleting a campaign or persona still empties them (on_delete, in Django).
    lead_channel = models.ForeignKey(
        "agreements.Channel",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
        help_text="The lead's channel (now).",
    )
    lead_campaign = models.ForeignKey(
        Campaign,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
        help_text="The lead's campaign (now), not a touch point's (campaign).",
    )
    lead_persona = models.ForeignKey(
        "agreements.Persona",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
        help_text="The lead's persona (now).",
    )
    # A disqualification's feedback reason, kept by leads.ledger (settle_feedback_reasons):
    # the reports count reasons from the entry's own row instead of looking up each
    # entry's feedback.
    feedback_reason = models.CharField(
        max_length=200,
        blank=True,
        help_text="A disqualification: the structured reason of the feedback given with it "
        "(the lead's first feedback with a reason at or after it, before its next stage); "
        "empty: none.",
    )
    # An MQL entry carries its lead's job title and stage now, kept in step with the lead
    # (restamp_entry_facts: after each stage entry, and wherever the title changes): the
    # 1:1 report counts the leads handed over by title and by where they are now without
    # looking up each lead.
    lead_title = models.CharField(
        max_length=200, blank=True, help_text="An MQL entry: its lead's job title (now)."
    )
    lead_stage = models.CharField(
        max_length=20,
        choices=Stage.choices,
        blank=True,
        help_text="An MQL entry: its lead's stage (now).",
    )
    # A deal's row (opened, won) says whether marketing influenced the deal, kept by
    # leads.ledger (settle_influence) after each touch point and deal: the pipeline counts
    # influenced deals from the row instead of looking up each deal's touch points.
    influenced = models.BooleanField(
        default=False,
        help_text="A deal opened or won: its lead had a touch point with a campaign before "
        "the deal opened.",
    )
    # An assignment's lead stage, kept by leads.ledger (keep_held_stage) whenever the lead
    # enters a stage or is assigned: the sales report counts the tenures still held by
    # their stage now from the tenure's own row, without reading a million leads.
    held_stage = models.CharField(
        max_length=20,
        choices=Stage.choices,
        blank=True,
        help_text="An assignment still held: the lead's stage now (one that ended keeps the "
        "stage it had then).",
    )
    # What became of an MQL entry (a stage entry into MQL), settled by later events
    # (leads.ledger.settle_outcomes): the time of the first of each at or after it.
    touched_at = models.DateTimeField(
        null=True, blank=True, help_text="An MQL entry's first sales touch since."
    )
    accepted_at = models.DateTimeField(
        null=True, blank=True, help_text="An MQL entry's first entry into Sales Qualified since."
    )
    disqualified_at = models.DateTimeField(
        null=True, blank=True, help_text="An MQL entry's first disqualification since."
    )
    junked_at = models.DateTimeField(
        null=True, blank=True, help_text="An MQL entry's first disqualification as junk since."
    )
    won_at = models.DateTimeField(
        null=True, blank=True, help_text="An MQL entry's first deal won since."
    )

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["kind", "at"], name="leadevent_kind_at"),
            # Stage figures (entered Working, MQL, a closing stage) read one stage's rows.
            models.Index(fields=["kind", "stage", "at"], name="leadevent_kind_stage_at"),
            models.Index(fields=["lead", "kind", "at"], name="leadevent_lead_kind_at"),
            # Clocks by due time; the lead and owner ride along, so the clocks a range
            # decided are counted from the index alone on Postgres (the sales report's
            # three passes over them 0.45 -> 0.24 s at 1 M).
            models.Index(
                fields=["kind", "due_at"],
                include=["lead", "owner"],
                name="leadevent_clock_due",
                condition=models.Q(due_at__isnull=False),
            ),
            # The sales report's bases, each read in one index-only pass on Postgres (the
            # pages of a range's tenures, first touches and touches hold everything it
            # counts); SQLite has no INCLUDE and keeps a plain partial index.
            models.Index(
                fields=["at"],
                include=["lead", "owner", "untouched_for", "held_until", "held_stage"],
                name="leadevent_tenures",
                condition=models.Q(kind="assigned"),
            ),
            # The first touches carry their own time too: the 1:1 report reads the ones
            # since a hand-over by it (its median customer wait 0.34 -> 0.17 s at 1 M).
            models.Index(
                fields=["due_at"],
                include=["lead", "owner", "customer_wait", "routing_delay", "rep_response", "at"],
                name="leadevent_first_touches",
                condition=models.Q(kind="first_touch"),
            ),
            models.Index(
                fields=["at"],
                include=["lead", "owner", "actor"],
                name="leadevent_sales_touches",
                condition=models.Q(kind="sales_touch"),
            ),
            # New leads (a lead's first stage entry, from no stage) without reading every
            # stage entry. Not partial on from_stage: SQLite's planner, which cannot see how
            # few rows that condition leaves, took the (kind, at) index instead (85 ms
            # against 15 ms per range at 100,000 leads); an equality on the first column it
            # weighs by its statistics. Postgres reads the same rows either way.
            models.Index(
                fields=["from_stage", "at", "lead"],
                include=["lead_channel", "lead_campaign", "lead_persona"],
                name="leadevent_new_leads",
                condition=models.Q(kind="stage_entered"),
            ),
            # The MQL entries, with what the marketing reports count of them (the lead,
            # its receiver, its outcomes, its facts, its title and stage): the delivered
            # MQLs of a range in one index-only pass, and "since it was handed over"
            # joined by hash instead of looked up per row (the 1:1 report's clocks
            # 0.82 -> 0.17 s at 1 M).
            models.Index(
                fields=["at"],
                include=[
                    "lead",
                    "owner",
                    "junked_at",
                    "touched_at",
                    "accepted_at",
                    "disqualified_at",
                    "won_at",
                    "lead_channel",
                    "lead_campaign",
                    "lead_persona",
                    "lead_title",
                    "lead_stage",
                ],
                name="leadevent_mql_entries",
                condition=models.Q(kind="stage_entered", stage="mql"),
            ),
            # A deal's rows and a campaign's touch points: a full index on either column
            # would hold every ledger row (8 M at 1 M leads) to find the few that have one,
            # and the planner walked it whole to join deals.
            models.Index(
                fields=["deal"], name="leadevent_deal", condition=models.Q(deal__isnull=False)
            ),
            models.Index(
                fields=["campaign"],
                name="leadevent_campaign",
                condition=models.Q(campaign__isnull=False),
            ),
            # "Did the lead have one before?" for each row a figure counts (a deal
            # influenced by a campaign's touch point, a closed lead with a deal or with
            # feedback): small partial indexes answer it from the index alone, where the
            # (lead, kind, at) index read the row for its campaign or reason (the pipeline's
            # deal figures 0.50 → 0.31 s, the delivery report's closed leads 0.43 → 0.24 s
            # at 1,000,000 leads on Postgres).
            models.Index(
                fields=["lead", "at"],
                name="leadevent_campaign_points",
                condition=models.Q(kind="touch_point", campaign__isnull=False),
            ),
            models.Index(
                fields=["lead", "at"],
                name="leadevent_deals_opened",
                condition=models.Q(kind="deal_opened"),
            ),
            models.Index(
                fields=["lead", "at"],
                name="leadevent_reasoned_feedback",
                condition=models.Q(kind="feedback") & ~models.Q(reason=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id}: {self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M}"


# A lead's facts its ledger rows carry: the lead's attname → the ledger row's.
LEAD_FACTS = ("channel_id", "campaign_id", "persona_id")
LEDGER_FACTS = {name: f"lead_{name}" for name in LEAD_FACTS}
FACT_NAMES = {name.removesuffix("_id") for name in LEAD_FACTS}
# A lead's fields its MQL entries carry too (restamp_entry_facts): the lead's → the row's.
ENTRY_FACTS = {"title": "lead_title", "stage": "lead_stage"}
# The lead's fields whose change restamps its rows (the stage changes through its ledger).
STAMPED = (*LEAD_FACTS, "title")
# An MQL entry: a stage entry into MQL (leads.ledger keeps what became of it).
MQL_ENTRY = {"kind": LeadEvent.Kind.STAGE_ENTERED, "stage": Stage.MQL}


def _field_names(fields: Any) -> set[str]:
    """Field names given as names or attnames ("persona" or "persona_id"), as names."""
    return {name.removesuffix("_id") for name in fields}


STAMPED_NAMES = _field_names(STAMPED)


def _from_the_lead(columns: dict[str, str]) -> dict[str, models.Subquery]:
    """Ledger columns (the lead's field → the row's) as their lead's values now."""
    lead = Lead.with_merged.filter(pk=models.OuterRef("lead_id"))
    return {column: models.Subquery(lead.values(name)[:1]) for name, column in columns.items()}


def restamp_lead_facts(lead_ids: Any) -> None:
    """Every ledger row of these leads takes its lead's facts now (channel, campaign,
    persona; title and stage on its MQL entries): called by whatever writes those facts of
    existing leads without Lead.save (leads.services' guarded write, the import's updates
    and its revert, a merge)."""
    ids = sorted(set(lead_ids))
    facts = _from_the_lead(LEDGER_FACTS)
    for part in in_chunks(ids):
        LeadEvent.objects.filter(lead_id__in=part).update(**facts)
    restamp_entry_facts(ids)


def restamp_entry_facts(lead_ids: Any) -> None:
    """These leads' MQL entries take their lead's title and stage now (ENTRY_FACTS):
    called after each stage entry (leads.ledger) and by restamp_lead_facts."""
    facts = _from_the_lead(ENTRY_FACTS)
    entries = LeadEvent.objects.filter(**MQL_ENTRY)
    for part in in_chunks(sorted(set(lead_ids))):
        entries.filter(lead_id__in=part).update(**facts)


class Deal(models.Model):
    """A sales opportunity on a lead: amount and outcome."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="deals")
    account = models.ForeignKey(Account, on_delete=models.SET_NULL, null=True, blank=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    status = models.CharField(max_length=5, choices=Status.choices, default=Status.OPEN)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    opened_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        indexes = [models.Index(fields=["opened_at"], name="deal_opened_at")]

    def __str__(self) -> str:
        return f"{self.amount} ({self.get_status_display()})"


class Feedback(models.Model):
    """What sales tells marketing about a lead: fit, reason codes and free text."""

    class Fit(models.TextChoices):
        GOOD = "good", "Good fit"
        PARTIAL = "partial", "Partial fit"
        POOR = "poor", "Poor fit"

    class Reason(models.TextChoices):
        BAD_DATA = "bad_data", "Bad data (wrong email/phone)"
        WRONG_PERSONA = "wrong_persona", "Wrong persona or title"
        NO_BUDGET = "no_budget", "No budget"
        NO_ENGAGEMENT = "no_engagement", "No engagement"
        COMPETITOR = "competitor", "Competitor or chose a competitor"
        NOT_A_FIT = "not_a_fit", "Company not a fit"
        WRONG_MESSAGE = "wrong_message", "Message did not match their need"
        DUPLICATE = "duplicate", "Duplicate"
        OTHER = "other", "Other"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="feedback")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    fit = models.CharField(max_length=10, choices=Fit.choices, blank=True)
    reason = models.CharField(max_length=20, choices=Reason.choices, blank=True)
    text = models.TextField(blank=True)
    reply_to = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="replies"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        verbose_name_plural = "feedback"

    def __str__(self) -> str:
        return f"Feedback on {self.lead_id}: {self.get_reason_display() or self.fit}"


class Assignment(models.Model):
    """Each time a lead gets an owner (or loses one): who, to whom, by which rule, and why.

    Routing, manual reassignment and SLA escalation all write one, so a manager can
    answer "why did she get this lead?".
    """

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="assignments")
    from_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    to_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty: the lead went to the lead desk.",
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty: the system (routing or the SLA engine).",
    )
    at = models.DateTimeField(default=timezone.now)
    rule = models.CharField(max_length=200, blank=True, help_text="The routing rule that matched.")
    reason = models.TextField(blank=True)
    open_load = models.PositiveIntegerField(
        null=True, blank=True, help_text="The new owner's open leads at that moment."
    )

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["lead", "at"], name="assignment_lead_at"),
            models.Index(fields=["at"], name="assignment_at"),  # reports: assigned in a range
        ]

    def __str__(self) -> str:
        return f"{self.lead_id}: {self.from_owner_id} → {self.to_owner_id}"


# --- Lead intake: list imports, routing rules and intake tokens ---------------


class ImportBatch(models.Model):
    """One uploaded lead list: who, when, which file and channel, and what the import did."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        REVERTED = "reverted", "Reverted"

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    file_name = models.CharField(max_length=255)
    file_size = models.PositiveBigIntegerField(default=0)
    checksum = models.CharField(max_length=64, db_index=True, help_text="SHA-256 of the file.")
    channel = models.ForeignKey("agreements.Channel", on_delete=models.PROTECT)
    campaign = models.ForeignKey(Campaign, on_delete=models.SET_NULL, null=True, blank=True)
    preset = models.CharField(max_length=40, blank=True, help_text="The export format detected.")
    mapping = models.JSONField(default=dict, blank=True, help_text="Header → column.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UPLOADED)
    preview = models.JSONField(default=dict, blank=True, help_text="Counts of the dry run.")
    total_rows = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, help_text="Why the whole file failed, if it did.")
    heartbeat_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The last sign of life of the worker running it (or when it was queued).",
    )
    attempts = models.PositiveIntegerField(
        default=0, help_text="How many times a worker started (or resumed) it."
    )
    requeued_at = models.DateTimeField(
        null=True, blank=True, help_text="When it was last queued again after it stalled."
    )
    reverted_at = models.DateTimeField(null=True, blank=True)
    reverted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revert_kept = models.JSONField(
        default=list, blank=True, help_text="Leads the revert kept because a rep worked them."
    )
    accounts_created = models.JSONField(
        default=list, blank=True, help_text="Ids of the accounts this batch created."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "import batches"

    def __str__(self) -> str:
        return f"{self.file_name} ({self.created_at:%Y-%m-%d %H:%M})"

    def get_absolute_url(self) -> str:
        return reverse("leads:import_detail", args=[self.pk])

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED, self.Status.REVERTED)

    @property
    def list_name(self) -> str:
        """The list as people call it: the campaign if there is one, else the file name."""
        return self.campaign.name if self.campaign_id else self.file_name

    @property
    def is_stalled(self) -> bool:
        """Queued or running, but no sign of a worker for IMPORT_STALLED_AFTER seconds."""
        if self.status not in (self.Status.QUEUED, self.Status.RUNNING):
            return False
        last_sign = self.heartbeat_at or self.started_at or self.created_at
        return last_sign < timezone.now() - dt.timedelta(seconds=settings.IMPORT_STALLED_AFTER)

    @property
    def is_resuming(self) -> bool:
        """Queued again after the worker running it stopped (the sweeper or a retry)."""
        return self.status == self.Status.QUEUED and self.attempts > 0


class ImportUpload(models.Model):
    """The bytes of a batch's uploaded file, where every web process and worker reads them:
    in the database (`data`), or in the "imports" storage when one is configured (`name`)."""

    batch = models.OneToOneField(
        ImportBatch, on_delete=models.CASCADE, primary_key=True, related_name="upload"
    )
    data = models.BinaryField(blank=True, default=b"")
    name = models.CharField(
        max_length=300,
        blank=True,
        help_text='Its name in the "imports" storage; empty: the bytes are in the database.',
    )
    size = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"upload of batch {self.batch_id}"


class ImportRowError(models.Model):
    """A row the import rejected: where it is in the file and why."""

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="row_errors")
    row = models.PositiveIntegerField(help_text="Row number in the file (the header is row 1).")
    column = models.CharField(max_length=200, blank=True)
    reason = models.CharField(max_length=500)
    values = models.JSONField(default=list, blank=True, help_text="The row's cells as read.")

    class Meta:
        ordering = ["batch", "row", "id"]

    def __str__(self) -> str:
        return f"row {self.row}: {self.reason}"


class ImportChange(models.Model):
    """What a batch did to each existing lead it met: fields it filled, the activity it wrote.

    Revert reads these to restore the lead; re-runs read them to stay idempotent.
    """

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="changes")
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="+")
    filled = models.JSONField(default=dict, blank=True, help_text="Field → the value written.")
    wrote_activity = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["batch", "lead"], name="one_change_per_batch_lead")
        ]

    def __str__(self) -> str:
        return f"batch {self.batch_id} → lead {self.lead_id}"


class SavedMapping(models.Model):
    """A hand-made header mapping, saved under a name for the next file of the same kind."""

    name = models.CharField(max_length=100, unique=True)
    mapping = models.JSONField(default=dict, help_text="Header → column (or empty: ignore).")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RoutingRule(models.Model):
    """Sends new leads that match (persona, country, channel; empty = any) to a team."""

    name = models.CharField(max_length=100, unique=True)
    priority = models.PositiveIntegerField(default=100, help_text="Lower numbers are tried first.")
    persona = models.ForeignKey(
        "agreements.Persona", on_delete=models.CASCADE, null=True, blank=True
    )
    country = models.CharField(
        max_length=200, blank=True, help_text="Comma-separated ISO country codes; empty: any."
    )
    channel = models.ForeignKey(
        "agreements.Channel", on_delete=models.CASCADE, null=True, blank=True
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="routing_rules")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["priority", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def countries(self) -> set[str]:
        return {c.strip().upper() for c in self.country.split(",") if c.strip()}

    def matches(self, lead: Lead) -> bool:
        """True when every condition the rule sets holds for the lead."""
        if self.persona_id is not None and lead.persona_id != self.persona_id:
            return False
        if self.channel_id is not None and lead.channel_id != self.channel_id:
            return False
        countries = self.countries
        return not countries or (lead.country or "").upper() in countries


class RoutingCursor(models.Model):
    """One row per team, locked while routing, so concurrent imports take turns fairly."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, primary_key=True)
    last_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.team_id}: last {self.last_owner_id}"


class IntakeToken(models.Model):
    """A secret that lets one website form or tool post leads into one channel."""

    channel = models.ForeignKey(
        "agreements.Channel", on_delete=models.CASCADE, related_name="intake_tokens"
    )
    name = models.CharField(max_length=100, help_text="Who uses it, e.g. “Website demo form”.")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=12, editable=False, help_text="To recognise it.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["channel", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class IntakeSubmission(models.Model):
    """One accepted post to the intake endpoint; its key makes retries harmless."""

    token = models.ForeignKey(IntakeToken, on_delete=models.CASCADE, related_name="submissions")
    dedupe_key = models.CharField(max_length=200)
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="+")
    created_lead = models.BooleanField(default=False)
    received_at = models.DateTimeField(default=timezone.now)
    payload = models.JSONField(default=dict)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["token", "dedupe_key"], name="one_submission_per_key")
        ]

    def __str__(self) -> str:
        return f"{self.token_id}: lead {self.lead_id} at {self.received_at:%Y-%m-%d %H:%M}"


class LeadAlias(models.Model):
    """Another address of a lead: a merged lead's email, so that later imports, web-to-lead
    and API posts for it land on the lead it was merged into (leads.importing.writer)."""

    email = models.EmailField(max_length=254)  # unique: Meta.constraints
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="aliases")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["email"]
        verbose_name_plural = "lead aliases"
        constraints = [models.UniqueConstraint(fields=["email"], name="lead_alias_email_unique")]

    def __str__(self) -> str:
        return f"{self.email} → lead {self.lead_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.email = normalize_email(self.email)
        super().save(*args, **kwargs)
