"""The lead page's "Rate the content you used" panel, loaded lazily by htmx, and its form.

Only leads the user may see answer (404 otherwise); only the versions the user used on
the lead can be rated (content.ratings checks it again).
"""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from agreements import roles
from leads.decorators import role_required
from leads.models import Lead

from . import ratings
from .models import AssetVersion, Rating

EVERY_ROLE = (roles.OPS, roles.MARKETING, roles.SALES_MANAGER, roles.SALES_REP)


class RatingForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    helped = forms.TypedChoiceField(
        choices=[("yes", "It helped"), ("no", "It didn't")],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        label="Did it help?",
    )
    reason = forms.CharField(max_length=ratings.REASON_LIMIT, label="Why")


def _lead(request: HttpRequest, lead_id: int) -> Lead:
    return get_object_or_404(Lead.objects.visible_to(request.user), pk=lead_id)


def _panel(request: HttpRequest, lead: Lead, problem: str = "", status: int = 200) -> HttpResponse:
    uses = ratings.used_by(request.user, lead)
    others = (
        Rating.objects.filter(lead=lead)
        .exclude(rep=request.user)
        .select_related("rep", "version__asset")
        .order_by("-rated_at")[:20]
    )
    return render(
        request,
        "content/rating_panel.html",
        {
            "lead": lead,
            "uses": uses,
            "others": others,
            "problem": problem,
            "asks": roles.has_role(request.user, roles.SALES_REP, roles.SALES_MANAGER),
        },
        status=status,
    )


@role_required(*EVERY_ROLE)
def lead_feedback(request: HttpRequest, lead_id: int) -> HttpResponse:
    """The panel: the assets you used on this lead with your rating, others' ratings, and
    a way to request content."""
    return _panel(request, _lead(request, lead_id))


@role_required(*ratings.RATERS)
@require_POST
def rate(request: HttpRequest, lead_id: int) -> HttpResponse:
    """Rate (or re-rate) a version you used on this lead; answers with the panel."""
    lead = _lead(request, lead_id)
    form = RatingForm(request.POST)
    if not form.is_valid():
        return _panel(request, lead, "Say whether it helped, and why.", status=422)
    version = get_object_or_404(AssetVersion, pk=form.cleaned_data["version"])
    try:
        ratings.rate(
            request.user,
            lead,
            version,
            helped=form.cleaned_data["helped"],
            reason=form.cleaned_data["reason"],
        )
    except ratings.RatingError as exc:
        return _panel(request, lead, str(exc), status=422)
    if request.headers.get("HX-Request"):
        return _panel(request, lead)
    return redirect(lead.get_absolute_url())
