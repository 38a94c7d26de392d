"""The playbook: the agreement as a document every signed-in user can read, print and sign."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from agreements import roles
from config.ids import as_id

from . import content as signed_content
from . import queries, services
from .models import Agreement, AgreementError


def version_param(request: HttpRequest, name: str) -> int | None:
    """An agreement version number from the query string (?version=3 or v3); 404 if not one."""
    value = request.GET.get(name, "").strip().lstrip("v")
    if not value:
        return None
    version = as_id(value)
    if version is None:
        raise Http404("No such version.")
    return version


def _sign_sides(user: Any, agreement: Agreement) -> list[tuple[str, str]]:
    """The sides this user may still sign on a draft: (side, label). A signed side, or a
    user who already signed the other side, gets no button."""
    if not agreement.is_draft or user.pk in {
        agreement.marketing_signed_by_id,
        agreement.sales_signed_by_id,
    }:
        return []
    mine = roles.user_roles(user)
    sides = []
    if roles.MARKETING in mine and agreement.marketing_signed_by_id is None:
        sides.append((services.MARKETING_SIDE, "Sign for marketing"))
    if roles.SALES_MANAGER in mine and agreement.sales_signed_by_id is None:
        sides.append((services.SALES_SIDE, "Sign for sales"))
    return sides


def _verified(agreement: Agreement | None, digest: str) -> bool:
    """Both sides signed exactly the content the version holds now."""
    if agreement is None or not agreement.is_fully_signed:
        return False
    return set(agreement.signed_digests().values()) == {digest}


def _sections(differences: list[queries.Difference]) -> dict[str, list[queries.Difference]]:
    sections: dict[str, list[queries.Difference]] = {}
    for difference in differences:
        sections.setdefault(difference.section, []).append(difference)
    return sections


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
    changes: dict[str, list[queries.Difference]] = {}
    digest = ""
    if agreement is not None:
        previous = next((v for v in context["versions"] if v.version < agreement.version), None)
        digest = agreement.content_digest()
        if agreement.is_draft and previous is not None:
            old = queries.agreement_for_version(previous.version)
            changes = _sections(queries.compare_agreements(old, agreement))
    context.update(
        previous=previous,
        sign_sides=_sign_sides(request.user, agreement) if agreement else [],
        is_ops=roles.has_role(request.user, roles.OPS),
        changes=changes,
        digest=digest,
        signatures_verified=_verified(agreement, digest),
        touch_kinds_text=queries.touch_kinds_text(agreement),
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
@require_POST
def new_draft(request: HttpRequest, version: int) -> HttpResponse:
    """Ops start a draft from a version in one click, then edit it in the admin."""
    if not roles.has_role(request.user, roles.OPS):
        raise PermissionDenied
    source = get_object_or_404(Agreement, version=version)
    draft = services.clone(source, by=request.user)
    messages.success(
        request,
        f"Draft version {draft.version} holds a copy of version {version}: edit its rules, "
        "calendar, glossary and stage definitions here, then ask for signatures on the playbook.",
    )
    return redirect("admin:agreements_agreement_change", draft.pk)


@login_required
@require_POST
def request_signatures(request: HttpRequest, version: int) -> HttpResponse:
    """Ops ask the marketing and sales leads to sign a draft (each is told once)."""
    if not roles.has_role(request.user, roles.OPS):
        raise PermissionDenied
    agreement = get_object_or_404(Agreement, version=version)
    try:
        told = services.request_signatures(agreement, request.user)
    except AgreementError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            f"The marketing and sales leads were asked to sign version {version} "
            f"({told} {'person' if told == 1 else 'people'} not yet asked for this wording).",
        )
    return redirect(reverse("leads:playbook") + f"?version={version}")


@login_required
def content_export(request: HttpRequest, version: int) -> JsonResponse:
    """A version's whole content as JSON with its digest and signatures, to verify later."""
    agreement = get_object_or_404(Agreement, version=version)
    body = {
        "content": signed_content.content(agreement),
        "sha256": agreement.content_digest(),
        "signatures": {
            side: {
                "signed_by": getattr(agreement, f"{side}_signed_by_id"),
                "signed_at": getattr(agreement, f"{side}_signed_at"),
                "sha256": digest,
            }
            for side, digest in agreement.signed_digests().items()
        },
    }
    response = JsonResponse(body, json_dumps_params={"ensure_ascii": False, "indent": 2})
    response["Content-Disposition"] = f'attachment; filename="agreement-v{version}.json"'
    return response


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
    sections = _sections(differences)
    return render(
        request,
        "agreements/changes.html",
        {"versions": versions, "old": old, "new": new, "sections": sections},
    )
