"""Operations on the agreement: sign, activate, clone.

Each write runs in one transaction and raises `AgreementError` with a message fit
to show the user.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from agreements import roles
from notifications.models import Notification
from notifications.services import Message, notify

from .models import (
    Agreement,
    AgreementError,
    BusinessCalendar,
    MarketingCommitment,
    ResponseRule,
    StageDefinition,
    Term,
    TouchGoal,
)

__all__ = [
    "AgreementError",
    "activate",
    "clone",
    "report_problems",
    "request_signatures",
    "sign",
]

# The notification kind of everything about agreement versions and their configuration.
NOTICE = Notification.Kind.AGREEMENT

MARKETING_SIDE = "marketing"
SALES_SIDE = "sales"
SIDES = {
    MARKETING_SIDE: (roles.MARKETING, "a Marketing lead"),
    SALES_SIDE: (roles.SALES_MANAGER, "a Sales manager"),
}


def sign(agreement: Agreement, user: Any, side: str) -> Agreement:
    """Sign a draft for one side: marketing by a Marketing user, sales by a Sales manager."""
    if side not in SIDES:
        raise AgreementError("Sign either the marketing side or the sales side.")
    role, who = SIDES[side]
    if not getattr(user, "is_authenticated", False) or role not in roles.user_roles(user):
        raise AgreementError(f"The {side} side must be signed by {who}.")
    with transaction.atomic():
        locked = Agreement.objects.select_for_update().get(pk=agreement.pk)
        if not locked.is_draft:
            raise AgreementError(
                f"Version {locked.version} is {locked.get_status_display().lower()}; "
                "only a draft can be signed."
            )
        signed_by_id = getattr(locked, f"{side}_signed_by_id")
        if signed_by_id == user.pk:
            raise AgreementError(f"You have already signed version {locked.version}.")
        if signed_by_id is not None:
            raise AgreementError(f"The {side} side of version {locked.version} is already signed.")
        other = SALES_SIDE if side == MARKETING_SIDE else MARKETING_SIDE
        if getattr(locked, f"{other}_signed_by_id") == user.pk:
            raise AgreementError("One person cannot sign for both marketing and sales.")
        digest = locked.content_digest()
        if getattr(locked, f"{other}_signed_by_id") and (
            getattr(locked, f"{other}_signed_digest") != digest
        ):
            # The other side signed other content (changed behind the services' back).
            locked.clear_signatures(
                f"The content changed after the {other} side signed version {locked.version}."
            )
        setattr(locked, f"{side}_signed_by", user)
        setattr(locked, f"{side}_signed_at", timezone.now())
        setattr(locked, f"{side}_signed_digest", digest)
        locked.save(update_fields=sorted(Agreement.SIGNATURE_FIELDS))
    agreement.refresh_from_db()
    return locked


def activate(agreement: Agreement, by: Any = None) -> Agreement:
    """Put a signed draft in force; the previous active version is superseded atomically."""
    if by is not None and not roles.has_role(by, roles.OPS):
        raise AgreementError("Only Ops can activate an agreement.")
    with transaction.atomic():
        locked = {
            a.pk: a
            for a in Agreement.objects.select_for_update()
            .filter(Q(pk=agreement.pk) | Q(status=Agreement.Status.ACTIVE))
            .order_by("version")
        }
        target = locked[agreement.pk]
        if not target.is_draft:
            raise AgreementError(
                f"Version {target.version} is {target.get_status_display().lower()}; "
                "only a signed draft can be activated."
            )
        missing = [
            side
            for side, (_role, who) in SIDES.items()
            if getattr(target, f"{side}_signed_by_id") is None
        ]
        if missing:
            names = " and ".join(SIDES[side][1] for side in missing)
            raise AgreementError(
                f"Version {target.version} cannot be activated until {names} "
                f"{'have' if len(missing) > 1 else 'has'} signed it."
            )
        if not target.signatures_verify():
            raise AgreementError(
                f"The content of version {target.version} is not what was signed: ask "
                "marketing and sales to sign it again."
            )
        if target.calendar_id is None and target.rules.filter(business_time=True).exists():
            raise AgreementError(
                f"Version {target.version} counts business time but has no business calendar."
            )
        if target.calendar_id is not None:
            check_calendar(target.calendar)
        now = timezone.now()
        previous = [old for old in locked.values() if old.pk != target.pk]
        for old in previous:
            old.status = Agreement.Status.SUPERSEDED
            old.superseded_at = now
            old.save(update_fields=["status", "superseded_at"])
        target.status = Agreement.Status.ACTIVE
        target.effective_from = now
        target.activated_by = by if getattr(by, "is_authenticated", False) else None
        target.save(update_fields=["status", "effective_from", "activated_by"])
        for model in (Term, StageDefinition):
            _stamp_new_words(model, target, previous, now)
        transaction.on_commit(lambda: _announce_activation(target.pk))
    agreement.refresh_from_db()
    return target


def check_calendar(calendar: BusinessCalendar) -> None:
    """Refuse a calendar the clocks cannot count in (no working day or hours, bad names)."""
    problems = calendar.working_time_problems()
    if problems:
        raise AgreementError(
            f"The business calendar “{calendar.name}” cannot be used: "
            + " ".join(problems.values())
        )


def _stamp_new_words(
    model: type[Term] | type[StageDefinition],
    target: Agreement,
    previous: list[Agreement],
    now: Any,
) -> None:
    """Words that read differently from the version they replace take effect now."""
    key = model.NATURAL_KEY
    before = dict(model.objects.filter(agreement__in=previous).values_list(key, "version"))
    fresh = [
        pk
        for pk, name, version in model.objects.filter(agreement=target).values_list(
            "pk", key, "version"
        )
        if before.get(name) != version
    ]
    # A bookkeeping stamp, not content: a queryset update, which signs nothing away.
    model.objects.filter(pk__in=fresh).update(effective_from=now)


def clone(agreement: Agreement, by: Any = None) -> Agreement:
    """A new draft (next version number) with copies of everything the version holds:
    rules, goals, commitments, its own copy of the calendar and holidays, the glossary
    terms and the stage definitions."""
    skip = {"id", "version", "calendar", *Agreement.LIFECYCLE_FIELDS, *Agreement.SIGNATURE_FIELDS}
    with transaction.atomic():
        source = Agreement.objects.select_for_update().get(pk=agreement.pk)
        values = {
            field.attname: getattr(source, field.attname)
            for field in Agreement._meta.concrete_fields
            if field.name not in skip
        }
        draft = Agreement.objects.create(
            **values,
            version=Agreement.next_version(),
            status=Agreement.Status.DRAFT,
            calendar=copy_calendar(source.calendar) if source.calendar_id else None,
        )
        for model in (ResponseRule, TouchGoal, MarketingCommitment):
            _copy_rows(model.objects.filter(agreement=source).order_by("pk"), agreement=draft)
        copy_words(source, draft)
    return draft


def copy_words(source: Agreement | None, target: Agreement) -> None:
    """Give `target` a copy of the glossary terms and stage definitions of `source`
    (a new version starts from the words of the one it follows)."""
    if source is None:
        return
    for model in (Term, StageDefinition):
        _copy_rows(model.objects.filter(agreement=source).order_by("pk"), agreement=target)


def words_source() -> Agreement | None:
    """The version a new draft takes its words from: the active one, else the newest."""
    return Agreement.current() or Agreement.objects.order_by("-version").first()


def copy_calendar(calendar: BusinessCalendar) -> BusinessCalendar:
    """A calendar of its own for a new draft: same zone, hours, days and holidays."""
    holidays = list(calendar.holidays.order_by("date"))
    (copy,) = _copy_rows([calendar])
    _copy_rows(holidays, calendar=copy)
    return copy


def _copy_rows(rows: Iterable[Any], **changes: Any) -> list[Any]:
    copies = []
    for row in rows:
        row.pk = None
        row.id = None
        row._state.adding = True
        for name, value in changes.items():
            setattr(row, name, value)
        row.save()
        copies.append(row)
    return copies


# --- Telling people ------------------------------------------------------------------


def _users_in(*role_names: str) -> list[Any]:
    return list(
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=role_names)
        .distinct()
        .order_by("pk")
    )


def changes_url(agreement: Agreement) -> str:
    """The page that shows what this version changes, word by word."""
    return reverse("agreements:changes") + f"?to={agreement.version}"


def signers() -> list[Any]:
    """The people who sign for a side: marketing leads and sales leads."""
    return _users_in(*(role for role, _who in SIDES.values()))


def request_signatures(agreement: Agreement, by: Any) -> int:
    """Ops ask the marketing and sales leads to sign a draft: each is told once, with a
    link to what changed, for the content as it is now. Returns how many were told."""
    if not roles.has_role(by, roles.OPS):
        raise AgreementError("Only Ops can ask for signatures.")
    if not agreement.is_draft:
        raise AgreementError(f"Version {agreement.version} is not a draft: nothing to sign.")
    digest = agreement.content_digest()
    wanted = [
        user
        for user in signers()
        if user.pk not in {agreement.marketing_signed_by_id, agreement.sales_signed_by_id}
    ]
    messages = [
        Message(
            user_id=user.pk,
            kind=NOTICE,
            event_key=f"agreement:{agreement.pk}:sign:{digest[:16]}:{user.pk}",
            title=f"Version {agreement.version} of the agreement waits for your signature",
            body=f"{roles.display_name(by)} asks you to read what changed and sign version "
            f"{agreement.version} for your team.",
            url=changes_url(agreement),
        )
        for user in wanted
    ]
    notify(messages)
    return len(messages)


def _announce_activation(agreement_id: int) -> None:
    agreement = Agreement.objects.get(pk=agreement_id)
    people = _users_in(roles.MARKETING, roles.SALES_MANAGER, roles.SALES_REP)
    notify(
        Message(
            user_id=user.pk,
            kind=NOTICE,
            event_key=f"agreement:{agreement.pk}:active:{user.pk}",
            title=f"Version {agreement.version} of the agreement is now in force",
            body="Marketing and sales signed it; its rules, calendar and words apply from now.",
            url=changes_url(agreement),
        )
        for user in people
    )


def report_problems(problems: Iterable[str], at: Any = None) -> int:
    """Tell Ops, once per distinct problem, about configuration the SLA check had to skip.
    Returns how many problems were reported."""
    texts = sorted(set(problems))
    if not texts:
        return 0
    ops = _users_in(roles.OPS)
    notify(
        (
            Message(
                user_id=user.pk,
                kind=NOTICE,
                event_key=f"config-problem:{hashlib.sha256(text.encode()).hexdigest()[:32]}:"
                f"{user.pk}",
                title="The SLA check skipped a rule it cannot count with",
                body=text,
                url=reverse("admin:agreements_agreement_changelist"),
            )
            for text in texts
            for user in ops
        ),
        at=at,
    )
    return len(texts)
