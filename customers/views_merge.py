"""Merge pages: the plan and its confirmation, the merge log, and undo (customers.merge)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from agreements import roles
from config.ids import as_id
from leads.decorators import role_required
from leads.models import Lead

from . import merge as merging
from .models import Merge

MERGE_ROLES = merging.MERGE_ROLES
CONFLICT = 409


def _ids(text: str) -> list[int]:
    """'1, 2,3' → [1, 2, 3]; a clear MergeError for anything else."""
    ids = [as_id(p) for p in text.split(",") if p.strip()]
    if not ids or None in ids:
        raise merging.MergeError("Give the leads to merge as ids, like ?ids=12,34.")
    return [i for i in ids if i is not None]


def _survivor(value: str | None) -> int | None:
    return as_id(value) if value else None


def _plan_page(
    request: HttpRequest,
    plan: merging.MergePlan | None,
    *,
    ids: str,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "customers/merge_plan.html",
        {"plan": plan, "ids": ids, "error": error},
        status=status,
    )


@role_required(*MERGE_ROLES)
@require_http_methods(["GET", "POST"])
def merge_plan(request: HttpRequest) -> HttpResponse:
    """GET: what merging these leads would do, with the survivor to choose. POST: merge."""
    data = request.POST if request.method == "POST" else request.GET
    ids_text = data.get("ids", "")
    try:
        ids = _ids(ids_text)
        plan = merging.plan_merge(ids, request.user, survivor=_survivor(data.get("survivor")))
    except merging.MergeError as exc:
        return _plan_page(request, None, ids=ids_text, error=str(exc), status=400)
    if request.method == "GET" or data.get("action") == "review":
        return _plan_page(request, plan, ids=ids_text)
    seen = {lead.pk: as_id(data.get(f"version_{lead.pk}", "")) for lead in plan.leads}
    if None in seen.values():
        return _plan_page(
            request, plan, ids=ids_text, error="Review the plan before merging.", status=400
        )
    plan.versions = {pk: v for pk, v in seen.items() if v is not None}
    try:
        merge = merging.merge_leads(plan, request.user)
    except merging.StalePlan as exc:
        fresh = merging.plan_merge(ids, request.user, survivor=plan.survivor.pk)
        return _plan_page(request, fresh, ids=ids_text, error=str(exc), status=CONFLICT)
    except merging.MergeError as exc:
        return _plan_page(request, plan, ids=ids_text, error=str(exc), status=400)
    messages.success(
        request,
        f"Merged {', '.join(lead.email for lead in plan.others)} into {plan.survivor.email}. "
        "You can undo it from this page.",
    )
    return redirect(merge)


def _merge_for(request: HttpRequest, merge_id: int) -> Merge:
    """A merge whose survivor the user may see (a sales manager: their teams' and the desk)."""
    merge = get_object_or_404(Merge.objects.select_related("merged_by", "undone_by"), pk=merge_id)
    if not merging.may_see_merge(request.user, merge):
        raise Http404("No such merge.")
    return merge


@role_required(*MERGE_ROLES)
def merge_detail(request: HttpRequest, merge_id: int) -> HttpResponse:
    """What a merge did: the leads, the values it replaced, the rows it moved; and undo."""
    merge = _merge_for(request, merge_id)
    return render(request, "customers/merge_detail.html", _detail_context(merge))


def _detail_context(merge: Merge) -> dict:
    survivor = Lead.with_merged.get(pk=merge.survivor_id)
    moved: dict[str, dict[str, int]] = {}
    for row in merge.moved_rows.all():
        counts = moved.setdefault(row.model, {"moved": 0, "changed": 0, "created": 0})
        counts[row.action] += 1
    problems = merging.undo_problems(merge)
    return {
        "merge": merge,
        "survivor": survivor,
        "merged_leads": list(merge.merged_leads.all()),
        "replaced": list(merge.replaced_values.all()),
        "moved": sorted(moved.items()),
        "problems": problems,
        "plan": merge.plan,
    }


@role_required(*MERGE_ROLES)
@require_http_methods(["GET", "POST"])
def merge_undo(request: HttpRequest, merge_id: int) -> HttpResponse:
    """GET: ask first. POST: undo, or say exactly what stands in the way."""
    merge = _merge_for(request, merge_id)
    if request.method == "GET":
        context = _detail_context(merge)
        return render(request, "customers/merge_undo.html", context)
    try:
        merging.undo_merge(merge, request.user)
    except merging.UndoRefused as exc:
        context = _detail_context(merge)
        context["error"] = str(exc)
        return render(request, "customers/merge_undo.html", context, status=CONFLICT)
    except merging.MergeError as exc:
        messages.error(request, str(exc))
        return redirect(merge)
    messages.success(request, "The merge was undone: every lead and row is as it was before.")
    return redirect(merge)


@role_required(*MERGE_ROLES)
def merge_list(request: HttpRequest) -> HttpResponse:
    """Every merge, newest first (a sales manager: those of leads they may see)."""
    merges = Merge.objects.select_related("merged_by", "undone_by").prefetch_related("merged_leads")
    if not roles.has_role(request.user, roles.OPS, roles.MARKETING):
        visible = Lead.with_merged.visible_to(request.user).values("pk")
        merges = merges.filter(survivor_id__in=visible)
    page = Paginator(merges.order_by("-merged_at", "-id"), 50).get_page(request.GET.get("page"))
    survivors = {
        lead.pk: lead
        for lead in Lead.with_merged.filter(pk__in=[m.survivor_id for m in page.object_list])
    }
    rows = [(m, survivors.get(m.survivor_id)) for m in page.object_list]
    return render(request, "customers/merge_list.html", {"page": page, "rows": rows})


@login_required
def merge_hint(request: HttpRequest, lead_id: int) -> HttpResponse:
    """The lead page's lazily loaded line on the merges into this lead (for those who may
    merge; empty for everyone else and for leads nothing was merged into)."""
    lead = get_object_or_404(Lead.objects.visible_to(request.user), pk=lead_id)
    merges = []
    if merging.may_merge(request.user):
        merges = list(
            Merge.objects.filter(survivor=lead, undone_at__isnull=True)
            .prefetch_related("merged_leads")
            .order_by("-merged_at", "-id")[:5]
        )
    return render(request, "customers/_merge_hint.html", {"merges": merges})
