"""Seed the stage definitions (DESIGN.md's lifecycle table), the glossary, the head
office's public holidays and a first SLA draft (v1) with sensible rules.

v1 stays a draft: it needs a Marketing lead's and a Sales manager's signature
before Ops can activate it (`seed_demo` does that for the demo users).
"""

from decimal import Decimal

from django.db import migrations
from django.utils import timezone

STAGES = [
    # stage, owner, level, name, conditions, exit criteria, rep actions, how fast
    (
        "suspect",
        "marketing",
        1,
        "Suspect",
        "We have an email address and/or other basic contact information, nothing more.",
        "Interacts with our content or site (→ Fan), or is verified and fits a persona "
        "(→ Information Qualified Lead).",
        "Nothing yet: marketing engages suspects with campaigns. Sales does not contact them.",
        "No clock.",
    ),
    (
        "fan",
        "marketing",
        2,
        "Fan",
        "Has interacted with us: social content, a site visit, an email click, a webinar, "
        "a content download.",
        "Verified email and demographic fit (→ IQL), or a hand-raise (→ MQL).",
        "Nothing yet: marketing keeps the conversation going.",
        "No clock.",
    ),
    (
        "iql",
        "marketing_cold",
        3,
        "Information Qualified Lead",
        "Verified email and a demographic fit: title, company and geography match a persona.",
        "A hand-raise (→ MQL). Leads from a cold-prospecting channel may be worked by a rep "
        "straight away (→ Working).",
        "Cold-prospecting channels only: research the account and start a sequence.",
        "No clock; cold prospecting runs at the rep's pace.",
    ),
    (
        "mql",
        "marketing",
        4,
        "Marketing Qualified Lead",
        "Level-one buying behaviour: a hand-raise such as a contact request, a demo request "
        "or a referral.",
        "The first sales touch moves the lead to Working.",
        "Call, then email; log every attempt as a touch. Read the lead's activity first so the "
        "first call is about what they asked for.",
        "Within the follow-up time agreed for the lead's channel (see response times).",
    ),
    (
        "working",
        "sales",
        5,
        "Working",
        "An MQL that has had at least one sales touch.",
        "Sales confirms the data and the qualification and accepts the lead (→ Sales "
        "Qualified), disqualifies it with a reason, or sends it to nurture with a return date.",
        "Keep touching until you reach the person (see the touch goal); qualify need, budget, "
        "authority and timing.",
        "Meet the touch goal; decide well before the first untouched threshold.",
    ),
    (
        "sql",
        "sales",
        6,
        "Sales Qualified",
        "Sales confirmed the data and the qualification and accepted the lead.",
        "A deal is opened with an amount (→ Opportunity).",
        "Run discovery with the buying group and open an opportunity with an amount.",
        "Open the opportunity or decide within two weeks of accepting.",
    ),
    (
        "opportunity",
        "sales",
        7,
        "Opportunity",
        "Buying mode: a deal is active.",
        "The deal is won (→ Converted), lost (→ Disqualified) or stalls (→ Needs Nurturing).",
        "Work the deal; keep its amount and close date current.",
        "Review the deal every week.",
    ),
    (
        "disqualified",
        "none",
        None,
        "Disqualified",
        "Bad data, a competitor, no budget, no engagement, … A reason is always required.",
        "A sales manager or Ops may reopen it (→ Suspect).",
        "Tell marketing why: the fit and a reason, so they can improve targeting and messages.",
        "Feedback at the moment of disqualifying.",
    ),
    (
        "nurture",
        "both",
        None,
        "Needs Nurturing",
        "Needs more time to consider or buy. A return date is always required.",
        "A new hand-raise (→ MQL) or the rep picks it up again on the return date (→ Working).",
        "Agree the return date with the buyer; marketing keeps in touch until then.",
        "Back in touch on the return date.",
    ),
    (
        "converted",
        "both",
        None,
        "Converted",
        "A customer: the deal was won.",
        "Final: converted leads stay converted.",
        "Hand over to customer success and ask for a referral.",
        "—",
    ),
]

