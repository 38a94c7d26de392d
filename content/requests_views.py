"""Content requests in the browser: sales asks, marketing's inbox, answering.

Every view checks the role and the row: a request another user may not see answers 404,
and only marketing and Ops take or answer one (content.requests enforces it again).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Case, Count, F, IntegerField, Q, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from agreements import roles
from agreements.models import Persona
from agreements.stages import Stage
from leads.decorators import role_required
from leads.models import Lead

from . import requests as service
from .models import Asset

EVERY_ROLE = (roles.OPS, roles.MARKETING, roles.SALES_MANAGER, roles.SALES_REP)
PAGE = 200


class RequestForm(forms.Form):
    text = forms.CharField(
        label="What content do you need?",
        max_length=service.TEXT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="E.g. “a deck for healthcare CFOs”: who it is for and what it should do.",
    )
    persona = forms.ModelChoiceField(
        queryset=Persona.objects.filter(is_active=True), required=False, label="For persona"
    )
    stage = forms.ChoiceField(
        choices=[("", "Any stage"), *Stage.choices], required=False, label="For stage"
    )
    lead = forms.IntegerField(required=False, widget=forms.HiddenInput)


class AnswerForm(forms.Form):
    asset = forms.ModelChoiceField(
        queryset=Asset.objects.filter(status=Asset.Status.PUBLISHED).order_by("title"),
        required=False,
        label="Answer with an asset",
        help_text="A published asset of the library.",
    )
    text = forms.CharField(
        label="Answer",
        max_length=service.TEXT_LIMIT,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("asset") and not (data.get("text") or "").strip():
            raise forms.ValidationError("Answer with an asset, a few words, or both.")
        return data


@role_required(*EVERY_ROLE)
def request_list(request: HttpRequest) -> HttpResponse:
    """Marketing's inbox (every request, open ones first, soonest due first) or a seller's
    own requests."""
    now = timezone.now()
    rows = service.visible_requests(request.user).annotate(
        open_first=Case(
            When(answered_at__isnull=True, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        )
    )
    show = request.GET.get("show", "open")
    if show == "open":
        rows = rows.filter(answered_at__isnull=True)
    soonest = F("due_at").asc(nulls_last=True)
    rows = rows.order_by("open_first", soonest, "-created_at", "-pk")[:PAGE]
    counts = service.visible_requests(request.user).aggregate(
        open=_count(Q(answered_at__isnull=True)),
        overdue=_count(Q(answered_at__isnull=True, due_at__lte=now)),
    )
    return render(
        request,
        "content/request_list.html",
        {
            "rows": rows,
            "now": now,
            "show": show,
            "counts": counts,
            "answers": roles.has_role(request.user, *service.ANSWERERS),
            "asks": roles.has_role(request.user, *service.REQUESTERS),
        },
    )


def _count(condition: Q) -> Count:
    return Count("pk", filter=condition)


@role_required(*service.REQUESTERS)
def request_new(request: HttpRequest) -> HttpResponse:
    """A rep or sales manager asks marketing for content (optionally about a lead)."""
    lead = _lead_of(request, request.GET.get("lead") or request.POST.get("lead"))
    form = RequestForm(request.POST or None, initial={"lead": lead.pk if lead else None})
    if request.method == "POST" and form.is_valid():
        try:
            made = service.request_content(
                request.user,
                form.cleaned_data["text"],
                persona=form.cleaned_data["persona"],
                stage=form.cleaned_data["stage"],
                lead=lead,
            )
        except service.RequestError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Marketing has your request and has been told.")
            return redirect("content:request_detail", made.pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "content/request_form.html", {"form": form, "lead": lead}, status=status)


def _lead_of(request: HttpRequest, value: Any) -> Lead | None:
    """The lead a request is about: one the user may see, else 404."""
    if value in (None, ""):
        return None
    try:
        pk = int(value)
    except (TypeError, ValueError):
        return None
    return get_object_or_404(Lead.objects.visible_to(request.user), pk=pk)


@role_required(*EVERY_ROLE)
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One request, its clock and its answer; marketing answers it here."""
    found = get_object_or_404(service.visible_requests(request.user), pk=pk)
    answers = roles.has_role(request.user, *service.ANSWERERS)
    return render(
        request,
        "content/request_detail.html",
        {
            "req": found,
            "now": timezone.now(),
            "answers": answers,
            "form": AnswerForm() if answers and not found.is_answered else None,
        },
    )


@role_required(*service.ANSWERERS)
@require_POST
def request_answer(request: HttpRequest, pk: int) -> HttpResponse:
    """Marketing answers a request with an asset and/or words; the requester is told."""
    found = get_object_or_404(service.visible_requests(request.user), pk=pk)
    form = AnswerForm(request.POST)
    if form.is_valid():
        try:
            service.answer(
                found,
                request.user,
                text=form.cleaned_data["text"],
                asset=form.cleaned_data["asset"],
            )
        except service.RequestError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Answered: the requester has been told.")
            return redirect("content:request_detail", found.pk)
    return render(
        request,
        "content/request_detail.html",
        {"req": found, "now": timezone.now(), "answers": True, "form": form},
        status=422,
    )


@role_required(*service.ANSWERERS)
@require_POST
def request_take(request: HttpRequest, pk: int) -> HttpResponse:
    """A marketer takes a request: its warnings come to them from now on."""
    found = get_object_or_404(service.visible_requests(request.user), pk=pk)
    try:
        service.take(found, request.user)
    except service.RequestError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "You took this request.")
    return redirect("content:request_detail", found.pk)
