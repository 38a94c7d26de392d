"""Leads in the admin: fast on a million rows, transitions as buttons that respect roles."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
)
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.functional import cached_property
from django.utils.html import format_html
from django_fsm import Transition
from django_fsm.admin import FSMAdminMixin, FSMTransitionContext

from agreements import roles
from config.ids import as_id

from . import services
from .import_admin import LeadImportExportMixin  # also registers the intake admin pages
from .importing.cleaning import CleanRow
from .importing.columns import FILL_FIELDS
from .importing.writer import Entry, TouchPoint, take_in_leads
from .models import (
    Account,
    Activity,
    Campaign,
    Deal,
    Feedback,
    Lead,
    LeadAlias,
    LeadError,
    RepProfile,
    StageChange,
    StaleLead,
    Team,
    normalize_email,
)

COUNT_CAP = 10_000


class CappedCountPaginator(Paginator):
    """Counts at most COUNT_CAP + 1 rows, so a million-row changelist never counts them all."""

    @cached_property
    def count(self) -> int:
        return self.object_list.values("pk")[: COUNT_CAP + 1].count()


class LeadAdminForm(forms.ModelForm):
    """The lead's change form carries the version it was loaded at, so a stale form is refused."""

    version = forms.IntegerField(widget=forms.HiddenInput, initial=1)

    def clean_email(self) -> str:
        """The lead's identity as stored, so the unique check sees "Ada@X" as "ada@x"; an
        address merged into another lead belongs to that lead."""
        email = normalize_email(self.cleaned_data.get("email"))
        alias = LeadAlias.objects.filter(email=email).select_related("lead").first()
        if alias is not None and alias.lead_id != self.instance.pk:
            raise forms.ValidationError(
                f"{email} was merged into {alias.lead}: it is that lead's address now. "
                "Edit that lead instead (or undo the merge)."
            )
        return email

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.instance.pk is not None:
            # Locked until the admin's transaction ends: nothing writes the lead between
            # this check and the save.
            current = (
                Lead.objects.select_for_update()
                .filter(pk=self.instance.pk)
                .values_list("version", flat=True)
            )
            if data.get("version") != current.first():
                raise forms.ValidationError(str(StaleLead()))
        return data


class TransitionForm(forms.ModelForm):
    """A transition's input page; the hidden version makes a stale page fail cleanly."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    note = forms.CharField(required=False, max_length=500)

    class Meta:
        model = Lead
        fields = ["version"]


class DisqualifyForm(TransitionForm):
    reason = forms.CharField(max_length=200, help_text="Why this lead is out: required.")
    fit = forms.ChoiceField(choices=[("", "—"), *Feedback.Fit.choices], required=False)
    feedback_reason = forms.ChoiceField(
        choices=[("", "—"), *Feedback.Reason.choices],
        required=False,
        help_text="Marketing-sourced leads need a fit and a feedback reason.",
    )
    feedback_text = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class NurtureForm(TransitionForm):
    return_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))


class OpenOpportunityForm(TransitionForm):
    amount = forms.DecimalField(min_value=0, max_digits=14, decimal_places=2)


class OwnerForm(forms.Form):
    """A new owner for a lead, chosen among the sales reps; blank puts it on the lead desk."""

    owner = forms.ModelChoiceField(
        queryset=User.objects.none(),
        required=False,
        empty_label="Nobody: the lead desk",
        help_text="Sales reps only.",
    )
    reason = forms.CharField(
        required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["owner"]
        field.queryset = User.objects.filter(rep_profile__isnull=False).order_by("username")
        field.label_from_instance = roles.display_name


class OwnerFilter(admin.SimpleListFilter):
    """Owner choices from the sales roles (a short list), not a scan of every lead's owner."""

    title = "owner"
    parameter_name = "owner"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        users = (
            User.objects.filter(groups__name__in=[roles.SALES_REP, roles.SALES_MANAGER])
            .distinct()
            .order_by("username")
        )
        return [
            ("none", "Unassigned"),
            *((str(u.pk), roles.display_name(u)) for u in users),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Lead]) -> QuerySet[Lead]:
        value = self.value()
        if value == "none":
            return queryset.filter(owner__isnull=True)
        owner = as_id(value) if value else None
        return queryset if owner is None else queryset.filter(owner_id=owner)


class StageChangeInline(admin.TabularInline):
    model = StageChange
    extra = 0
    can_delete = False
    fields = ("at", "from_stage", "to_stage", "transition", "by", "note", "agreement")
    readonly_fields = fields
    ordering = ("-at",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[StageChange]:
        return super().get_queryset(request).select_related("by", "agreement")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ActivityInline(admin.TabularInline):
    model = Activity
    extra = 0
    fields = ("occurred_at", "side", "kind", "actor", "subject", "is_touch")
    readonly_fields = fields
    can_delete = False
    ordering = ("-occurred_at",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Activity]:
        return super().get_queryset(request).select_related("actor")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Lead)
