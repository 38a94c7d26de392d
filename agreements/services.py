"""Operations on the agreement: sign, activate, clone.

Each write runs in one transaction and raises `AgreementError` with a message fit
to show the user.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from agreements import roles

from .models import (
    Agreement,
    AgreementError,
    MarketingCommitment,
    ResponseRule,
    TouchGoal,
)

__all__ = [
    "AgreementError",
    "activate",
    "clone",
    "sign",
]

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
        setattr(locked, f"{side}_signed_by", user)
        setattr(locked, f"{side}_signed_at", timezone.now())
        locked.save()
    agreement.refresh_from_db()
    return locked


def clear_signatures(agreement: Agreement) -> bool:
    """Drop both signatures of a draft whose terms changed; True if there were any."""
    if not agreement.is_draft or not (
        agreement.marketing_signed_by_id or agreement.sales_signed_by_id
    ):
        return False
    agreement.marketing_signed_by = agreement.sales_signed_by = None
    agreement.marketing_signed_at = agreement.sales_signed_at = None
    agreement.save()
    return True


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
        if target.calendar_id is None and target.rules.filter(business_time=True).exists():
            raise AgreementError(
                f"Version {target.version} counts business time but has no business calendar."
            )
        now = timezone.now()
        for old in locked.values():
            if old.pk != target.pk:
                old.status = Agreement.Status.SUPERSEDED
                old.superseded_at = now
                old.save(update_fields=["status", "superseded_at"])
        target.status = Agreement.Status.ACTIVE
        target.effective_from = now
        target.activated_by = by if getattr(by, "is_authenticated", False) else None
        target.save(update_fields=["status", "effective_from", "activated_by"])
    agreement.refresh_from_db()
    return target


def clone(agreement: Agreement, by: Any = None) -> Agreement:
    """A new draft (next version number) with copies of the rules, goals and commitments."""
    skip = {"id", "version", *Agreement.LIFECYCLE_FIELDS}
    skip |= {f"{side}_signed_{part}" for side in SIDES for part in ("by", "at")}
    with transaction.atomic():
        source = Agreement.objects.select_for_update().get(pk=agreement.pk)
        values = {
            field.attname: getattr(source, field.attname)
            for field in Agreement._meta.concrete_fields
            if field.name not in skip
        }
        draft = Agreement.objects.create(
            **values, version=Agreement.next_version(), status=Agreement.Status.DRAFT
        )
        for model in (ResponseRule, TouchGoal, MarketingCommitment):
            for part in model.objects.filter(agreement=source):
                part.pk = None
                part.id = None
                part._state.adding = True
                part.agreement = draft
                part.save()
    return draft
