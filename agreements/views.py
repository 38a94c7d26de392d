"""The playbook: the agreement as a document every signed-in user can read, print and sign."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from agreements import roles

from . import queries, services
from .models import Agreement, AgreementError


def version_param(request: HttpRequest, name: str) -> int | None:
    """An agreement version number from the query string (?version=3 or v3); 404 if not one."""
    value = request.GET.get(name, "").strip().lstrip("v")
    if not value:
        return None
    if not value.isdigit():
        raise Http404("No such version.")
    return int(value)


def _sign_sides(user: object) -> list[tuple[str, str]]:
    """The sides this user may sign: (side, label)."""
    mine = roles.user_roles(user)
    sides = []
    if roles.MARKETING in mine:
        sides.append((services.MARKETING_SIDE, "Sign for marketing"))
    if roles.SALES_MANAGER in mine:
        sides.append((services.SALES_SIDE, "Sign for sales"))
    return sides


def playbook_context(request: HttpRequest) -> dict[str, Any]:
    """The playbook page's content for the active agreement (or ?version=N).

    Stages, glossary, channels, commitments and signing; leads.views.playbook adds the
    lifecycle graph, which is drawn from Lead.
    """
    version = version_param(request, "version")
    context = queries.playbook(version)
    agreement = context["agreement"]
    if version is not None and agreement is None:
        raise Http404("No such version.")
    previous = None
    if agreement is not None:
        previous = next((v for v in context["versions"] if v.version < agreement.version), None)
    context.update(
        previous=previous,
        sign_sides=_sign_sides(request.user) if agreement and agreement.is_draft else [],
        is_ops=roles.has_role(request.user, roles.OPS),
    )
    return context


@login_required
@require_POST
def sign(request: HttpRequest, version: int) -> HttpResponse:
    """A Marketing lead or a Sales manager signs a draft for their side."""
    agreement = get_object_or_404(Agreement, version=version)
    side = request.POST.get("side", "")
    try:
        services.sign(agreement, request.user, side)
    except AgreementError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"You signed version {version} for {side}.")
    return redirect(reverse("leads:playbook") + f"?version={version}")


@login_required
def changes(request: HttpRequest) -> HttpResponse:
    """What changed from one version to another (?from=2&to=3), in plain words."""
    versions = list(
        Agreement.objects.only("version", "status", "effective_from").order_by("-version")
    )
    numbers = [v.version for v in versions]
    to_version = version_param(request, "to") or (numbers[0] if numbers else None)
    from_version = version_param(request, "from")
    if from_version is None and to_version is not None:
        from_version = next((n for n in numbers if n < to_version), None)
    old = new = None
    differences: list[queries.Difference] = []
    if from_version is not None and to_version is not None:
        pair = {
            a.version: a
            for a in queries.agreements_with_parts().filter(version__in=[from_version, to_version])
        }
        old, new = pair.get(from_version), pair.get(to_version)
        if old is None or new is None:
            raise Http404("No such version.")
        differences = queries.compare_agreements(old, new)
    sections: dict[str, list[str]] = {}
    for difference in differences:
        sections.setdefault(difference.section, []).append(difference.text)
    return render(
        request,
        "agreements/changes.html",
        {"versions": versions, "old": old, "new": new, "sections": sections},
    )
