"""Forms for the lead page: touches and lifecycle actions, each carrying the lead's version."""

from django import forms

from .models import Activity, Feedback

TOUCH_CHOICES = [(k.value, k.label) for k in Activity.Kind if k in Activity.SALES_TOUCH_KINDS]


class TouchForm(forms.Form):
    kind = forms.ChoiceField(choices=TOUCH_CHOICES, label="What did you do?")
    subject = forms.CharField(max_length=200, required=False, label="Summary")
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, label="Notes")
    version = forms.IntegerField(widget=forms.HiddenInput)


class TransitionForm(forms.Form):
    name = forms.CharField(widget=forms.HiddenInput)
    version = forms.IntegerField(widget=forms.HiddenInput)
    note = forms.CharField(max_length=500, required=False, label="Note")
    reason = forms.CharField(max_length=200, required=False, label="Reason")
    return_on = forms.DateField(
        required=False, label="Return date", widget=forms.DateInput(attrs={"type": "date"})
    )
    amount = forms.DecimalField(
        required=False, min_value=0, max_digits=14, decimal_places=2, label="Deal amount"
    )
    fit = forms.ChoiceField(choices=[("", "—"), *Feedback.Fit.choices], required=False)
    feedback_reason = forms.ChoiceField(
        choices=[("", "—"), *Feedback.Reason.choices], required=False, label="Feedback reason"
    )
    feedback_text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, label="Feedback to marketing"
    )