class LeadAdmin(LeadImportExportMixin, FSMAdminMixin, admin.ModelAdmin):
    fsm_fields = ["stage"]
    fsm_forms = {
        "disqualify": DisqualifyForm,
        "nurture": NurtureForm,
        "open_opportunity": OpenOpportunityForm,
    }
    list_display = (
        "email",
        "first_name",
        "last_name",
        "company",
        "stage",
        "owner",
        "channel",
        "sla_status",
        "created_at",
    )
    form = LeadAdminForm
    # The owner changes only through the owner page (the assignment service).
    exclude = ("owner",)
    list_filter = ("stage", "sla_status", "channel", OwnerFilter)
    search_fields = ("email", "first_name", "last_name", "company")
    list_select_related = ("owner", "channel")
    raw_id_fields = ("owner", "account", "campaign")
    readonly_fields = (
        "stage",
        "owner_and_change",
        "channel",
        "sla_started_at",
        "created_at",
        "updated_at",
        "stage_entered_at",
        "assigned_at",
        "first_touch_at",
        "last_touch_at",
        "sla_due_at",
        "sla_status",
        "sla_rule",
        "sla_agreement",
    )
    inlines = [StageChangeInline, ActivityInline]
    show_full_result_count = False
    paginator = CappedCountPaginator
    list_per_page = 50
    date_hierarchy = None

    def get_readonly_fields(self, request: HttpRequest, obj: Lead | None = None) -> Any:
        """A new lead needs its channel and gets its owner by routing; an owner changes only
        by assignment (the team page, the desk, or this admin's owner page)."""
        if obj is None:
            return tuple(f for f in self.readonly_fields if f != "channel")
        return self.readonly_fields

    @admin.display(description="owner")
    def owner_and_change(self, obj: Lead) -> str:
        """The owner, with the link to the owner page (reassignment through the service)."""
        if obj.pk is None:
            return "Decided by the routing rules when the lead is saved."
        name = roles.display_name(obj.owner) if obj.owner_id else "Nobody (lead desk)"
        url = reverse("admin:leads_lead_owner", args=[obj.pk])
        return format_html('{} · <a href="{}">Change owner</a>', name, url)

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<path:object_id>/owner/",
                self.admin_site.admin_view(self.owner_view),
                name="leads_lead_owner",
            ),
            *super().get_urls(),
        ]

    def owner_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Give the lead another owner through the assignment service, which checks who may
        assign to whom and records the assignment, its activity and its ledger event."""
        lead = self.get_object(request, object_id)
        if lead is None:
            raise Http404("No such lead.")
        if not self.has_change_permission(request, lead):
            raise PermissionDenied
        form = OwnerForm(data=request.POST or None, initial={"owner": lead.owner_id})
        if request.method == "POST" and form.is_valid():
            try:
                services.assign(
                    lead,
                    form.cleaned_data["owner"],
                    by=request.user,
                    reason=form.cleaned_data["reason"],
                )
            except LeadError as exc:
                form.add_error("owner", str(exc))
            else:
                self.message_user(request, "The owner was changed.", messages.SUCCESS)
                return redirect(_change_url(lead))
        context = self.admin_site.each_context(request) | {
            "opts": self.opts,
            "original": lead,
            "current_owner": (
                roles.display_name(lead.owner) if lead.owner_id else "nobody (the lead desk)"
            ),
            "owner_form": form,
            "title": "Change owner",
        }
        return render(request, "admin/leads/lead/owner_form.html", context)

    def get_form(self, request: HttpRequest, obj: Lead | None = None, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, **kwargs)
        if obj is None and "channel" in form.base_fields:
            form.base_fields["channel"].required = True
        return form

    def save_model(self, request: HttpRequest, obj: Lead, form: Any, change: bool) -> None:
        """A lead added here enters by the one way in: routed, clocked, its ledger written."""
        if change:
            super().save_model(request, obj, form, change)
            return
        values = {
            name: str(form.cleaned_data.get(name) or "")
            for name in ("email", *FILL_FIELDS)
            if form.cleaned_data.get(name)
        }
        values["email"] = normalize_email(values.get("email"))
        touch = TouchPoint(
            side=Activity.Side.MARKETING,
            kind=Activity.Kind.FORM,
            subject=f"Added in the admin by {roles.display_name(request.user)}"[:200],
        )
        entry = Entry.prepare(
            channel=form.cleaned_data["channel"],
            campaign=form.cleaned_data.get("campaign"),
            touch=touch,
        )
        taken = take_in_leads(entry, [CleanRow(0, values["email"], values)])
        obj.pk = taken.lead_ids[values["email"]]
        obj.refresh_from_db()

    def get_help_text(self, transition: Any) -> str:
        """The first line of the transition's docstring, shown as the button's tooltip."""
        doc = (transition.method.__doc__ or "").strip()
        return transition.custom.get("help_text") or (doc.splitlines()[0] if doc else "")

    def response_change(self, request: HttpRequest, obj: Lead) -> HttpResponse:
        """A transition button opens the transition's form, or runs it through the service."""
        name = request.POST.get(self.fsm_post_param)
        if not name:
            return super().response_change(request, obj)
        transition = _transition_named(obj, name)
        if transition is not None and self.get_fsm_transition_form(transition):
            return redirect(_transition_url(obj, name))
        self.run_transition(request, obj, name, {})
        context = {"preserved_filters": self.get_preserved_filters(request), "opts": self.opts}
        return HttpResponseRedirect(add_preserved_filters(context, request.path))

    def fsm_transition_view(
        self, request: HttpRequest, object_id: str, transition_name: str, **kwargs: Any
    ) -> HttpResponse:
        """A transition's input page; a valid post runs the transition through the service."""
        obj = self.get_object(request, object_id)
        if obj is None:
            raise Http404("No such lead.")
        transition = _transition_named(obj, transition_name)
        form_class = self.get_fsm_transition_form(transition) if transition else None
        if transition is None or form_class is None:
            return HttpResponseBadRequest(f"“{transition_name}” takes no input.")
        if not transition.has_perm(obj, request.user):
            label = services.transition_label(transition_name)
            self.message_user(
                request, f"You are not allowed to run “{label}” on this lead.", messages.ERROR
            )
            return redirect(_change_url(obj))
        form = form_class(data=request.POST or None, instance=obj)
        posted = request.method == "POST" and form.is_valid()
        if posted and self.run_transition(request, obj, transition_name, form.cleaned_data):
            return redirect(_change_url(obj))
        context = self.admin_site.each_context(request) | {
            "opts": self.opts,
            "original": obj,
            "transition": FSMTransitionContext(
                name=transition_name,
                label=self.get_fsm_label(transition),
                help_text=self.get_help_text(transition),
            ),
            "transition_form": form,
        }
        return render(request, self.fsm_transition_form_template, context)

    def run_transition(
        self, request: HttpRequest, obj: Lead, name: str, data: dict[str, Any]
    ) -> bool:
        """Run a transition through the service (row lock, permission check, history)."""
        arguments = dict(data)
        expected_version = arguments.pop("version", None)
        try:
            if name == "disqualify":
                services.disqualify_with_feedback(
                    obj,
                    by=request.user,
                    reason=arguments.get("reason", ""),
                    fit=arguments.get("fit", ""),
                    feedback_reason=arguments.get("feedback_reason", ""),
                    text=arguments.get("feedback_text", ""),
                    expected_version=expected_version,
                )
            else:
                services.run_transition(
                    obj, name, by=request.user, expected_version=expected_version, **arguments
                )
        except LeadError as exc:
            self.message_user(request, str(exc), level=messages.ERROR)
            return False
        self.message_user(request, f"Done: {services.transition_label(name)}.", messages.SUCCESS)
        return True


