"""The REST API's endpoints (/api/v1/): thin views over leads.intake, api.activities,
api.sync and api.suppression. Each names the token scope each method needs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.ids import as_id
from customers import merge
from customers.models import Merge
from leads import intake, queries
from leads.models import Lead

from . import activities, suppression, sync
from .errors import Invalid, Unprocessable
from .models import ApiToken, Scope
from .serializers import (
    ActivityIn,
    ActivityResultOut,
    ErrorOut,
    ErrorsOut,
    LeadIn,
    LeadOut,
    LeadPage,
    LeadResult,
    MergeIn,
    MergeOut,
    SuppressedOut,
    SuppressionPage,
)

PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
REFUSALS = {
    401: OpenApiResponse(ErrorOut, description="No token, or an unknown or revoked one."),
    403: OpenApiResponse(ErrorOut, description="The token lacks the scope this needs."),
    429: OpenApiResponse(ErrorOut, description="Too many requests: see Retry-After."),
}


class ApiView(APIView):
    """A token-authenticated endpoint; `required_scopes` maps each method to its scope."""

    required_scopes: dict[str, str] = {}


def page_size(request: Request) -> int:
    """?limit= within 1..MAX_PAGE_SIZE (PAGE_SIZE when absent)."""
    raw = request.query_params.get("limit", "")
    if not raw:
        return PAGE_SIZE
    try:
        limit = int(raw)
    except ValueError:
        raise Invalid([{"field": "limit", "message": "limit must be a whole number."}]) from None
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise Invalid(
            [{"field": "limit", "message": f"limit must be between 1 and {MAX_PAGE_SIZE}."}]
        )
    return limit


def parse_since(raw: str) -> dt.datetime:
    """An ISO 8601 time with its offset ("2026-12-01T00:00:00Z"); a bare "+" sent
    unencoded in a query string arrives as a space and is read back."""
    for text in (raw, raw.replace(" ", "+")):
        try:
            when = dt.datetime.fromisoformat(text)
        except ValueError:
            continue
        if timezone.is_naive(when):
            break
        if not sync.has_utc_time(when):
            message = "updated_since is out of range: give a time between the years 1 and 9999."
            raise Invalid([{"field": "updated_since", "message": message}])
        return when
    raise Invalid(
        [
            {
                "field": "updated_since",
                "message": "updated_since must be a time with its offset, "
                "like 2026-12-01T00:00:00Z.",
            }
        ]
    )


class LeadsView(ApiView):
    required_scopes = {"GET": Scope.LEADS_READ, "POST": Scope.LEADS_WRITE}

    @extend_schema(
        operation_id="leads_changes",
        summary="Leads changed since a time or a cursor, oldest change first",
        description=(
            "For syncing into a CRM or a marketing tool. Start with `updated_since`, then "
            "follow `next` (or send `next_cursor` as `cursor`) while `has_more`; keep the "
            "last `next_cursor` to resume the next sync. A lead that changes again comes "
            "again, later, with its new state; no page repeats a row of an earlier one. "
            "Changes are served once they are a settling time old (API_SYNC_SETTLE_SECONDS), "
            "so a write still committing is never skipped. Merged leads come with "
            "`merged_into`; when a merge is undone, its leads come again as restored. "
            "Leads deleted by an import's revert are not in the feed."
        ),
        parameters=[
            OpenApiParameter("updated_since", str, description="ISO 8601 time with offset."),
            OpenApiParameter("cursor", str, description="A next_cursor from an earlier page."),
            OpenApiParameter("limit", int, description=f"1–{MAX_PAGE_SIZE}, default {PAGE_SIZE}."),
        ],
        responses={200: LeadPage, 400: ErrorsOut, **REFUSALS},
    )
    def get(self, request: Request) -> Response:
        limit = page_size(request)
        cursor = request.query_params.get("cursor", "")
        try:
            if cursor:
                position = sync.Position.decode(cursor)
            else:
                since = request.query_params.get("updated_since", "")
                start = parse_since(since) if since else dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
                position = sync.Position.since(start)
        except sync.BadCursor as exc:
            raise Invalid([{"field": "cursor", "message": str(exc)}]) from None
        page = sync.changed_leads(position, limit=limit)
        next_cursor = page.position.encode()
        next_url = None
        if page.has_more:
            next_url = request.build_absolute_uri(
                f"{reverse('api:leads')}?cursor={next_cursor}&limit={limit}"
            )
        return Response(
            {
                "results": LeadOut(page.leads, many=True).data,
                "next_cursor": next_cursor,
                "has_more": page.has_more,
                "next": next_url,
            }
        )

    @extend_schema(
        operation_id="leads_create",
        summary="Create or update a lead, as web-to-lead does",
        description=(
            "The lead enters by the token's channel through the one way in: a new address "
            "creates a lead in the channel's entry stage (an MQL when `hand_raise`, with "
            "its follow-up clock and an owner decision); a known one (or a merged address) "
            "gets its empty fields filled, and a hand-raise moves it to MQL. Send an "
            "`Idempotency-Key` header to make retries harmless; without one, the same "
            "payload on the same day is a retry."
        ),
        request=LeadIn,
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
        responses={
            201: OpenApiResponse(LeadResult, description="A new lead."),
            200: OpenApiResponse(LeadResult, description="An existing lead, or a retry."),
            400: ErrorsOut,
            413: ErrorsOut,
            422: OpenApiResponse(ErrorsOut, description="An Idempotency-Key reused."),
            **REFUSALS,
        },
    )
    def post(self, request: Request) -> Response:
        token = request.auth
        try:
            result = intake.receive(
                token.intake_token,
                request.data,
                idempotency_key=request.headers.get("Idempotency-Key", ""),
            )
        except intake.IntakeInvalid as exc:
            raise Invalid(exc.errors) from None
        except intake.IdempotencyConflict as exc:
            raise Unprocessable([{"field": "Idempotency-Key", "message": str(exc)}]) from None
        created = result.created and not result.duplicate
        return Response(
            result.as_dict(), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class LeadDetailView(ApiView):
    required_scopes = {"GET": Scope.LEADS_READ}

    @extend_schema(
        operation_id="lead_retrieve",
        summary="One lead; a merged lead's id redirects to the lead it was merged into",
        responses={
            200: LeadOut,
            307: OpenApiResponse(description="Merged: Location is the surviving lead."),
            404: ErrorOut,
            **REFUSALS,
        },
    )
    def get(self, request: Request, lead_id: int) -> Response:
        found = queries.merged_lead_and_survivor(lead_id)
        if found is not None:
            _merged, survivor = found
            location = request.build_absolute_uri(reverse("api:lead", args=[survivor.pk]))
            return Response(
                {"merged_into": survivor.pk, "location": location},
                status=status.HTTP_307_TEMPORARY_REDIRECT,
                headers={"Location": location},
            )
        lead = get_object_or_404(Lead.objects.select_related("owner", "account"), pk=lead_id)
        return Response(LeadOut(lead).data)


class ActivitiesView(ApiView):
    required_scopes = {"POST": Scope.ACTIVITIES_WRITE}

    @extend_schema(
        operation_id="activities_create",
        summary="Record a marketing or customer event on a lead",
        description=(
            "Kinds: " + ", ".join(sorted(activities.EVENT_KINDS)) + ". The event is found "
            "again by `external_id` (per token): posting it twice keeps it once. A known "
            "address (or a merged one) gets the activity; an unknown one becomes a Suspect "
            "when the token has `activities:create_suspects`, else it is refused with 404. "
            "A form, webinar attendance, email click or content download that carries a "
            "campaign is a touch point for attribution."
        ),
        request=ActivityIn,
        responses={
            201: OpenApiResponse(ActivityResultOut, description="Recorded."),
            200: OpenApiResponse(ActivityResultOut, description="Posted before: the first."),
            400: ErrorsOut,
            404: OpenApiResponse(ErrorsOut, description="Unknown address, no Suspects."),
            422: OpenApiResponse(ErrorsOut, description="Unknown campaign; id reused."),
            **REFUSALS,
        },
    )
    def post(self, request: Request) -> Response:
        posted = ActivityIn(data=request.data)
        posted.is_valid(raise_exception=True)
        try:
            result = activities.record_activity(request.auth, posted.validated_data)
        except activities.ActivityRefused as exc:
            return Response({"errors": exc.errors}, status=exc.status)
        return Response(
            result.as_dict(),
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


class SuppressionView(ApiView):
    required_scopes = {"GET": Scope.SUPPRESSION_READ}

    @extend_schema(
        operation_id="suppression_list",
        summary="Addresses marketing should not email now, with the reason for each",
        description=(
            "Leads in an open sales conversation (Working, Sales Qualified), with an open "
            "deal (Opportunity), customers (Converted) and leads disqualified as a "
            "competitor, with their merged addresses. Follow `next` to the end for the "
            "whole list."
        ),
        parameters=[
            OpenApiParameter("after", int, description="From `next`: the last lead id seen."),
            OpenApiParameter("limit", int, description=f"Leads per page, 1–{MAX_PAGE_SIZE}."),
        ],
        responses={200: SuppressionPage, 400: ErrorsOut, **REFUSALS},
    )
    def get(self, request: Request) -> Response:
        limit = page_size(request)
        after = as_id(request.query_params.get("after", "0") or "0")
        if after is None:
            raise Invalid([{"field": "after", "message": "after must be a lead id."}])
        entries, last = suppression.page_after(after, limit=limit)
        next_url = None
        if last is not None:
            next_url = request.build_absolute_uri(
                f"{reverse('api:suppression')}?after={last}&limit={limit}"
            )
        return Response({"results": SuppressedOut(entries, many=True).data, "next": next_url})


def acting_user(token: ApiToken) -> Any:
    """Whom a token's merges are made in the name of: the Ops person who created it."""
    user = token.created_by
    if user is None or not user.is_active or not merge.may_merge(user):
        raise exceptions.PermissionDenied(
            "Merges made with a token are made in the name of the person who created it, "
            "and this token's creator may not merge leads (any more). Ask Ops for a new token."
        )
    return user


