"""What marketing and sales agreed: channels, personas, the calendar and the SLA versions."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from simple_history.models import HistoricalRecords

from agreements.stages import STAGE_LEVEL, Stage

from . import content as signed_content
from .calendar import CalendarError, CalendarSpec, parse_working_days
from .touches import DEFAULT_TOUCH_KINDS, default_touch_kinds


class AgreementError(Exception):
    """An agreement operation was refused; the message is fit to show the user."""


class OwnerTeam(models.TextChoices):
    """Which side owns a stage or a term."""

    MARKETING = "marketing", "Marketing"
    MARKETING_COLD = "marketing_cold", "Marketing (+ Sales if cold prospecting)"
    SALES = "sales", "Sales"
    BOTH = "both", "Sales + Marketing"
    NONE = "none", "n/a"


class SignedContent(models.Model):
    """A row that is part of what an agreement version's signatures cover.

    Saving or deleting it is refused while a version holding it is active or
    superseded. In a signed draft it clears both signatures, in the same
    transaction, unless the draft's content still reads as signed (its digest).
    """

    PART_NAME: ClassVar[str] = "Part"

    class Meta:
        abstract = True

    def holder_ids(self) -> set[int]:
        """The agreement versions whose content holds this row, as stored and as edited."""
        raise NotImplementedError

    def refuse_unless_draft(self) -> None:
        """Raise AgreementError when a version holding this row is no longer a draft."""
        Agreement.refuse_changes_unless_draft(self.holder_ids())

    def clean(self) -> None:
        try:
            self.refuse_unless_draft()
        except AgreementError as exc:
            raise ValidationError(str(exc)) from exc

    def save(self, *args: Any, **kwargs: Any) -> None:
        verb = "added" if self._state.adding or self.pk is None else "changed"
        with transaction.atomic():
            holders = self.holder_ids()
            Agreement.refuse_changes_unless_draft(holders)
            super().save(*args, **kwargs)
            Agreement.content_changed(holders, f"{self.PART_NAME} “{self}” was {verb}.")

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        with transaction.atomic():
            holders = self.holder_ids()
            Agreement.refuse_changes_unless_draft(holders)
            reason = f"{self.PART_NAME} “{self}” was removed."
            result = super().delete(*args, **kwargs)
            Agreement.content_changed(holders, reason)
        return result


class VersionPart(SignedContent):
    """A row that belongs to exactly one agreement version (its `agreement`)."""

    class Meta:
        abstract = True

    def holder_ids(self) -> set[int]:
        ids = {self.agreement_id} - {None}
        if self.pk is not None and not self._state.adding:
            stored = type(self).objects.filter(pk=self.pk).values_list("agreement_id", flat=True)
            ids |= set(stored) - {None}
        return ids

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            moved_from = (
                type(self).objects.filter(pk=self.pk).values_list("agreement_id", flat=True)
            )
            if moved_from and moved_from[0] not in (None, self.agreement_id):
                raise AgreementError(
                    f"A {self.PART_NAME.lower()} cannot move to another agreement version."
                )
        super().save(*args, **kwargs)


class VersionedWords(models.Model):
    """Words Ops edits in place, with a version number and the date it took effect.

    An edit that changes any of `VERSIONED_FIELDS` makes version n+1 and stamps
    `effective_from`; a save that changes nothing keeps the version. Every save is
    also kept by django-simple-history (who, when, before/after), so the words of
    version n are `history.filter(version=n).first()` (see `words_at_version`).
    Records made under a definition keep its version *number* — e.g.
    `leads.StageChange.stage_definition_version` — and `words_at_version` turns
    that number back into the words that were in force.
    """

    VERSIONED_FIELDS: ClassVar[tuple[str, ...]] = ()
    # The field that names the same words in every agreement version's copy.
    NATURAL_KEY: ClassVar[str] = ""

    version = models.PositiveIntegerField(default=1, editable=False)
    effective_from = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            stored = type(self).objects.filter(pk=self.pk).values(*self.VERSIONED_FIELDS).first()
            if stored is not None and any(
                stored[name] != getattr(self, name) for name in self.VERSIONED_FIELDS
            ):
                current = type(self).objects.filter(pk=self.pk).values_list("version", flat=True)
                self.version = current[0] + 1
                self.effective_from = timezone.now()
                if kwargs.get("update_fields") is not None:
                    kwargs["update_fields"] = {
                        *kwargs["update_fields"],
                        "version",
                        "effective_from",
                    }
        super().save(*args, **kwargs)

    def words_at_version(self, version: int) -> Any:
        """The historical snapshot of these words as they read at `version` (None if unknown),
        looked up across the copies each agreement version carries."""
        key = {self.NATURAL_KEY: getattr(self, self.NATURAL_KEY)}
        return (
            type(self)
            .history.filter(version=version, **key)
            .order_by("-history_date", "-history_id")
            .first()
        )


class StageDefinition(VersionPart, VersionedWords):
    """What a lifecycle stage means, as the playbook shows it. Ops edits the words in a draft.

    One row per value of `agreements.stages.Stage` in each agreement version; the
    transitions between stages live in code (`leads.models.Lead`), never here.
    """

    PART_NAME = "Stage definition"
    NATURAL_KEY = "stage"

    VERSIONED_FIELDS = (
        "owner",
        "level",
        "name",
        "conditions",
        "exit_criteria",
        "rep_actions",
        "response_time",
    )

    agreement = models.ForeignKey(
        "Agreement",
        on_delete=models.CASCADE,
        related_name="definitions",
        null=True,
        blank=True,
        help_text="The agreement version these words belong to (a draft, to edit them).",
    )
    stage = models.CharField(max_length=20, choices=Stage.choices)
    owner = models.CharField(max_length=20, choices=OwnerTeam.choices, default=OwnerTeam.MARKETING)
    level = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Place in the funnel (1 = Suspect); empty outside it."
    )
    name = models.CharField(max_length=100)
    conditions = models.TextField(help_text="What is true of a lead in this stage.")
    exit_criteria = models.TextField(blank=True, help_text="What moves a lead out of it.")
    rep_actions = models.TextField(
        "what the rep does", blank=True, help_text="The playbook action for this stage."
    )
    response_time = models.CharField(
        "how fast",
        max_length=200,
        blank=True,
        help_text="In words, e.g. 'within the agreed follow-up time'. The binding time is "
        "in the agreement's response rules.",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "stage"], name="one_definition_per_stage_and_version"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def sort_key(self) -> tuple[int, int]:
        order = list(Stage.values)
        return (self.level or 99, order.index(self.stage) if self.stage in order else 99)

    @classmethod
    def default_level(cls, stage: str) -> int | None:
        return STAGE_LEVEL.get(Stage(stage))

    @classmethod
    def version_in_force(cls, stage: str) -> int | None:
        """The version number of a stage's definition in the agreement in force (None if
        no version is active or it does not define the stage)."""
        return (
            cls.objects.filter(stage=stage, agreement__status=Agreement.Status.ACTIVE)
            .values_list("version", flat=True)
            .first()
        )


class Term(VersionPart, VersionedWords):
    """A glossary entry both teams use the same way (MQL, SQL, …), in one agreement version."""

    PART_NAME = "Glossary term"
    NATURAL_KEY = "name"
    VERSIONED_FIELDS = ("name", "abbreviation", "definition", "owner", "measured_by")

    agreement = models.ForeignKey(
        "Agreement",
        on_delete=models.CASCADE,
        related_name="terms",
        null=True,
        blank=True,
        help_text="The agreement version these words belong to (a draft, to edit them).",
    )
    name = models.CharField(max_length=100)
    abbreviation = models.CharField(max_length=20, blank=True)
    definition = models.TextField()
    owner = models.CharField(
        "owning team", max_length=20, choices=OwnerTeam.choices, default=OwnerTeam.MARKETING
    )
    measured_by = models.TextField("how it is measured", blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "name"], name="one_term_per_name_and_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.abbreviation})" if self.abbreviation else self.name


class Channel(models.Model):
    """A lead source: which stage its leads enter and whether reps may prospect it cold."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    entry_stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.SUSPECT)
    is_marketing_sourced = models.BooleanField(
        default=True, help_text="Leads from this channel are marketing's (feedback is owed)."
    )
    allows_cold_prospecting = models.BooleanField(
        default=False, help_text="Reps may work its leads before they are MQLs (IQL → Working)."
    )
    is_active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Persona(models.Model):
    """A buyer persona with simple fit rules, used to tag and route leads."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    title_keywords = models.TextField(
        blank=True, help_text="Comma-separated words; any one in the job title matches."
    )
    industries = models.TextField(blank=True, help_text="Comma-separated industries.")
    countries = models.TextField(blank=True, help_text="Comma-separated ISO country codes.")
    priority = models.PositiveIntegerField(
        default=100, help_text="Lower numbers are tried first when several personas match."
    )
    is_active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["priority", "name"]

    def __str__(self) -> str:
        return self.name


class BusinessCalendar(SignedContent):
    """Working days and hours in a time zone, plus holidays: what 'business time' means.

    Each agreement version carries its own calendar (a clone copies it): it is edited
    in a draft and takes effect when the draft is signed and activated.
    """

    PART_NAME = "Business calendar"

    name = models.CharField(max_length=100)
    time_zone = models.CharField(
        max_length=64, default="UTC", help_text="e.g. Europe/Berlin, America/New_York."
    )
    workday_start = models.TimeField(default="09:00")
    workday_end = models.TimeField(default="17:00")
    working_days = models.CharField(
        max_length=60,
        default="0,1,2,3,4",
        help_text="Weekdays worked: e.g. mon-fri, or mon,tue,thu, or numbers "
        "(0=Monday … 6=Sunday).",
    )
    history = HistoricalRecords()

    def __str__(self) -> str:
        return self.name

    def holder_ids(self) -> set[int]:
        if self.pk is None:
            return set()
        return set(Agreement.objects.filter(calendar_id=self.pk).values_list("pk", flat=True))

    def clean(self) -> None:
        super().clean()
        errors = self.working_time_problems()
        if errors:
            raise ValidationError(errors)
        self.working_days = ",".join(
            str(day) for day in sorted(parse_working_days(self.working_days))
        )

    def working_time_problems(self) -> dict[str, str]:
        """What stops the clocks from counting in this calendar, by field ({} when none)."""
        errors: dict[str, str] = {}
        try:
            if not parse_working_days(self.working_days or ""):
                errors["working_days"] = (
                    "A business calendar needs at least one working day, e.g. mon-fri."
                )
        except CalendarError as exc:
            errors["working_days"] = str(exc)
        start, end = self.workday_start, self.workday_end
        if isinstance(start, str):
            start = dt.time.fromisoformat(start)
        if isinstance(end, str):
            end = dt.time.fromisoformat(end)
        if start is not None and end is not None and not start < end:
            errors["workday_end"] = (
                "The working day must end after it starts: otherwise it has no working hours."
            )
        try:
            ZoneInfo(self.time_zone or "")
        except (ZoneInfoNotFoundError, ValueError):
            errors["time_zone"] = (
                f"“{self.time_zone}” is not a time zone we know; write e.g. Europe/Berlin "
                "or America/New_York."
            )
        return errors

    def spec(self, holidays: Any = None) -> CalendarSpec:
        """The pure calendar.py view of this calendar (reads the holidays unless given)."""
        if holidays is None:
            holidays = self.holidays.values_list("date", flat=True)
        start, end = self.workday_start, self.workday_end
        if isinstance(start, str):
            start = dt.time.fromisoformat(start)
        if isinstance(end, str):
            end = dt.time.fromisoformat(end)
        return CalendarSpec(
            time_zone=self.time_zone,
            working_days=parse_working_days(self.working_days),
            start=start,
            end=end,
            holidays=frozenset(holidays),
        )

    def working_days_display(self) -> str:
        names = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
        try:
            days = sorted(parse_working_days(self.working_days))
        except CalendarError:
            return f"“{self.working_days}” (not understood)"
        if days and days == list(range(days[0], days[-1] + 1)) and len(days) > 2:
            return f"{names[days[0]]} to {names[days[-1]]}"
        return ", ".join(names[d] for d in days) or "no day"


class Holiday(SignedContent):
    PART_NAME = "Holiday"

    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="holidays"
    )
    date = models.DateField()
    name = models.CharField(max_length=100)
    history = HistoricalRecords()

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="unique_holiday_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.date}: {self.name}"

    def holder_ids(self) -> set[int]:
        calendars = {self.calendar_id} - {None}
        if self.pk is not None and not self._state.adding:
            stored = type(self).objects.filter(pk=self.pk).values_list("calendar_id", flat=True)
            calendars |= set(stored)
        return set(Agreement.objects.filter(calendar_id__in=calendars).values_list("pk", flat=True))


# A content request's warning, when the version leaves its share empty.
DEFAULT_WARN_AT_PERCENT = 75


class Agreement(models.Model):
    """One version of the service-level agreement between marketing and sales.

    Draft → (signed by a Marketing lead and a Sales manager) → active → superseded.
    Only a draft can be edited; an active or superseded version is read-only, and
    changing it means cloning it into a new draft (see agreements.services).
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        SUPERSEDED = "superseded", "Superseded"

    # The only fields services may change on a version that is no longer a draft.
    LIFECYCLE_FIELDS: ClassVar[frozenset[str]] = frozenset(
        {"status", "effective_from", "superseded_at", "activated_by"}
    )
    # Who signed what, and why signatures were dropped: not part of the signed content.
    SIGNATURE_FIELDS: ClassVar[frozenset[str]] = frozenset(
        {
            f"{side}_signed_{part}"
            for side in ("marketing", "sales")
            for part in ("by", "at", "digest")
        }
        | {"signatures_cleared_at", "signatures_cleared_because"}
    )

    version = models.PositiveIntegerField(
        unique=True, blank=True, help_text="Numbered automatically when left empty."
    )
    title = models.CharField(max_length=200, default="Marketing–Sales service-level agreement")
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.DRAFT, editable=False
    )
    calendar = models.ForeignKey(
        BusinessCalendar,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        help_text="The working hours that 'business time' in the rules refers to.",
    )
    lead_scoring_enabled = models.BooleanField(
        default=False, help_text="Off: an MQL is a hand-raise, not a score."
    )
    untouched_days_1 = models.PositiveIntegerField("first untouched threshold (days)", default=30)
    untouched_days_2 = models.PositiveIntegerField("second untouched threshold (days)", default=60)
    untouched_days_3 = models.PositiveIntegerField("third untouched threshold (days)", default=90)
    touch_kinds = models.JSONField(
        "activities that count as a sales touch",
        default=default_touch_kinds,
        help_text="Of what a rep logs, what counts as a sales touch: it meets the SLA clock, "
        "counts toward touch goals and ends 'untouched'. A note never counts. Once active, "
        "it applies to every touch logged from then on. Keep the glossary's “touch” in step.",
    )
    # Marketing's promise on sales' content requests (content.ContentRequest), on the same
    # clock and ladder as sales' follow-up: empty days, no promise (and nothing signed).
    content_request_days = models.PositiveSmallIntegerField(
        "content requests answered within (business days)",
        null=True,
        blank=True,
        help_text="Marketing answers each content request from sales within this many business "
        "days of the calendar. Empty: no promise.",
    )
    content_request_warn_at_percent = models.PositiveSmallIntegerField(
        "warn marketing at (%)",
        null=True,
        blank=True,
        default=75,
        help_text="Warn marketing when this share of the time has passed. Empty: 75 %.",
    )
    content_request_escalate_days = models.PositiveSmallIntegerField(
        "escalate unanswered requests after (business days)",
        null=True,
        blank=True,
        help_text="Counted from the request, like a response rule's escalation. Empty: never.",
    )
    marketing_signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    marketing_signed_at = models.DateTimeField(null=True, blank=True, editable=False)
    sales_signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    sales_signed_at = models.DateTimeField(null=True, blank=True, editable=False)
    marketing_signed_digest = models.CharField(
        max_length=64,
        blank=True,
        editable=False,
        help_text="SHA-256 of the content the marketing lead signed (see agreements.content).",
    )
    sales_signed_digest = models.CharField(
        max_length=64,
        blank=True,
        editable=False,
        help_text="SHA-256 of the content the sales lead signed (see agreements.content).",
    )
    signatures_cleared_at = models.DateTimeField(null=True, blank=True, editable=False)
    signatures_cleared_because = models.CharField(max_length=500, blank=True, editable=False)
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    effective_from = models.DateTimeField(null=True, blank=True, editable=False)
    superseded_at = models.DateTimeField(null=True, blank=True, editable=False)
    notes = models.TextField(blank=True, help_text="Shown on the playbook under the title.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"],
                condition=models.Q(status="active"),
                name="one_active_agreement",
            )
        ]

    def __str__(self) -> str:
        return f"SLA v{self.version} ({self.get_status_display()})"

    @classmethod
    def current(cls) -> Agreement | None:
        """The active version, or None before the first one is activated."""
        return cls.objects.filter(status=cls.Status.ACTIVE).select_related("calendar").first()

    @classmethod
    def next_version(cls) -> int:
        highest = cls.objects.aggregate(models.Max("version"))["version__max"]
        return (highest or 0) + 1

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def is_read_only(self) -> bool:
        return not self.is_draft

    @property
    def is_fully_signed(self) -> bool:
        return bool(self.marketing_signed_by_id and self.sales_signed_by_id)

    @property
    def is_signed_by_anyone(self) -> bool:
        return bool(self.marketing_signed_by_id or self.sales_signed_by_id)

    def signed_digests(self) -> dict[str, str]:
        """The digest each signed side signed, by side ('' for a signature without one)."""
        return {
            side: getattr(self, f"{side}_signed_digest")
            for side in ("marketing", "sales")
            if getattr(self, f"{side}_signed_by_id")
        }

    def content_digest(self) -> str:
        """The SHA-256 of this version's whole content as it is in the database now."""
        return signed_content.digest(self)

    def signatures_verify(self) -> bool:
        """True when both sides signed and each signature's digest is the content's now."""
        digests = self.signed_digests()
        if len(digests) < 2:
            return False
        return set(digests.values()) == {self.content_digest()}

    @classmethod
    def refuse_changes_unless_draft(cls, ids: set[int]) -> None:
        """Raise AgreementError when any of these versions is active or superseded."""
        if not ids:
            return
        frozen = (
            cls.objects.filter(pk__in=ids)
            .exclude(status=cls.Status.DRAFT)
            .order_by("version")
            .first()
        )
        if frozen is not None:
            raise AgreementError(frozen.read_only_message())

    @classmethod
    def content_changed(cls, ids: set[int], reason: str) -> None:
        """Part of these versions' content changed: signed drafts whose content no longer
        reads as signed lose both signatures. Run it inside the change's transaction."""
        if not ids:
            return
        signed = (
            cls.objects.select_for_update()
            .filter(pk__in=ids, status=cls.Status.DRAFT)
            .filter(
                models.Q(marketing_signed_by__isnull=False)
                | models.Q(sales_signed_by__isnull=False)
            )
            .order_by("pk")
        )
        for agreement in signed:
            agreement.drop_signatures_unless_unchanged(reason)

    def drop_signatures_unless_unchanged(self, reason: str) -> bool:
        """Clear both signatures of this draft unless every one signed its content as it is
        now; record why. True when they were cleared."""
        digests = self.signed_digests()
        if not digests or set(digests.values()) == {self.content_digest()}:
            return False
        self.clear_signatures(reason)
        return True

    def clear_signatures(self, reason: str) -> None:
        """Drop both signatures and record when and why (the draft must be signed again)."""
        for side in ("marketing", "sales"):
            setattr(self, f"{side}_signed_by", None)
            setattr(self, f"{side}_signed_at", None)
            setattr(self, f"{side}_signed_digest", "")
        self.signatures_cleared_at = timezone.now()
        self.signatures_cleared_because = reason[:500]
        self.save(update_fields=sorted(self.SIGNATURE_FIELDS))

    def read_only_message(self) -> str:
        return (
            f"Version {self.version} is {self.get_status_display().lower()} and cannot be "
            "changed. Clone it into a new draft to propose changes."
        )

    def clean(self) -> None:
        if self.pk and self._stored_status() not in (None, self.Status.DRAFT):
            raise ValidationError(self.read_only_message())
        thresholds = (self.untouched_days_1, self.untouched_days_2, self.untouched_days_3)
        if None not in thresholds and not thresholds[0] < thresholds[1] < thresholds[2]:
            raise ValidationError(
                "The untouched thresholds must grow: first < second < third (e.g. 30, 60, 90)."
            )
        self.clean_touch_kinds()
        self.clean_content_request_promise()

    def clean_touch_kinds(self) -> None:
        """At least one kind, each a kind of touch, in the usual order."""
        chosen = self.touch_kinds if isinstance(self.touch_kinds, list) else []
        if not chosen or not set(chosen) <= set(DEFAULT_TOUCH_KINDS):
            raise ValidationError(
                {"touch_kinds": "Choose at least one kind of activity that counts as a touch."}
            )
        self.touch_kinds = [kind for kind in DEFAULT_TOUCH_KINDS if kind in chosen]

    def counted_touch_kinds(self) -> list[str]:
        """The kinds of activity that count as a sales touch in this version (every kind
        when none is stored): what the clock, the signed content and the playbook read."""
        return list(self.touch_kinds or DEFAULT_TOUCH_KINDS)

    def counts_as_touch(self, kind: str) -> bool:
        """Whether an activity of this kind, logged by the sales side, is a sales touch."""
        return kind in self.counted_touch_kinds()

    def clean_content_request_promise(self) -> None:
        """Refuse a content-request promise the clock cannot keep (0 days, escalating early)."""
        days, escalate = self.content_request_days, self.content_request_escalate_days
        if days is not None and days < 1:
            raise ValidationError({"content_request_days": "Promise at least 1 business day."})
        if not 1 <= self.content_request_warn_share <= 100:
            raise ValidationError(
                {"content_request_warn_at_percent": "Warn at a share between 1 and 100 %."}
            )
        if escalate is not None and (days is None or escalate < days):
            raise ValidationError(
                {"content_request_escalate_days": "Escalate no sooner than the promised time."}
            )

    def _stored_status(self) -> str | None:
        return type(self).objects.filter(pk=self.pk).values_list("status", flat=True).first()

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.version is None:
            self.version = type(self).next_version()
        editing = self.pk is not None and not self._state.adding
        update_fields = kwargs.get("update_fields")
        if editing:
            self._refuse_edit_unless_draft(update_fields)
        bookkeeping = self.SIGNATURE_FIELDS | self.LIFECYCLE_FIELDS
        touches_content = update_fields is None or not set(update_fields) <= bookkeeping
        with transaction.atomic():
            super().save(*args, **kwargs)
            if editing and touches_content and self.is_draft and self.is_signed_by_anyone:
                self.drop_signatures_unless_unchanged(
                    f"The terms of version {self.version} itself (title, introduction, "
                    "scoring, untouched thresholds, content requests or calendar) were changed."
                )

    def _refuse_edit_unless_draft(self, update_fields: Any) -> None:
        """An active or superseded version only changes its lifecycle stamps."""
        stored = type(self).objects.filter(pk=self.pk).first()
        if stored is None or stored.status == self.Status.DRAFT:
            return
        names = (
            set(update_fields)
            if update_fields is not None
            else {f.attname for f in self._meta.concrete_fields}
        )
        for field in self._meta.concrete_fields:
            if field.attname not in names or field.name in self.LIFECYCLE_FIELDS:
                continue
            if getattr(stored, field.attname) != getattr(self, field.attname):
                raise AgreementError(stored.read_only_message())

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        if self.pk and self._stored_status() not in (None, self.Status.DRAFT):
            raise AgreementError(
                f"Version {self.version} has been in force and is kept as a record; "
                "only drafts can be deleted."
            )
        return super().delete(*args, **kwargs)

    def calendar_spec(self) -> CalendarSpec | None:
        return self.calendar.spec() if self.calendar_id else None

    @property
    def content_request_warn_share(self) -> int:
        """The share of the promised time after which marketing is warned, in %."""
        percent = self.content_request_warn_at_percent
        return DEFAULT_WARN_AT_PERCENT if percent is None else percent

    @property
    def content_request_text(self) -> str:
        """Marketing's promise on content requests in words ('' when it makes none)."""
        days = self.content_request_days
        if days is None:
            return ""
        text = (
            f"Content requests from sales are answered within "
            f"{describe_duration(days, Unit.DAYS, True)}; marketing is warned at "
            f"{self.content_request_warn_share} % of that time"
        )
        escalate = self.content_request_escalate_days
        if escalate is not None:
            text += (
                f"; after {describe_duration(escalate, Unit.DAYS, True)} without an answer "
                "the marketing lead and the requester's sales manager are told"
            )
        return text + "."

    def rule_for(self, stage: str, channel_id: int | None) -> ResponseRule | None:
        """The rule covering a lead in `stage` from `channel_id`; a channel's own rule wins."""
        if "rules" not in getattr(self, "_prefetched_objects_cache", {}):
            models.prefetch_related_objects([self], "rules")
        rules = [r for r in self.rules.all() if r.stage == stage]
        for rule in rules:
            if channel_id is not None and rule.channel_id == channel_id:
                return rule
        for rule in rules:
            if rule.channel_id is None:
                return rule
        return None


