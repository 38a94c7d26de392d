"""Forms of the content library, its filters and the content a touch used."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q

from agreements import roles
from agreements.models import Persona
from agreements.stages import Stage
from config.ids import as_id
from leads.models import Campaign

from . import files
from .models import Asset, AssetKind

STAGE_CHOICES = [(s.value, s.label) for s in Stage]


class LibraryFilterForm(forms.Form):
    """GET filters of the library; invalid values are simply ignored."""

    kind = forms.ModelChoiceField(
        queryset=AssetKind.objects.all(), required=False, empty_label="Any kind"
    )
    persona = forms.ModelChoiceField(
        queryset=Persona.objects.order_by("name"), required=False, empty_label="Any persona"
    )
    stage = forms.ChoiceField(required=False, choices=[("", "Any stage"), *STAGE_CHOICES])
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *Asset.Status.choices])

    def __init__(self, *args: Any, sees_drafts: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not sees_drafts:
            del self.fields["status"]

    def filters(self) -> dict[str, Any]:
        """The valid filters, for queries.library (empty when the form is invalid)."""
        if not self.is_valid():
            return {}
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}


def _library_people() -> Any:
    """Who may own an asset: Marketing and Ops people."""
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(groups__name__in=(roles.MARKETING, roles.OPS)) | Q(is_superuser=True))
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


class AssetForm(forms.Form):
    """What an asset is and whom it fits."""

    title = forms.CharField(max_length=200)
    kind = forms.ModelChoiceField(queryset=AssetKind.objects.filter(is_active=True))
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="When to use it, and for whom.",
    )
    personas = forms.ModelMultipleChoiceField(
        queryset=Persona.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None checked: it fits every persona.",
    )
    stages = forms.MultipleChoiceField(
        choices=STAGE_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None checked: it fits every stage.",
    )
    campaign = forms.ModelChoiceField(
        queryset=Campaign.objects.order_by("name"), required=False, empty_label="No campaign"
    )
    owner = forms.ModelChoiceField(queryset=Asset.objects.none(), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _library_people()
        self.fields["owner"].label_from_instance = roles.display_name
        self.fields["owner"].empty_label = "Me"

    @classmethod
    def initial_for(cls, asset: Asset) -> dict[str, Any]:
        """The form's values for an existing asset."""
        return {
            "title": asset.title,
            "kind": asset.kind_id,
            "description": asset.description,
            "personas": [p.pk for p in asset.personas.all()],
            "stages": [s.stage for s in asset.stages.all()],
            "campaign": asset.campaign_id,
            "owner": asset.owner_id,
        }


class VersionForm(forms.Form):
    """A link or an uploaded file: an asset's first version, or a replacement."""

    link_url = forms.URLField(max_length=1000, required=False, label="Link", assume_scheme="https")
    upload = forms.FileField(required=False, label="Or a file")
    note = forms.CharField(max_length=200, required=False, label="What changed")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if bool(data.get("link_url")) == bool(data.get("upload")):
            raise forms.ValidationError("Give either a link or a file.")
        upload = data.get("upload")
        if upload is not None and upload.size > files.MAX_FILE_BYTES:
            limit = files.MAX_FILE_BYTES // (1024 * 1024)
            self.add_error("upload", f"The file is too large: at most {limit} MB.")
        return data


class NewAssetForm(AssetForm, VersionForm):
    """A new asset with its first link or file."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["note"]


class _AssetsField(forms.ModelMultipleChoiceField):
    """Asset ids, each a whole number a row can have before the database is asked."""

    def clean(self, value: Any) -> Any:
        if any(as_id(v) is None for v in self.prepare_value(value) or ()):
            raise forms.ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            )
        return super().clean(value)


class AttachForm(forms.Form):
    """The published assets a touch used."""

    assets = _AssetsField(
        queryset=Asset.objects.none(),
        required=False,
        error_messages={
            "invalid_choice": "One of the chosen assets is not published any more: choose again."
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assets"].queryset = Asset.objects.filter(
            status=Asset.Status.PUBLISHED, current_version__isnull=False
        )