def merge_answer(done: Merge) -> dict[str, Any]:
    return {
        "merge": done.pk,
        "survivor": done.survivor_id,
        "merged": sorted(done.merged_leads.values_list("lead_id", flat=True)),
        "plan": done.plan,
        "undone_at": done.undone_at,
    }


class MergesView(ApiView):
    required_scopes = {"POST": Scope.MERGE_WRITE}

    @extend_schema(
        operation_id="merges_create",
        summary="Merge two or more leads into one survivor",
        description=(
            "The same merge as on the Possible duplicates page, in the name of the person "
            "who created the token: survivorship rules, the merged addresses become aliases, "
            "and everything is logged for undo."
        ),
        request=MergeIn,
        responses={
            201: MergeOut,
            400: ErrorsOut,
            409: OpenApiResponse(ErrorsOut, description="A lead changed meanwhile."),
            422: OpenApiResponse(ErrorsOut, description="The merge was refused; says why."),
            **REFUSALS,
        },
    )
    def post(self, request: Request) -> Response:
        by = acting_user(request.auth)
        posted = MergeIn(data=request.data)
        posted.is_valid(raise_exception=True)
        try:
            plan = merge.plan_merge(
                posted.validated_data["leads"], by, survivor=posted.validated_data.get("survivor")
            )
            done = merge.merge_leads(plan, by)
        except merge.StalePlan as exc:
            return Response({"errors": [{"field": "leads", "message": str(exc)}]}, status=409)
        except merge.MergeError as exc:
            raise Unprocessable([{"field": "leads", "message": str(exc)}]) from None
        return Response(merge_answer(done), status=status.HTTP_201_CREATED)


class MergeUndoView(ApiView):
    required_scopes = {"POST": Scope.MERGE_WRITE}

    @extend_schema(
        operation_id="merges_undo",
        summary="Undo a merge: every lead and row as it was before",
        description="Refused with 409, naming each difference, when the survivor or a row "
        "the merge touched changed since: an undo never guesses.",
        request=None,
        responses={
            200: MergeOut,
            404: ErrorOut,
            409: OpenApiResponse(ErrorsOut, description="Cannot be undone exactly; says why."),
            **REFUSALS,
        },
    )
    def post(self, request: Request, merge_id: int) -> Response:
        by = acting_user(request.auth)
        done = get_object_or_404(Merge, pk=merge_id)
        if not merge.may_see_merge(by, done):
            raise exceptions.NotFound("No such merge.")
        try:
            done = merge.undo_merge(done, by)
        except merge.UndoRefused as exc:
            errors = [{"field": "", "message": problem} for problem in exc.problems]
            return Response({"errors": errors}, status=status.HTTP_409_CONFLICT)
        except merge.MergeError as exc:
            raise Unprocessable([{"field": "", "message": str(exc)}]) from None
        return Response(merge_answer(done))
