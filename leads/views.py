"""Pages for people: each role's home, the rep's queue, the lead page, the manager's team
and lead desk, and marketing's feedback inbox.

Every action is a plain form POST that redirects back (it works without JavaScript);
htmx posts the same forms and swaps in the fresh panel of the page it lands on.
Form errors answer 422 and a real conflict 409, both with the panel re-rendered, what
was typed still in it and the message inline (htmx swaps those too, see the htmx-config
meta tag in base.html; 422 rather than 400, which django-htmx's DEBUG handler would show
as a whole error page). Touches are appended to the lead as it is now and never conflict.
Times are shown in the business calendar's time zone, labelled.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_fsm import can_proceed

from agreements import roles
from agreements.models import Agreement
from agreements.stages import Stage
from agreements.views import playbook_context

from . import diagrams, queries, services, timeline
from .decorators import role_required
from .forms import (
    TOUCH_CHOICES,
    TRANSITION_FORMS,
    InboxFilterForm,
    QueueFilterForm,
    ReassignForm,
    ReplyForm,
    TouchForm,
    TransitionForm,
)
from .models import Activity, Deal, Feedback, Lead, LeadError, StaleLead, sales_may

HOME_BY_ROLE = {
    roles.SALES_REP: "leads:queue",
    roles.SALES_MANAGER: "leads:team",
    roles.MARKETING: "leads:marketing",
    roles.OPS: "leads:ops",
}
PAGE_SIZE = 25
TOUCH_ID = "id_touch_%s"
# A form the user can correct: the panel comes back with the errors and what was typed.
INVALID = 422
# Someone else changed the lead in a way that matters: nothing was saved.
CONFLICT = 409


def _business_zone() -> ZoneInfo | None:
    """The time zone of the agreement in force's business calendar (None: the site's)."""
    agreement = Agreement.current()
    if agreement is None or agreement.calendar is None:
        return None
    return ZoneInfo(agreement.calendar.time_zone)


def _render(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    """Render a workspace page with its times in the business calendar's time zone."""
    zone = _business_zone()
    if zone is None:
        return render(request, template, context, status=status)
    with timezone.override(zone):
        return render(request, template, context, status=status)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send each role to its own home page."""
    role = roles.primary_role(request.user)
    if role is None:
        return render(request, "leads/no_role.html", status=403)
    return redirect(HOME_BY_ROLE[role])


@login_required
def playbook(request: HttpRequest) -> HttpResponse:
    """The playbook: the agreement's page, with the lifecycle graph drawn from Lead's stages."""
    context = playbook_context(request)
    context["lifecycle_diagram"] = diagrams.lifecycle_diagram(
        context["definitions"], diagrams.lifecycle_transitions(), context["clock_text"]
    )
    return render(request, "agreements/playbook.html", context)


# --- Queues ----------------------------------------------------------------------


def _queue_context(request: HttpRequest, leads: Any) -> dict[str, Any]:
    """Filters, urgency counts and one page of a queue (a fixed number of queries)."""
    form = QueueFilterForm(request.GET or None)
    filters = form.filters()
    counts = queries.urgency_counts(leads)
    # The buckets already counted the whole queue and each bucket: no second count then.
    known = None
    if not filters:
        known = sum(counts.values())
    elif set(filters) == {"bucket"}:
        known = counts.get(filters["bucket"])
    page = queries.queue_page(
        queries.filter_leads(leads, filters), request.GET.get("page"), PAGE_SIZE, known
    )
    buckets = [(key, label, counts[key], means) for key, label, means in _bucket_columns()]
    return {
        "filter_form": form,
        "filtered": bool(filters),
        "page": page,
        "buckets": buckets,
        "bucket": filters.get("bucket", ""),
        "total": sum(counts.values()),
    }


@role_required(roles.SALES_REP, roles.SALES_MANAGER)
def queue(request: HttpRequest) -> HttpResponse:
    """The signed-in rep's own open leads, most urgent first."""
    context = _queue_context(request, queries.queue_for(request.user))
    context["title"] = "My queue"
    return _render(request, "leads/queue.html", context)


@role_required(roles.SALES_MANAGER)
def team(request: HttpRequest) -> HttpResponse:
    """The manager's reps and the lead desk, each with their open leads by queue bucket."""
    reps, desk_load = queries.team_load(request.user)
    totals = {key: sum(row.counts[key] for row in reps) for key in queries.Urgency.KEYS.values()}
    context = {
        "reps": reps,
        "desk": desk_load,
        "totals": totals,
        "total_open": sum(totals.values()),
        "columns": _bucket_columns(),
    }
    return render(request, "leads/team.html", context)