class AgreementPart(VersionPart):
    """A rule, goal or commitment: belongs to one agreement version and is frozen with it."""

    class Meta:
        abstract = True


class Unit(models.TextChoices):
    MINUTES = "minutes", "minutes"
    HOURS = "hours", "hours"
    DAYS = "days", "days"


def duration_of(amount: int, unit: str, spec: CalendarSpec | None, business: bool) -> dt.timedelta:
    """A rule's amount as a timedelta; a business day is one working day of the calendar."""
    if unit == Unit.MINUTES:
        return dt.timedelta(minutes=amount)
    if unit == Unit.HOURS:
        return dt.timedelta(hours=amount)
    if business:
        return amount * (spec or CalendarSpec()).workday_length
    return dt.timedelta(days=amount)


def describe_duration(amount: int | None, unit: str, business: bool) -> str:
    """'2 business hours', '1 day', '30 minutes' — for the playbook and what-changed."""
    if amount is None:
        return "never"
    word = unit[:-1] if amount == 1 else unit
    return f"{amount} {'business ' if business else ''}{word}"


class ResponseRule(AgreementPart):
    """Sales' promise: first touch within a time for leads of a channel and/or stage.

    The clock starts when a lead enters `stage`. A rule for a channel beats the
    any-channel rule for the same stage. `escalate_after` is counted from the
    same start, in the same kind of time, and must not be shorter than the promise.
    """

    PART_NAME = "Response rule"

    Unit = Unit

    class Escalation(models.TextChoices):
        NOTIFY_MANAGER = "notify_manager", "Notify the owner's manager"
        LEAD_DESK = "lead_desk", "Move the lead to the lead desk"
        NEXT_REP = "next_rep", "Reassign to the next rep (round robin)"

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="rules")
    channel = models.ForeignKey(
        Channel, on_delete=models.CASCADE, null=True, blank=True, help_text="Empty: any channel."
    )
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.MQL)
    within_amount = models.PositiveIntegerField("first touch within")
    within_unit = models.CharField(max_length=10, choices=Unit.choices, default=Unit.HOURS)
    business_time = models.BooleanField(
        default=True,
        help_text="Count only the calendar's working hours (off: wall-clock time). "
        "A business day is one working day of the calendar.",
    )
    warn_at_percent = models.PositiveSmallIntegerField(
        default=75, help_text="Warn the rep when this share of the time has passed."
    )
    escalate_after_amount = models.PositiveIntegerField(
        null=True, blank=True, help_text="Counted from when the clock started. Empty: never."
    )
    escalate_after_unit = models.CharField(max_length=10, choices=Unit.choices, default=Unit.HOURS)
    escalate_action = models.CharField(
        "escalate how",
        max_length=20,
        choices=Escalation.choices,
        default=Escalation.NOTIFY_MANAGER,
    )
    escalate_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="also notify",
        help_text="Optional: a person told on every escalation (e.g. the head of sales).",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["agreement", "stage", "channel__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "stage", "channel"],
                condition=models.Q(channel__isnull=False),
                name="one_rule_per_channel_and_stage",
            ),
            models.UniqueConstraint(
                fields=["agreement", "stage"],
                condition=models.Q(channel__isnull=True),
                name="one_any_channel_rule_per_stage",
            ),
        ]

    def __str__(self) -> str:
        scope = self.channel.name if self.channel_id else "any channel"
        return f"{self.get_stage_display()} from {scope}: first touch within {self.within_text}"

    @property
    def within_text(self) -> str:
        return describe_duration(self.within_amount, self.within_unit, self.business_time)

    @property
    def escalate_text(self) -> str:
        return describe_duration(
            self.escalate_after_amount, self.escalate_after_unit, self.business_time
        )

    def clean(self) -> None:
        super().clean()
        if self.within_amount is not None and self.within_amount < 1:
            raise ValidationError({"within_amount": "The follow-up time must be at least 1."})
        if not 1 <= (self.warn_at_percent or 0) <= 100:
            raise ValidationError({"warn_at_percent": "Warn at a share between 1 and 100 %."})
        if self.within_amount and self.escalate_after_amount:
            promise = duration_of(self.within_amount, self.within_unit, None, self.business_time)
            escalate = duration_of(
                self.escalate_after_amount, self.escalate_after_unit, None, self.business_time
            )
            if escalate < promise:
                raise ValidationError(
                    {"escalate_after_amount": "Escalate no sooner than the follow-up time."}
                )

    def due_after(self, spec: CalendarSpec | None) -> dt.timedelta:
        return duration_of(self.within_amount, self.within_unit, spec, self.business_time)

    def escalate_after(self, spec: CalendarSpec | None) -> dt.timedelta | None:
        if self.escalate_after_amount is None:
            return None
        return duration_of(
            self.escalate_after_amount, self.escalate_after_unit, spec, self.business_time
        )