def _transition_named(lead: Lead, name: str) -> Transition | None:
    return next((t for t in lead.get_all_stage_transitions() if t.name == name), None)


def _change_url(lead: Lead) -> str:
    return reverse("admin:leads_lead_change", args=[lead.pk])


def _transition_url(lead: Lead, name: str) -> str:
    return reverse("admin:leads_lead_transition", args=[lead.pk, name])


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("name", "domain", "industry", "country")
    search_fields = ("name", "domain")
    show_full_result_count = False


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by the services and engines only (a lead's history with its ledger,
    the SLA engine's breaches): nobody adds, edits or deletes them by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Activity)
class ActivityAdmin(ReadOnlyAdmin):
    list_display = ("occurred_at", "lead", "side", "kind", "actor", "is_touch")
    list_filter = ("side", "kind", "is_touch")
    search_fields = ("lead__email", "subject")
    list_select_related = ("lead", "actor")
    raw_id_fields = ("lead", "actor")
    show_full_result_count = False
    paginator = CappedCountPaginator


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "channel", "cost", "starts_on", "ends_on")
    list_filter = ("channel",)
    search_fields = ("name",)


@admin.register(Deal)
class DealAdmin(ReadOnlyAdmin):
    list_display = ("lead", "amount", "status", "opened_at", "closed_at")
    list_filter = ("status",)
    raw_id_fields = ("lead", "account", "opened_by")
    list_select_related = ("lead",)


@admin.register(Feedback)
class FeedbackAdmin(ReadOnlyAdmin):
    list_display = ("lead", "author", "fit", "reason", "created_at")
    list_filter = ("fit", "reason")
    raw_id_fields = ("lead", "author", "reply_to")
    list_select_related = ("lead", "author")


class RepProfileInline(admin.TabularInline):
    model = RepProfile
    extra = 0
    raw_id_fields = ("user",)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "manager")
    inlines = [RepProfileInline]


@admin.register(RepProfile)
class RepProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "team", "is_away", "open_lead_cap")
    list_filter = ("team", "is_away")
    list_editable = ("is_away", "open_lead_cap")

    def get_queryset(self, request: HttpRequest) -> QuerySet[RepProfile]:
        return super().get_queryset(request).select_related("user", "team")