def _bucket_columns() -> list[tuple[str, str, str]]:
    """(key, label, definition) of each urgency bucket, most urgent first."""
    return [
        (key, queries.Urgency.LABELS[value], queries.Urgency.DEFINITIONS[value])
        for value, key in queries.Urgency.KEYS.items()
    ]


@role_required(roles.SALES_MANAGER)
def team_rep(request: HttpRequest, user_id: int) -> HttpResponse:
    """One rep's queue, seen by their manager, with bulk reassignment."""
    reps = list(queries.managed_reps(request.user))
    rep = next((r for r in reps if r.user_id == user_id), None)
    if rep is None:
        raise Http404("No such rep in your teams.")
    context = _queue_context(request, queries.queue_for(rep.user))
    context.update(
        {
            "rep": rep,
            "title": f"{roles.display_name(rep.user)}'s queue",
            "reassign_form": ReassignForm(
                reps=[r for r in reps if r.user_id != user_id],
                initial={"next": request.get_full_path()},
            ),
        }
    )
    return _render(request, "leads/team_rep.html", context)


@role_required(roles.SALES_MANAGER)
def desk(request: HttpRequest) -> HttpResponse:
    """Open leads nobody owns that sales works, with bulk assignment to the manager's reps;
    `?side=marketing` lists marketing's unowned Suspects and Fans instead."""
    marketings = request.GET.get("side") == "marketing"
    context = _queue_context(request, queries.desk_leads(marketings))
    context["side"] = "marketing" if marketings else ""
    context["marketings_count"] = queries.marketings_without_owner_count()
    context["reassign_form"] = ReassignForm(
        reps=queries.managed_reps(request.user),
        allow_desk=False,
        initial={"next": request.get_full_path()},
    )
    return _render(request, "leads/desk.html", context)


@require_POST
@role_required(roles.SALES_MANAGER)
def reassign(request: HttpRequest) -> HttpResponse:
    """Move the ticked leads to a rep of the manager's teams (or back to the desk)."""
    form = ReassignForm(request.POST, reps=queries.managed_reps(request.user))
    back = _safe_next(request, form.data.get("next"), reverse("leads:team"))
    if not form.is_valid():
        errors = "; ".join(e for errs in form.errors.values() for e in errs)
        messages.error(request, f"Nothing was reassigned: {errors}")
        return redirect(back)
    wanted = set(form.cleaned_data["leads"])
    leads = Lead.objects.visible_to(request.user).filter(pk__in=wanted)
    if leads.count() != len(wanted):
        raise Http404("Some of these leads are not in your teams.")
    target = form.target()
    try:
        done = services.reassign(leads, target, by=request.user, reason=form.cleaned_data["reason"])
    except LeadError as exc:
        messages.error(request, f"Nothing was reassigned: {exc}")
    else:
        name = roles.display_name(target) if target else "the lead desk"
        count = len(done)
        messages.success(request, f"Moved {count} lead{'s' if count != 1 else ''} to {name}.")
    return redirect(back)


def _safe_next(request: HttpRequest, candidate: str | None, default: str) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


# --- Marketing -------------------------------------------------------------------


@role_required(roles.MARKETING, roles.OPS)
def marketing(request: HttpRequest) -> HttpResponse:
    """Marketing's feedback inbox: what sales said, grouped and filterable."""
    form = InboxFilterForm(request.GET or None)
    filters = form.filters()
    items = queries.feedback_inbox(filters)
    group = filters.get("group", "reason")
    groups = queries.feedback_groups(items, group)
    for g in groups:
        if g.filter_value is not None and g.filter_value != "":
            query = request.GET.copy()
            query.pop("page", None)
            query[group] = g.filter_value
            g.url = "?" + query.urlencode()
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "filter_form": form,
        "filtered": any(k != "group" for k in filters),
        "page": page,
        "group": group,
        "group_label": queries.INBOX_GROUPS[group][1],
        "groups": groups,
        "reply_form": ReplyForm(),
    }
    return _render(request, "leads/marketing.html", context)


@require_POST
@login_required
def feedback_reply(request: HttpRequest, feedback_id: int) -> HttpResponse:
    """Answer a piece of feedback; the reply shows in the lead page's thread."""
    feedback = get_object_or_404(
        Feedback.objects.select_related("lead", "reply_to"),
        pk=feedback_id,
        lead__in=Lead.objects.visible_to(request.user),
    )
    lead = feedback.lead
    if not (roles.is_marketing(request.user) or sales_may(lead, request.user)):
        raise PermissionDenied("Only marketing and the lead's sales side can reply.")
    back = _safe_next(request, request.POST.get("next"), lead.get_absolute_url())
    form = ReplyForm(request.POST)
    if not form.is_valid():
        too_long = form.has_error("text", "max_length")
        messages.error(
            request,
            form.errors["text"][0] if too_long else "Write something to reply.",
        )
        return redirect(back)
    try:
        services.reply_to_feedback(feedback, by=request.user, text=form.cleaned_data["text"])
    except LeadError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Reply posted.")
    return redirect(back)


