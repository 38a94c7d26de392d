"""Pages for people: each role's home, the rep's queue and the lead page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from . import queries, roles, services
from .decorators import role_required
from .forms import TouchForm, TransitionForm
from .models import Lead, LeadError, RepProfile
from .stages import Stage

HOME_BY_ROLE = {
    roles.SALES_REP: "leads:queue",
    roles.SALES_MANAGER: "leads:team",
    roles.MARKETING: "leads:marketing",
    roles.OPS: "leads:ops",
}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send each role to its own home page."""
    role = roles.primary_role(request.user)
    if role is None:
        return render(request, "leads/no_role.html", status=403)
    return redirect(HOME_BY_ROLE[role])


@role_required(roles.SALES_REP, roles.SALES_MANAGER)
def queue(request: HttpRequest) -> HttpResponse:
    """The signed-in rep's own leads, most urgent first."""
    leads = queries.queue_for(request.user)
    stage = request.GET.get("stage", "")
    if stage in Stage.values:
        leads = leads.filter(stage=stage)
    search = request.GET.get("q", "").strip()
    if search:
        leads = leads.filter(
            Q(email__icontains=search)
            | Q(first_name__icontains=search)
            | Q(last_name__icontains=search)
            | Q(company__icontains=search)
        )
    page = Paginator(leads, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "leads/queue.html",
        {"page": page, "stage": stage, "q": search, "stages": Stage.choices},
    )


@role_required(roles.SALES_MANAGER)
def team(request: HttpRequest) -> HttpResponse:
    """The manager's reps with their open load."""
    reps = (
        RepProfile.objects.filter(team__manager=request.user)
        .select_related("user", "team")
        .annotate(
            open_leads=Count(
                "user__owned_leads",
                filter=Q(user__owned_leads__stage__in=queries.QUEUE_STAGES),
            ),
            breached=Count(
                "user__owned_leads",
                filter=Q(user__owned_leads__sla_status=Lead.SLAStatus.BREACHED),
            ),
        )
        .order_by("team__name", "user__username")
    )
    return render(request, "leads/team.html", {"reps": reps})


@role_required(roles.SALES_MANAGER)
def desk(request: HttpRequest) -> HttpResponse:
    """Open leads nobody owns yet."""
    leads = (
        Lead.objects.filter(owner__isnull=True, stage__in=queries.QUEUE_STAGES)
        .select_related("channel", "campaign")
        .order_by("sla_due_at", "-created_at", "id")
    )
    page = Paginator(leads, 50).get_page(request.GET.get("page"))
    return render(request, "leads/desk.html", {"page": page})


@role_required(roles.MARKETING, roles.OPS)
def marketing(request: HttpRequest) -> HttpResponse:
    return render(request, "leads/marketing.html")


@role_required(roles.MARKETING, roles.OPS)
def imports(request: HttpRequest) -> HttpResponse:
    return render(request, "leads/imports.html")


@role_required(roles.OPS)
def ops(request: HttpRequest) -> HttpResponse:
    return render(request, "leads/ops.html")


def _lead_or_404(request: HttpRequest, lead_id: int) -> Lead:
    try:
        return queries.lead_for_page(request.user, lead_id)
    except Lead.DoesNotExist as exc:
        raise Http404("No such lead.") from exc


@login_required
def lead_detail(request: HttpRequest, lead_id: int) -> HttpResponse:
    """The single view of one lead: facts, SLA clock, timeline, stage history, actions."""
    lead = _lead_or_404(request, lead_id)
    return _render_lead(request, lead)


def _render_lead(
    request: HttpRequest,
    lead: Lead,
    *,
    touch_form: TouchForm | None = None,
    status: int = 200,
) -> HttpResponse:
    transitions = services.available_transitions(lead, request.user)
    context = {
        "lead": lead,
        "timeline": queries.timeline(lead),
        "history": queries.stage_history(lead),
        "deals": list(lead.deals.all()),
        "feedback": list(lead.feedback.select_related("author")),
        "transitions": transitions,
        "touch_form": touch_form or TouchForm(initial={"version": lead.version}),
        "can_touch": roles.has_role(request.user, roles.SALES_REP, roles.SALES_MANAGER)
        and lead.is_open,
        "needs_feedback": lead.channel is not None and lead.channel.is_marketing_sourced,
    }
    return render(request, "leads/lead_detail.html", context, status=status)


@require_POST
@login_required
def lead_touch(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = _lead_or_404(request, lead_id)
    form = TouchForm(request.POST)
    if not form.is_valid():
        return _render_lead(request, lead, touch_form=form, status=400)
    try:
        services.log_touch(
            lead,
            by=request.user,
            kind=form.cleaned_data["kind"],
            subject=form.cleaned_data["subject"],
            body=form.cleaned_data["body"],
            expected_version=form.cleaned_data["version"],
        )
    except LeadError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Touch logged.")
    return redirect(lead.get_absolute_url())


@require_POST
@login_required
def lead_transition(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = _lead_or_404(request, lead_id)
    form = TransitionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Please check the form: " + form.errors.as_text())
        return redirect(lead.get_absolute_url())
    data = form.cleaned_data
    name = data["name"]
    arguments: dict[str, object] = {"note": data["note"]}
    try:
        if name == "disqualify":
            services.disqualify_with_feedback(
                lead,
                by=request.user,
                reason=data["reason"],
                fit=data["fit"],
                feedback_reason=data["feedback_reason"],
                text=data["feedback_text"],
                expected_version=data["version"],
            )
        else:
            if name == "nurture":
                arguments["return_on"] = data["return_on"]
            if name == "open_opportunity":
                arguments["amount"] = data["amount"]
            services.run_transition(
                lead, name, by=request.user, expected_version=data["version"], **arguments
            )
    except LeadError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Done: {services.transition_label(name)}.")
    return redirect(lead.get_absolute_url())
