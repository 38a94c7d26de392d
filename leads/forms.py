"""Forms of the workspaces: queue filters, lead-page actions (each carrying the lead's
version, so a stale page is refused), reassignment and the feedback inbox."""

from __future__ import annotations

from typing import Any

from django import forms

from agreements import roles
from agreements.models import Channel, Persona
from config.ids import as_id

from .models import Activity, Campaign, Feedback
from .queries import QUEUE_STAGES, Urgency
from .services import TRANSITIONS

TOUCH_CHOICES = [
    (k.value, "Note (not a touch)" if k == Activity.Kind.NOTE else k.label)
    for k in Activity.Kind
    if k in Activity.LOGGED_KINDS
]


class QueueFilterForm(forms.Form):
    """GET filters of a queue or the desk; invalid values are simply ignored."""

    q = forms.CharField(
        required=False,
        label="Search",
        widget=forms.TextInput(attrs={"placeholder": "Name, email or company", "type": "search"}),
    )
    stage = forms.ChoiceField(
        required=False,
        choices=[("", "Any open stage"), *[(s.value, s.label) for s in QUEUE_STAGES]],
    )
    channel = forms.ModelChoiceField(
        queryset=Channel.objects.order_by("name"), required=False, empty_label="Any channel"
    )
    campaign = forms.ModelChoiceField(
        queryset=Campaign.objects.order_by("name"), required=False, empty_label="Any campaign"
    )
    persona = forms.ModelChoiceField(
        queryset=Persona.objects.order_by("name"), required=False, empty_label="Any persona"
    )
    bucket = forms.ChoiceField(
        required=False,
        label="Urgency",
        choices=[("", "Any urgency"), *[(k, Urgency.LABELS[v]) for v, k in Urgency.KEYS.items()]],
    )

    def filters(self) -> dict[str, Any]:
        """The valid filters, for queries.filter_leads (empty when the form is invalid)."""
        if not self.is_valid():
            return {}
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}


class VersionedForm(forms.Form):
    """An action on the lead as the page showed it: its version and its stage."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    stage = forms.CharField(required=False, widget=forms.HiddenInput)


class TouchForm(forms.Form):
    """A touch or a note. It is appended to the lead as it is now, so it carries no version:
    nothing that changed meanwhile makes it stale."""

    kind = forms.ChoiceField(
        choices=[("", "Choose…"), *TOUCH_CHOICES],
        label="What did you do?",
        error_messages={"required": "Choose what you did: a call, an email, a note, …"},
    )
    subject = forms.CharField(max_length=200, required=False, label="Summary")
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, label="Notes")
    # The stage the page showed: only to say what changed if the lead closed meanwhile.
    stage = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        """A touch says what happened: an empty one is not logged."""
        data = super().clean()
        if not (data.get("subject") or "").strip() and not (data.get("body") or "").strip():
            raise forms.ValidationError("Say what happened: write a summary or notes.")
        return data


class TransitionForm(VersionedForm):
    """A transition that needs nothing but an optional note."""

    name = forms.ChoiceField(choices=[], widget=forms.HiddenInput)
    note = forms.CharField(max_length=500, required=False, label="Note (optional)")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].choices = [(n, n) for n in TRANSITIONS]


class DisqualifyForm(TransitionForm):
    reason = forms.CharField(max_length=200, label="Why is it disqualified?")
    fit = forms.ChoiceField(
        choices=[("", "—"), *Feedback.Fit.choices], required=False, label="How well did it fit?"
    )
    feedback_reason = forms.ChoiceField(
        choices=[("", "—"), *Feedback.Reason.choices], required=False, label="What was wrong?"
    )
    feedback_text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        label="Feedback to marketing",
        help_text="What should marketing do differently with leads like this one?",
    )

    def __init__(self, *args: Any, needs_feedback: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.needs_feedback = needs_feedback
        if not needs_feedback:
            for name in ("fit", "feedback_reason", "feedback_text"):
                del self.fields[name]
        else:
            self.fields["fit"].required = True
            self.fields["feedback_reason"].required = True
        del self.fields["note"]


class NurtureForm(TransitionForm):
    return_on = forms.DateField(
        label="Return date", widget=forms.DateInput(attrs={"type": "date"}), required=True
    )


class OpenDealForm(TransitionForm):
    amount = forms.DecimalField(
        label="Deal amount",
        min_value=0,
        max_digits=14,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0"}),
    )


class WinForm(TransitionForm):
    """Deal won cannot be undone: the page asks first, and the answer comes with the post."""

    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("confirm"):
            raise forms.ValidationError("Confirm that the deal is won: it cannot be undone.")
        return data


# The form each transition needs; the rest take TransitionForm.
TRANSITION_FORMS: dict[str, type[TransitionForm]] = {
    "disqualify": DisqualifyForm,
    "nurture": NurtureForm,
    "open_opportunity": OpenDealForm,
    "win": WinForm,
}


class ReplyForm(forms.Form):
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), label="Your reply", max_length=5000
    )


class LeadIdsField(forms.Field):
    """The ids of the ticked leads (the service checks the user may move each one)."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {"required": "Tick at least one lead."}

    def to_python(self, value: Any) -> list[int]:
        if not value:
            return []
        ids = [as_id(v) for v in value]
        if None in ids:
            raise forms.ValidationError("Choose leads from the list.")
        return [i for i in ids if i is not None]


class ReassignForm(forms.Form):
    """Move the ticked leads to one of the manager's reps, or back to the desk."""

    DESK = "desk"

    leads = LeadIdsField(label="Leads")
    to_user = forms.ChoiceField(choices=[], label="Assign to")
    reason = forms.CharField(max_length=500, required=False, label="Why (optional)")
    next = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, reps: Any = (), allow_desk: bool = True, **kwargs: Any):
        super().__init__(*args, **kwargs)
        reps = list(reps)
        self.reps = {str(r.user_id): r.user for r in reps}
        choices = [("", "Choose a rep…")]
        choices += [(str(r.user_id), f"{roles.display_name(r.user)} ({r.team})") for r in reps]
        if allow_desk:
            choices.append((self.DESK, "Back to the lead desk"))
        self.fields["to_user"].choices = choices

    def target(self) -> Any:
        """The chosen rep's user, or None for the lead desk."""
        value = self.cleaned_data["to_user"]
        return None if value == self.DESK else self.reps[value]


class InboxFilterForm(forms.Form):
    channel = forms.ModelChoiceField(
        queryset=Channel.objects.order_by("name"), required=False, empty_label="Any channel"
    )
    campaign = forms.ModelChoiceField(
        queryset=Campaign.objects.order_by("name"), required=False, empty_label="Any campaign"
    )
    persona = forms.ModelChoiceField(
        queryset=Persona.objects.order_by("name"), required=False, empty_label="Any persona"
    )
    reason = forms.ChoiceField(
        choices=[("", "Any reason"), *Feedback.Reason.choices], required=False
    )
    fit = forms.ChoiceField(choices=[("", "Any fit"), *Feedback.Fit.choices], required=False)
    unanswered = forms.BooleanField(required=False, label="Only unanswered")
    group = forms.ChoiceField(
        required=False,
        label="Group by",
        choices=[
            ("reason", "Reason"),
            ("channel", "Channel"),
            ("campaign", "Campaign"),
            ("persona", "Persona"),
            ("fit", "Fit"),
        ],
    )

    def filters(self) -> dict[str, Any]:
        if not self.is_valid():
            return {}
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "", False)}