@role_required(roles.OPS)
def ops(request: HttpRequest) -> HttpResponse:
    """Ops' home: links to the admin, imports and the playbook."""
    return render(request, "leads/ops.html")


# --- The lead page ---------------------------------------------------------------


def _lead_or_404(request: HttpRequest, lead_id: int) -> Lead:
    try:
        return queries.lead_for_page(request.user, lead_id)
    except Lead.DoesNotExist as exc:
        raise Http404("No such lead.") from exc


@login_required
def lead_detail(request: HttpRequest, lead_id: int) -> HttpResponse:
    """The single view of one lead: facts, SLA clock, timeline, history, deals, feedback.
    A merged lead's old id leads to the lead it was merged into, if the user may see it."""
    try:
        lead = queries.lead_for_page(request.user, lead_id)
    except Lead.DoesNotExist:
        return _to_survivor(request, lead_id)
    return _render_lead(request, lead)


def _to_survivor(request: HttpRequest, lead_id: int) -> HttpResponse:
    found = queries.merged_lead_and_survivor(lead_id)
    if found is None:
        return _not_found(request)
    merged, survivor = found
    try:
        survivor = queries.lead_for_page(request.user, survivor.pk)
    except Lead.DoesNotExist:
        return _not_found(request)
    when = dateformat.format(timezone.localtime(merged.updated_at), "j M Y")
    messages.info(request, f"{merged.email} was merged into this lead on {when}.")
    return redirect(survivor)


def _not_found(request: HttpRequest) -> HttpResponse:
    """A lead page the user may not open (or no lead): a 404 that says what may have
    happened, the same words whether the lead exists or not. Links in digests and emails
    outlive the leads' owners."""
    return render(request, "leads/lead_not_found.html", status=404)


def _action_label(lead: Lead, name: str, label: str) -> str:
    if lead.stage == Stage.OPPORTUNITY and name == "disqualify":
        return "Deal lost: disqualify"
    if lead.stage == Stage.OPPORTUNITY and name == "nurture":
        return "Deal lost: nurture for later"
    return label


def _transition_form(lead: Lead, name: str, data: Any = None) -> TransitionForm:
    form_class = TRANSITION_FORMS.get(name, TransitionForm)
    kwargs: dict[str, Any] = {
        "initial": {"name": name, "version": lead.version, "stage": lead.stage},
        "auto_id": f"id_{name}_%s",
    }
    if form_class is TRANSITION_FORMS["disqualify"]:
        kwargs["needs_feedback"] = _needs_feedback(lead)
    return form_class(data, **kwargs)


def _needs_feedback(lead: Lead) -> bool:
    return lead.channel is not None and lead.channel.is_marketing_sourced


