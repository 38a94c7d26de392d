"""The four roles (Django groups) and the permissions each one gets, applied on migrate."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import AppConfig, apps
from django.contrib.auth.models import Group, Permission

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AbstractUser, AnonymousUser

OPS = "Ops"
MARKETING = "Marketing"
SALES_REP = "Sales rep"
SALES_MANAGER = "Sales manager"
ROLES = (OPS, MARKETING, SALES_REP, SALES_MANAGER)

_CRUD = ("add", "change", "delete", "view")


def _all(app: str, *models: str) -> list[str]:
    return [f"{app}.{action}_{model}" for model in models for action in _CRUD]


def _view(app: str, *models: str) -> list[str]:
    return [f"{app}.view_{model}" for model in models]


AGREEMENT_MODELS = (
    "channel",
    "persona",
    "businesscalendar",
    "holiday",
    "agreement",
    "responserule",
    "touchgoal",
    "marketingcommitment",
    "stagedefinition",
    "term",
)
LEAD_MODELS = (
    "lead",
    "account",
    "activity",
    "campaign",
    "deal",
    "feedback",
    "stagechange",
    "assignment",
)

# Permissions are defined here, in code; `sync_roles` writes them on every migrate.
ROLE_PERMISSIONS: dict[str, list[str]] = {
    OPS: [
        *_all("agreements", *AGREEMENT_MODELS),
        *_all("leads", "lead", "account", "activity", "campaign", "team", "repprofile"),
        *_all("leads", "routingrule", "intaketoken", "savedmapping"),
        *_all("content", "assetkind", "asset"),
        *_all("api", "apitoken"),
        *_view("leads", "importbatch"),
        *_view("leads", "deal", "feedback", "stagechange"),
        *_all("django_celery_beat", "periodictask", "crontabschedule", "intervalschedule"),
        *_view("sla", "breach", "slawarning", "untouchedflag", "pacingsnapshot"),
        "auth.view_user",
    ],
    MARKETING: [
        *_view("agreements", *AGREEMENT_MODELS),
        *_view("leads", *LEAD_MODELS),
        "leads.add_lead",
        "leads.add_campaign",
        "leads.change_campaign",
        *_view("content", "assetkind"),
        *_all("content", "asset"),
    ],
    SALES_REP: [
        *_view("agreements", *AGREEMENT_MODELS),
        *_view("leads", *LEAD_MODELS),
    ],
    SALES_MANAGER: [
        *_view("agreements", *AGREEMENT_MODELS),
        *_view("leads", *LEAD_MODELS),
        "leads.change_lead",
    ],
}


def sync_roles(sender: AppConfig | None = None, using: str = "default", **kwargs: object) -> None:
    """Create the four groups and give them exactly the permissions above.

    A post_migrate handler: the signal comes once per app, each after that app's
    permissions are created, so the roles are written on the last app's, when every
    permission they name exists, and once per migrate (or test flush), not once per app.
    Called without a sender, they are written now.
    """
    if sender is not None and sender is not _last_app_with_models():
        return
    named = {tuple(name.split(".", 1)) for names in ROLE_PERMISSIONS.values() for name in names}
    found = Permission.objects.using(using).filter(
        content_type__app_label__in={app_label for app_label, _ in named},
        codename__in={codename for _, codename in named},
    )
    pks = {
        (app_label, codename): pk
        for pk, app_label, codename in found.values_list(
            "pk", "content_type__app_label", "codename"
        )
    }
    for role, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.using(using).get_or_create(name=role)
        wanted = [pks[key] for key in (tuple(name.split(".", 1)) for name in names) if key in pks]
        group.permissions.set(wanted)


def _last_app_with_models() -> AppConfig:
    """The app post_migrate is sent for last (Django sends it to every app with models)."""
    return [config for config in apps.get_app_configs() if config.models_module is not None][-1]


def user_roles(user: AbstractBaseUser | AnonymousUser) -> set[str]:
    """The role names of a user, cached on the user object for the request."""
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_accord_roles", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        user._accord_roles = cached
    return cached


def has_role(user: AbstractBaseUser | AnonymousUser, *roles: str) -> bool:
    """True when the user is in any of the given roles (superusers are in all)."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return bool(user_roles(user) & set(roles))


def is_marketing(user: AbstractBaseUser | AnonymousUser) -> bool:
    """True for marketing's side of the house: Marketing and Ops."""
    return has_role(user, MARKETING, OPS)


def primary_role(user: AbstractBaseUser | AnonymousUser) -> str | None:
    """The role whose home page the user lands on after login."""
    roles = user_roles(user)
    for role in (SALES_MANAGER, SALES_REP, MARKETING, OPS):
        if role in roles:
            return role
    if user.is_authenticated and user.is_superuser:
        return OPS
    return None


def display_name(user: AbstractUser) -> str:
    """How a user is named on pages and in messages: the full name, else the username."""
    return user.get_full_name() or user.get_username()
