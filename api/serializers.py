"""What the API takes and gives, as DRF serializers (the OpenAPI schema is read from them)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.ids import MAX_ID
from leads.models import Lead

from .activities import EVENT_KINDS


class LeadIn(serializers.Serializer):
    """A lead as web-to-lead takes it: any of the import's columns, plus the submission's
    own keys. Unknown keys are ignored and listed in the answer."""

    email = serializers.CharField()
    first_name = serializers.CharField(required=False, allow_blank=True)
    last_name = serializers.CharField(required=False, allow_blank=True)
    title = serializers.CharField(required=False, allow_blank=True)
    company = serializers.CharField(required=False, allow_blank=True)
    phone = serializers.CharField(required=False, allow_blank=True)
    country = serializers.CharField(required=False, allow_blank=True)
    industry = serializers.CharField(required=False, allow_blank=True)
    website = serializers.CharField(required=False, allow_blank=True)
    hand_raise = serializers.BooleanField(
        required=False,
        help_text="A contact or demo request: the lead becomes an MQL and its clock starts. "
        "Default: the token's channel's entry stage says.",
    )
    campaign = serializers.CharField(
        required=False, help_text="One of the channel's campaigns; another is ignored with a note."
    )
    form = serializers.CharField(required=False, help_text="The form's name, on the timeline.")
    message = serializers.CharField(required=False, help_text="What the person wrote.")


class LeadResult(serializers.Serializer):
    lead = serializers.IntegerField()
    email = serializers.EmailField()
    stage = serializers.CharField()
    created = serializers.BooleanField()
    duplicate = serializers.BooleanField(help_text="A retry: this is the first answer again.")
    ignored = serializers.ListField(child=serializers.CharField())
    notes = serializers.ListField(child=serializers.CharField())


class ActivityIn(serializers.Serializer):
    """One event from another tool; `external_id` is its id there (a repeat is harmless)."""

    external_id = serializers.CharField(max_length=200)
    email = serializers.CharField(max_length=254)
    kind = serializers.ChoiceField(choices=sorted(EVENT_KINDS))
    occurred_at = serializers.DateTimeField()
    campaign = serializers.CharField(
        max_length=200, required=False, allow_blank=True, help_text="An existing campaign's name."
    )
    subject = serializers.CharField(max_length=200, required=False, allow_blank=True)
    url = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    lead = serializers.DictField(
        child=serializers.CharField(allow_blank=True, allow_null=True),
        required=False,
        help_text="Person fields (first_name, company, …): fill the lead's empty ones, or "
        "describe the Suspect an unknown address creates.",
    )


class ActivityResultOut(serializers.Serializer):
    activity = serializers.IntegerField()
    lead = serializers.IntegerField()
    created = serializers.BooleanField(help_text="False: this external_id was posted before.")
    lead_created = serializers.BooleanField(help_text="A new Suspect was created for it.")
    ignored = serializers.ListField(child=serializers.CharField())


class PersonOut(serializers.Serializer):
    username = serializers.CharField()
    email = serializers.CharField()


class AccountOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    domain = serializers.CharField(allow_null=True)


class LeadOut(serializers.ModelSerializer):
    owner = serializers.SerializerMethodField()
    account = serializers.SerializerMethodField()
    merged_into = serializers.IntegerField(source="merged_into_id", allow_null=True)

    class Meta:
        model = Lead
        fields = (
            "id",
            "email",
            "first_name",
            "last_name",
            "title",
            "company",
            "stage",
            "owner",
            "account",
            "merged_into",
            "version",
            "updated_at",
        )

    @extend_schema_field(PersonOut(allow_null=True))
    def get_owner(self, lead: Lead) -> dict[str, str] | None:
        if lead.owner is None:
            return None
        return {"username": lead.owner.get_username(), "email": lead.owner.email}

    @extend_schema_field(AccountOut(allow_null=True))
    def get_account(self, lead: Lead) -> dict[str, Any] | None:
        if lead.account is None:
            return None
        return {"id": lead.account.pk, "name": lead.account.name, "domain": lead.account.domain}


class LeadPage(serializers.Serializer):
    results = LeadOut(many=True)
    next_cursor = serializers.CharField(
        help_text="Send it as ?cursor= for the next page, or to resume the next sync."
    )
    has_more = serializers.BooleanField()
    next = serializers.CharField(allow_null=True, help_text="The next page's URL, while any.")


class SuppressedOut(serializers.Serializer):
    email = serializers.CharField()
    reason = serializers.ChoiceField(
        choices=["sales_conversation", "opportunity", "customer", "competitor"]
    )
    description = serializers.CharField()
    lead = serializers.IntegerField(source="lead_id")
    stage = serializers.CharField()
    alias_of = serializers.CharField(help_text="A merged address: the lead's own address.")


class SuppressionPage(serializers.Serializer):
    results = SuppressedOut(many=True)
    next = serializers.CharField(allow_null=True)


class ErrorOut(serializers.Serializer):
    error = serializers.CharField()


class FieldError(serializers.Serializer):
    field = serializers.CharField()
    message = serializers.CharField()


class ErrorsOut(serializers.Serializer):
    errors = FieldError(many=True)


class MergeIn(serializers.Serializer):
    leads = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        min_length=2,
        help_text="The ids of the leads to merge.",
    )
    survivor = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ID,
        help_text="The lead to keep; by default the most advanced open one.",
    )


class MergeOut(serializers.Serializer):
    merge = serializers.IntegerField()
    survivor = serializers.IntegerField()
    merged = serializers.ListField(child=serializers.IntegerField())
    plan = serializers.DictField(help_text="What the merge chose, and why, as logged.")
    undone_at = serializers.DateTimeField(allow_null=True)