def _render_lead(
    request: HttpRequest,
    lead: Lead,
    *,
    touch_form: TouchForm | None = None,
    failed: tuple[str, TransitionForm] | None = None,
    notice: str = "",
    status: int = 200,
) -> HttpResponse:
    """The lead page, or only its panel for htmx; `failed` re-shows a bound form with its
    errors and what was typed. A bound form the page no longer offers (the lead moved on)
    is shown as text to copy, under "Not saved"."""
    user = request.user
    is_sales = roles.has_role(user, roles.SALES_REP, roles.SALES_MANAGER) and sales_may(lead, user)
    actions = []
    for name, label in services.available_transitions(lead, user):
        if failed and failed[0] == name:
            form, is_open = failed[1], True
        else:
            form, is_open = _transition_form(lead, name), False
        actions.append(
            {
                "name": name,
                "label": _action_label(lead, name, label),
                "form": form,
                "open": is_open,
                "needs_input": name in TRANSITION_FORMS,
            }
        )
    is_manager = roles.has_role(user, roles.SALES_MANAGER) and is_sales and lead.is_open
    can_touch = is_sales and lead.is_open
    deals = queries.deals(lead)
    unsaved = []
    if failed and failed[0] not in {a["name"] for a in actions}:
        unsaved = _typed(failed[1])
    keep_as_note = None
    if touch_form is not None and touch_form.is_bound and not can_touch:
        unsaved += _typed(touch_form)
        if is_sales and touch_form.data.get("kind") != "note":
            keep_as_note = touch_form.data
    side = timeline.chosen_side(request.GET.get("side", ""))
    # Read once for the page's lists and its timeline.
    history = queries.stage_history(lead)
    assignments = queries.assignments(lead, limit=timeline.LIMIT)
    context = {
        "lead": lead,
        "timeline": timeline.timeline(
            lead, side=side, stage_changes=history, assignments=assignments
        ),
        "timeline_limit": timeline.LIMIT,
        "timeline_side": side,
        "timeline_sides": Activity.Side.choices,
        "history": history,
        "deals": deals,
        "open_deal": next((d for d in deals if d.status == Deal.Status.OPEN), None),
        "threads": queries.feedback_threads(lead),
        "assignments": assignments[: queries.ASSIGNMENTS_SHOWN],
        "actions": actions,
        "simple_actions": [a for a in actions if not a["needs_input"]],
        "input_actions": [a for a in actions if a["needs_input"]],
        "can_junk": lead.stage not in services.SALES_ACCEPTED_STAGES
        and any(a["name"] == "disqualify" for a in actions),
        "touch_form": touch_form or TouchForm(auto_id=TOUCH_ID),
        "can_touch": can_touch,
        "unsaved": unsaved,
        "keep_as_note": keep_as_note,
        "can_reply": is_sales or roles.is_marketing(user),
        "reply_form": ReplyForm(),
        "is_sales": is_sales,
        "notice": notice,
        "reassign_form": ReassignForm(
            reps=queries.managed_reps(user), initial={"next": lead.get_absolute_url()}
        )
        if is_manager
        else None,
    }
    template = "leads/_lead_panel.html" if request.htmx else "leads/lead_detail.html"
    return _render(request, template, context, status=status)


def _typed(form: Any) -> list[tuple[str, str]]:
    """(label, text) of what the user typed into a bound form, for them to copy."""
    typed = []
    for field in form.visible_fields():
        value = form.data.get(field.html_name, "")
        if isinstance(field.field, forms.ChoiceField) and value:
            value = dict(field.field.choices).get(value, value)
        if str(value).strip():
            typed.append((str(field.label), str(value)))
    return typed


def _what_changed(lead: Lead, seen_stage: str) -> str:
    """The stage move someone else made since the user's page showed the lead, as words
    ("Bob moved it from Working to Sales Qualified (Dec 6, 10:02 CET)"); "" if none."""
    if not seen_stage or seen_stage == lead.stage:
        return ""
    latest = queries.stage_history(lead)[:1]
    if not latest or latest[0].to_stage != lead.stage:
        return f"it is now {lead.get_stage_display()}"
    moved = latest[0]
    who = roles.display_name(moved.by) if moved.by else "the system"
    at = dateformat.format(timezone.localtime(moved.at, _business_zone()), "M j, H:i T")
    return (
        f"{who} moved it from {moved.get_from_stage_display()} to "
        f"{moved.get_to_stage_display()} ({at})"
    )


def _conflict(
    request: HttpRequest,
    lead_id: int,
    seen_stage: str,
    *,
    failed: tuple[str, TransitionForm] | None = None,
    touch_form: TouchForm | None = None,
    why: str = "",
) -> HttpResponse:
    """Someone else changed the lead in a way that matters: show the fresh lead, say what
    changed and that nothing was saved, with everything the user typed still there."""
    lead = _lead_or_404(request, lead_id)
    what = _what_changed(lead, seen_stage)
    notice = (
        "This lead was changed by someone else while you were looking at it"
        + (f": {what}." if what else ".")
        + " "
        + (
            why
            or "Nothing was saved; what you typed is still here. Check the lead and send it again."
        )
    )
    return _render_lead(
        request, lead, failed=failed, touch_form=touch_form, notice=notice, status=CONFLICT
    )


@require_POST
@login_required
def lead_touch(request: HttpRequest, lead_id: int) -> HttpResponse:
    """Log a touch or a note on the lead as it is now; the first sales touch on an MQL
    starts Working and settles the SLA. What changed meanwhile does not matter, unless
    the lead closed: then the typed text comes back, not saved."""
    lead = _lead_or_404(request, lead_id)
    if not (
        roles.has_role(request.user, roles.SALES_REP, roles.SALES_MANAGER)
        and sales_may(lead, request.user)
    ):
        raise PermissionDenied("Only the lead's rep or their manager can log a touch.")
    form = TouchForm(request.POST, auto_id=TOUCH_ID)
    if not form.is_valid():
        return _render_lead(request, lead, touch_form=form, status=INVALID)
    kind = form.cleaned_data["kind"]
    try:
        activity = services.log_touch(
            lead,
            by=request.user,
            kind=kind,
            subject=form.cleaned_data["subject"],
            body=form.cleaned_data["body"],
        )
    except LeadError as exc:
        fresh = _lead_or_404(request, lead_id)
        seen_stage = form.cleaned_data["stage"] or lead.stage
        if fresh.stage != seen_stage:
            why = f"{exc} Nothing was saved; what you typed is below."
            return _conflict(request, lead_id, seen_stage, touch_form=form, why=why)
        return _render_lead(request, fresh, touch_form=form, notice=str(exc), status=INVALID)
    label = "Note" if kind == Activity.Kind.NOTE else dict(TOUCH_CHOICES)[kind]
    messages.success(request, services.logged_message(activity, label))
    return redirect(lead.get_absolute_url())


