"""Who marketing should not email now, and why: the suppression list the marketing tool reads.

A lead is suppressed while sales is talking to it (Working, Sales Qualified), while a
deal is open (Opportunity), once it is a customer (Converted), and when it was
disqualified as a competitor (the feedback's reason, or the disqualification's words).
Its merged addresses (aliases) are suppressed with it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet

from agreements.stages import Stage
from leads.models import Feedback, Lead

REASONS = {
    Stage.WORKING: ("sales_conversation", "In an open sales conversation (Working)"),
    Stage.SQL: ("sales_conversation", "In an open sales conversation (Sales Qualified)"),
    Stage.OPPORTUNITY: ("opportunity", "A deal is open (Opportunity)"),
    Stage.CONVERTED: ("customer", "A customer (Converted)"),
    Stage.DISQUALIFIED: ("competitor", "Disqualified as a competitor"),
}


@dataclass(frozen=True)
class Suppressed:
    email: str
    reason: str
    description: str
    lead_id: int
    stage: str
    alias_of: str = ""


def suppressed_leads() -> QuerySet[Lead]:
    """The leads marketing should not email now, in id order (merged leads are not leads)."""
    competitor = Q(disqualify_reason__icontains="competitor") | Exists(
        Feedback.objects.filter(lead=OuterRef("pk"), reason=Feedback.Reason.COMPETITOR)
    )
    talking = [Stage.WORKING, Stage.SQL, Stage.OPPORTUNITY, Stage.CONVERTED]
    return Lead.objects.filter(
        Q(stage__in=talking) | (Q(stage=Stage.DISQUALIFIED) & competitor)
    ).order_by("pk")


def page_after(after_id: int, *, limit: int) -> tuple[list[Suppressed], int | None]:
    """The addresses of the next `limit` suppressed leads after lead `after_id` (aliases
    with their lead), and the last lead id when more may follow."""
    leads = list(
        suppressed_leads()
        .filter(pk__gt=after_id)
        .only("pk", "email", "stage")
        .prefetch_related("aliases")[: limit + 1]
    )
    more = len(leads) > limit
    leads = leads[:limit]
    entries: list[Suppressed] = []
    for lead in leads:
        reason, description = REASONS[lead.stage]
        entries.append(Suppressed(lead.email, reason, description, lead.pk, lead.stage))
        entries += [
            Suppressed(alias.email, reason, description, lead.pk, lead.stage, alias_of=lead.email)
            for alias in lead.aliases.all()
        ]
    return entries, (leads[-1].pk if more and leads else None)