class TouchGoal(AgreementPart):
    """Sales' effort promise: at least K touches within D days of a lead becoming Working."""

    PART_NAME = "Touch goal"

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="touch_goals")
    channel = models.ForeignKey(
        Channel, on_delete=models.CASCADE, null=True, blank=True, help_text="Empty: any channel."
    )
    touches = models.PositiveSmallIntegerField("at least this many touches", default=6)
    within_days = models.PositiveSmallIntegerField("within days of becoming Working", default=14)
    history = HistoricalRecords()

    class Meta:
        ordering = ["agreement", "channel__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "channel"],
                condition=models.Q(channel__isnull=False),
                name="one_touch_goal_per_channel",
            ),
            models.UniqueConstraint(
                fields=["agreement"],
                condition=models.Q(channel__isnull=True),
                name="one_any_channel_touch_goal",
            ),
        ]

    def __str__(self) -> str:
        scope = self.channel.name if self.channel_id else "every lead"
        return f"{scope}: {self.touches} touches within {self.within_days} days of Working"


class MarketingCommitment(AgreementPart):
    """Marketing's promise for each month or quarter: volumes, pipeline and acceptance."""

    PART_NAME = "Marketing commitment"

    class Period(models.TextChoices):
        MONTH = "month", "Every month"
        QUARTER = "quarter", "Every quarter"

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="commitments")
    period = models.CharField(max_length=10, choices=Period.choices, default=Period.MONTH)
    new_leads = models.PositiveIntegerField("new leads", default=0)
    mqls = models.PositiveIntegerField("MQLs", default=0)
    sales_accepted = models.PositiveIntegerField("sales-accepted leads (SQL)", default=0)
    pipeline_amount = models.DecimalField(
        "pipeline amount", max_digits=14, decimal_places=2, default=0
    )
    min_acceptance_rate = models.PositiveSmallIntegerField(
        "minimum acceptance rate (%)",
        default=0,
        help_text="Share of MQLs that sales accepts (SQL) — a measure of lead quality.",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["agreement", "period"]
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "period"], name="one_commitment_per_period"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_period_display()}: {self.mqls} MQLs"

    def clean(self) -> None:
        super().clean()
        if self.min_acceptance_rate is not None and self.min_acceptance_rate > 100:
            raise ValidationError({"min_acceptance_rate": "A rate is at most 100 %."})


DEFAULT_UNTOUCHED_DAYS = (30, 60, 90)


def untouched_thresholds(agreement: Agreement | None) -> list[int]:
    """The agreement's untouched thresholds in days, ascending (30/60/90 without one)."""
    if agreement is None:
        return list(DEFAULT_UNTOUCHED_DAYS)
    days = (agreement.untouched_days_1, agreement.untouched_days_2, agreement.untouched_days_3)
    return sorted({d for d in days if d})