@require_POST
@login_required
def lead_transition(request: HttpRequest, lead_id: int) -> HttpResponse:
    """Run one lifecycle transition the user may run now (with its inputs).

    A page whose lead changed meanwhile is refused only when its stage moved (a real
    conflict: the form comes back with what was typed and what changed); a touch, a
    reassignment within the team or the SLA check's breach does not stop the action.
    """
    lead = _lead_or_404(request, lead_id)
    name = request.POST.get("name", "")
    if name not in services.TRANSITIONS:
        return _render_lead(request, lead, notice="Unknown action.", status=INVALID)
    form = _transition_form(lead, name, request.POST)
    seen_stage = request.POST.get("stage", "")
    if not form.is_valid():
        if "version" in form.errors:
            return _render_lead(
                request, lead, notice="Reload the page and try again.", status=INVALID
            )
        if seen_stage and seen_stage != lead.stage:
            return _conflict(request, lead_id, seen_stage, failed=(name, form))
        return _render_lead(request, lead, failed=(name, form), status=INVALID)
    data = form.cleaned_data
    expected = data["version"]
    if expected != lead.version:
        if seen_stage != lead.stage:
            return _conflict(request, lead_id, seen_stage, failed=(name, form))
        expected = lead.version
    label = _action_label(lead, name, services.transition_label(name))
    method = getattr(lead, name)
    if can_proceed(method, check_conditions=False) and not services.may_run(
        lead, name, request.user
    ):
        raise PermissionDenied("Your role may not run this action on this lead.")
    try:
        if name == "disqualify":
            services.disqualify_with_feedback(
                lead,
                by=request.user,
                reason=data["reason"],
                fit=data.get("fit", ""),
                feedback_reason=data.get("feedback_reason", ""),
                text=data.get("feedback_text", ""),
                expected_version=expected,
            )
        else:
            arguments: dict[str, Any] = {"note": data.get("note", "")}
            if name == "nurture":
                arguments["return_on"] = data["return_on"]
            if name == "open_opportunity":
                arguments["amount"] = data["amount"]
            services.run_transition(
                lead, name, by=request.user, expected_version=expected, **arguments
            )
    except StaleLead:
        return _conflict(request, lead_id, lead.stage, failed=(name, form))
    except LeadError as exc:
        if name not in dict(services.available_transitions(lead, request.user)):
            # The page offers no form for this action now (its channel forbids it, say):
            # the reason goes where the page shows it, not into a form it does not draw.
            return _render_lead(request, lead, notice=str(exc), status=INVALID)
        form.add_error(None, str(exc))
        return _render_lead(request, lead, failed=(name, form), status=INVALID)
    messages.success(request, f"Done: {label}.")
    return redirect(lead.get_absolute_url())


@require_POST
@login_required
def lead_junk(request: HttpRequest, lead_id: int) -> HttpResponse:
    """Disqualify a bot sign-up or test entry as junk / spam, with no feedback to give."""
    lead = _lead_or_404(request, lead_id)
    if can_proceed(lead.disqualify, check_conditions=False) and not services.may_run(
        lead, "disqualify", request.user
    ):
        raise PermissionDenied("Your role may not disqualify this lead.")
    seen_stage = request.POST.get("stage", "")
    moved = f"This lead moved on since you opened it (it is now {lead.get_stage_display()}): "
    if seen_stage != lead.stage:
        return _render_lead(request, lead, notice=moved + "look again.", status=INVALID)
    try:
        services.mark_junk(lead, by=request.user, expected_version=lead.version)
    except StaleLead:
        return _render_lead(request, lead, notice=moved + "look again.", status=INVALID)
    except LeadError as exc:
        return _render_lead(request, lead, notice=str(exc), status=INVALID)
    messages.success(request, "Done: disqualified as junk / spam (no feedback to marketing).")
    return redirect(lead.get_absolute_url())