TERMS = [
    # name, abbreviation, owner, definition, how it is measured
    (
        "Contact",
        "",
        "marketing",
        "Any person we hold contact information for, whether or not they could ever buy "
        "from us.",
        "People in the database, by source and country.",
    ),
    (
        "Lead",
        "",
        "marketing",
        "A contact who could buy from us and whom we are trying to sell to: a person in any "
        "open stage from Suspect to Opportunity. One lead per email address.",
        "New leads created per month, by channel and campaign.",
    ),
    (
        "Marketing Qualified Lead",
        "MQL",
        "marketing",
        "A lead who raised a hand: asked to be contacted, requested a demo or was referred. "
        "While lead scoring is off, a hand-raise is the only way to become an MQL.",
        "Leads entering the MQL stage per month, by channel; each entry counts once.",
    ),
    (
        "Sales Qualified Lead",
        "SQL",
        "sales",
        "A lead that sales has worked, whose data and need sales confirmed, and that sales "
        "accepted as worth pursuing. Also called a sales-accepted lead.",
        "Leads entering the Sales Qualified stage per month, by channel and rep.",
    ),
    (
        "Marketing Contribution",
        "",
        "marketing",
        "The pipeline and revenue that marketing made possible: sourced (the lead came from a "
        "marketing channel) or influenced (marketing touched the lead before its deal opened).",
        "Per quarter: opportunity amounts sourced by marketing channels, and amounts of deals "
        "with a marketing activity before the opportunity opened; also as a share of all.",
    ),
    (
        "Touch",
        "",
        "sales",
        "A human sales action toward a lead, logged on the lead: a call, an email, a meeting, "
        "a social message or a sequence step.",
        "Time from MQL to first touch; touches per lead in its first days of Working.",
    ),
    (
        "Hand-raise",
        "",
        "marketing",
        "A lead asking us for contact: a contact or demo request, a reply asking for a call, "
        "a referral. It makes the lead an MQL and starts the follow-up clock.",
        "Hand-raises per month, by channel and campaign.",
    ),
    (
        "Acceptance rate",
        "",
        "both",
        "The share of MQLs that sales accepts as Sales Qualified: marketing's measure of lead "
        "quality, sales' measure of follow-through.",
        "Leads that reached Sales Qualified ÷ leads that left MQL, per month.",
    ),
    (
        "Untouched lead",
        "",
        "sales",
        "An assigned lead with no sales touch for longer than one of the agreement's untouched "
        "thresholds (30, 60 or 90 days unless the agreement says otherwise).",
        "Count of open, assigned leads past each threshold, by rep and team.",
    ),
    (
        "Service-level agreement",
        "SLA",
        "both",
        "The promises marketing and sales make to each other, signed by a marketing lead and a "
        "sales manager: how fast sales follows up, what marketing delivers.",
        "Share of leads touched within the follow-up time; marketing's targets met per period.",
    ),
]

# channel slug (None: any channel), stage, within, unit, business, escalate after, unit, action
RULES = [
    (None, "mql", 4, "hours", True, 8, "hours", "notify_manager"),
    ("demo-request", "mql", 1, "hours", True, 2, "hours", "next_rep"),
    ("contact-request", "mql", 2, "hours", True, 4, "hours", "notify_manager"),
    ("referral", "mql", 1, "days", True, 2, "days", "notify_manager"),
    ("event", "mql", 24, "hours", False, 48, "hours", "lead_desk"),
]

COMMITMENTS = [
    # period, new leads, MQLs, sales accepted, pipeline, min acceptance %
    ("month", 400, 120, 60, Decimal("250000"), 50),
    ("quarter", 1200, 360, 180, Decimal("750000"), 50),
]


