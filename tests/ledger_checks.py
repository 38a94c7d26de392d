"""What leads.ledger keeps on a row from other rows or from the lead, checked against
where it comes from: the rows out of step, by what they miss."""

from __future__ import annotations

from typing import Any

from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce

from leads import ledger
from leads.models import LEDGER_FACTS, PERSON_FIELDS, Lead, LeadEvent, LeadSearch, search_text


def out_of_step(limit: int = 5) -> dict[str, list[dict[str, Any]]]:
    """Up to `limit` rows of each kind of miss (empty lists: all in step): rows without
    their lead's channel, campaign and persona; tenures still held without their lead's
    stage; MQL entries without their lead's title and stage; disqualifications without
    the reason of the feedback given with them; deal rows whose `influenced` says
    otherwise than their lead's touch points; leads whose search text (kept beside
    them, not on a ledger row) is missing or says otherwise than their fields."""
    same = Q()
    for name, column in LEDGER_FACTS.items():
        fact = name.removesuffix("_id")
        same &= Q(**{column: F(f"lead__{fact}")}) | Q(
            **{f"{column}__isnull": True, f"lead__{fact}__isnull": True}
        )
    held = LeadEvent.objects.filter(kind="assigned", held_until__isnull=True)
    entries = LeadEvent.objects.filter(**ledger.MQL_ENTRY)
    same_entry = Q(lead_title=F("lead__title"), lead_stage=F("lead__stage"))
    given = Coalesce(ledger.feedback_reason_given(), Value(""))
    disqualifications = LeadEvent.objects.filter(**ledger.DISQUALIFICATION).annotate(given=given)
    deals = LeadEvent.objects.filter(kind__in=ledger.DEAL_KINDS).annotate(
        was=ledger.touch_point_before_opening()
    )
    return {
        "lead facts": list(LeadEvent.objects.exclude(same).values("id", "lead_id", "kind")[:limit]),
        "held stage": list(
            held.exclude(held_stage=F("lead__stage")).values("id", "lead_id")[:limit]
        ),
        "entry facts": list(entries.exclude(same_entry).values("id", "lead_id")[:limit]),
        "feedback reason": list(
            disqualifications.exclude(feedback_reason=F("given")).values("id", "lead_id")[:limit]
        ),
        "influenced": list(deals.exclude(influenced=F("was")).values("id", "lead_id")[:limit]),
        "search text": _search_out_of_step(limit),
    }


def _search_out_of_step(limit: int) -> list[dict[str, Any]]:
    texts = dict(LeadSearch.objects.values_list("lead_id", "text"))
    wrong = [
        {"lead_id": pk, "text": texts.get(pk)}
        for pk, *person in Lead.with_merged.values_list("pk", *PERSON_FIELDS)
        if texts.get(pk) != search_text(*person)
    ]
    return wrong[:limit]