def _snapshot(History, obj, now):
    """A first history row, so version 1's words can be read back like later ones."""
    values = {
        field.attname: getattr(obj, field.attname)
        for field in obj._meta.concrete_fields
    }
    History.objects.create(
        **values, history_date=now, history_type="+", history_change_reason="Seeded"
    )


def seed(apps, schema_editor):
    StageDefinition = apps.get_model("agreements", "StageDefinition")
    Term = apps.get_model("agreements", "Term")
    BusinessCalendar = apps.get_model("agreements", "BusinessCalendar")
    Holiday = apps.get_model("agreements", "Holiday")
    Channel = apps.get_model("agreements", "Channel")
    Agreement = apps.get_model("agreements", "Agreement")
    ResponseRule = apps.get_model("agreements", "ResponseRule")
    TouchGoal = apps.get_model("agreements", "TouchGoal")
    MarketingCommitment = apps.get_model("agreements", "MarketingCommitment")
    now = timezone.now()

    for stage, owner, level, name, conditions, exit_criteria, actions, fast in STAGES:
        definition, created = StageDefinition.objects.get_or_create(
            stage=stage,
            defaults={
                "owner": owner,
                "level": level,
                "name": name,
                "conditions": conditions,
                "exit_criteria": exit_criteria,
                "rep_actions": actions,
                "response_time": fast,
                "version": 1,
                "effective_from": now,
            },
        )
        if created:
            _snapshot(apps.get_model("agreements", "HistoricalStageDefinition"), definition, now)

    for name, abbreviation, owner, definition_text, measured in TERMS:
        term, created = Term.objects.get_or_create(
            name=name,
            defaults={
                "abbreviation": abbreviation,
                "owner": owner,
                "definition": definition_text,
                "measured_by": measured,
                "version": 1,
                "effective_from": now,
            },
        )
        if created:
            _snapshot(apps.get_model("agreements", "HistoricalTerm"), term, now)

    calendar, _ = BusinessCalendar.objects.get_or_create(
        name="Head office",
        defaults={"time_zone": "Europe/Berlin", "workday_start": "09:00", "workday_end": "17:00"},
    )
    try:
        import holidays as holiday_data

        public = holiday_data.country_holidays("DE", subdiv="BE", years=range(2026, 2029))
    except (ImportError, NotImplementedError):  # the calendar works without them
        public = {}
    for day, name in sorted(public.items()):
        Holiday.objects.get_or_create(calendar=calendar, date=day, defaults={"name": name[:100]})

    if Agreement.objects.exists():
        return
    agreement = Agreement.objects.create(
        version=1,
        title="Marketing–Sales service-level agreement",
        status="draft",
        calendar=calendar,
        lead_scoring_enabled=False,
        untouched_days_1=30,
        untouched_days_2=60,
        untouched_days_3=90,
        notes="Our first agreement: how fast sales follows up a hand-raise, how hard sales "
        "works a lead, and what marketing delivers every month and quarter.",
    )
    channels = {c.slug: c for c in Channel.objects.all()}
    for slug, stage, within, unit, business, escalate, escalate_unit, action in RULES:
        if slug is not None and slug not in channels:
            continue
        ResponseRule.objects.create(
            agreement=agreement,
            channel=channels.get(slug) if slug else None,
            stage=stage,
            within_amount=within,
            within_unit=unit,
            business_time=business,
            warn_at_percent=75,
            escalate_after_amount=escalate,
            escalate_after_unit=escalate_unit,
            escalate_action=action,
        )
    TouchGoal.objects.create(agreement=agreement, channel=None, touches=6, within_days=14)
    for period, leads, mqls, accepted, pipeline, rate in COMMITMENTS:
        MarketingCommitment.objects.create(
            agreement=agreement,
            period=period,
            new_leads=leads,
            mqls=mqls,
            sales_accepted=accepted,
            pipeline_amount=pipeline,
            min_acceptance_rate=rate,
        )


class Migration(migrations.Migration):
    dependencies = [("agreements", "0003_stage_definitions_terms_commitments")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
