"""Builds the lead ledger from the history an existing installation already has, so its
reports keep their figures. Frozen SQL on the tables as they are at this migration.

What the history cannot tell is approximated and said here: an assignment's holder for
stage entries and touches is the owner the next move took the lead from (else the owner
now); a lead's first stage is the first recorded move's origin (else its stage now);
only each lead's last clock is known besides its recorded breaches, and a met clock's
three waits are its stored business time to first touch, with no routing delay.
"""

from django.db import migrations

# Who held a lead at the time of row `x` (alias of a table with lead_id and at).
HOLDER = """COALESCE(
    (SELECT a.from_owner_id FROM leads_assignment a
      WHERE a.lead_id = x.lead_id AND a.at > x.at ORDER BY a.at, a.id LIMIT 1),
    (SELECT l.owner_id FROM leads_lead l WHERE l.id = x.lead_id))"""


def holder(lead: str, at: str) -> str:
    """Who held lead `lead` at instant `at` (two SQL expressions): the owner the next move
    took it from, else the owner now."""
    return f"""COALESCE(
    (SELECT a.from_owner_id FROM leads_assignment a
      WHERE a.lead_id = {lead} AND a.at > {at} ORDER BY a.at, a.id LIMIT 1),
    (SELECT o.owner_id FROM leads_lead o WHERE o.id = {lead}))"""


# A met clock was met by the first sales touch since it started.
FIRST_TOUCH_ON_CLOCK = """(SELECT MIN(t.occurred_at) FROM leads_activity t
    WHERE t.lead_id = l.id AND t.is_touch AND t.occurred_at >= l.sla_started_at)"""

COLUMNS = (
    "lead_id, kind, at, stage, from_stage, owner_id, actor_id, campaign_id, deal_id, amount,"
    " started_at, due_at, customer_wait, routing_delay, rep_response, reason"
)

STATEMENTS = [
    # The stage each lead was created in.
    f"""INSERT INTO leads_leadevent ({COLUMNS})
    SELECT l.id, 'stage_entered', l.created_at,
        COALESCE((SELECT s.from_stage FROM leads_stagechange s WHERE s.lead_id = l.id
                  ORDER BY s.at, s.id LIMIT 1), l.stage),
        '', {holder("l.id", "l.created_at")},
        NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, ''
    FROM leads_lead l""",
    # Every recorded move.
    f"""INSERT INTO leads_leadevent ({COLUMNS})
    SELECT x.lead_id, 'stage_entered', x.at, x.to_stage, x.from_stage, {HOLDER}, x.by_id,
        NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, ''
    FROM leads_stagechange x""",
    f"""INSERT INTO leads_leadevent ({COLUMNS})
    SELECT x.lead_id, 'assigned', x.at, '', '', x.to_owner_id, x.by_id,
        NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, SUBSTR(x.rule, 1, 200)
    FROM leads_assignment x""",
    f"""INSERT INTO leads_leadevent ({COLUMNS})
    SELECT x.lead_id, 'sales_touch', x.occurred_at, '', '',
        COALESCE(
            (SELECT a.from_owner_id FROM leads_assignment a
              WHERE a.lead_id = x.lead_id AND a.at > x.occurred_at ORDER BY a.at, a.id LIMIT 1),
            (SELECT l.owner_id FROM leads_lead l WHERE l.id = x.lead_id)),
        x.actor_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, ''
    FROM leads_activity x WHERE x.is_touch""",
    f"""INSERT INTO leads_leadevent ({COLUMNS})
    SELECT x.lead_id, 'touch_point', x.occurred_at, '', '', NULL, x.actor_id, x.campaign_id,
        NULL, NULL, NULL, NULL, NULL, NULL, NULL, ''
    FROM leads_activity x
    WHERE x.campaign_id IS NOT NULL AND x.side IN ('marketing', 'customer')""",
    f"""INSERT INTO leads_leadevent ({COLUMNS})
    SELECT x.lead_id, 'deal_opened', x.opened_at, '', '', {HOLDER.replace("x.at", "x.opened_at")},
        x.opened_by_id, NULL, x.id, x.amount, NULL, NULL, NULL, NULL, NULL, ''
    FROM leads_deal x""",
    f"""INSERT INTO leads_leadevent ({COLUMNS})
    SELECT x.lead_id, CASE x.status WHEN 'won' THEN 'deal_won' ELSE 'deal_lost' END,
        x.closed_at, '', '', {holder("x.lead_id", "x.closed_at")}, NULL, NULL, x.id, x.amount,
        NULL, NULL, NULL, NULL, NULL, ''
    FROM leads_deal x WHERE x.status IN ('won', 'lost') AND x.closed_at IS NOT NULL""",
    f"""INSERT INTO leads_leadevent ({COLUMNS})
    SELECT x.lead_id, 'feedback', x.created_at, '', '', NULL, x.author_id, NULL, NULL, NULL,
        NULL, NULL, NULL, NULL, NULL, x.reason
    FROM leads_feedback x WHERE x.reply_to_id IS NULL""",
    # Clocks: every recorded breach, then each lead's last clock if it is not one of them.
    f"""INSERT INTO leads_leadevent ({COLUMNS})
    SELECT b.lead_id, 'clock_breached', b.due_at, '', '', b.owner_at_due_id, NULL, NULL, NULL,
        NULL, NULL, b.due_at, NULL, NULL, NULL, ''
    FROM sla_breach b""",
    f"""INSERT INTO leads_leadevent ({COLUMNS})
    SELECT l.id, 'clock_started', l.sla_started_at, '', '', l.owner_id, NULL, NULL, NULL, NULL,
        l.sla_started_at, l.sla_due_at, NULL, NULL, NULL, ''
    FROM leads_lead l WHERE l.sla_started_at IS NOT NULL AND l.sla_due_at IS NOT NULL""",
    f"""INSERT INTO leads_leadevent ({COLUMNS})
    SELECT l.id, 'clock_met', {FIRST_TOUCH_ON_CLOCK}, '', '',
        {holder("l.id", FIRST_TOUCH_ON_CLOCK)}, NULL, NULL, NULL, NULL,
        l.sla_started_at, l.sla_due_at, NULL, NULL, NULL, ''
    FROM leads_lead l
    WHERE l.sla_status = 'met' AND l.sla_due_at IS NOT NULL
        AND {FIRST_TOUCH_ON_CLOCK} IS NOT NULL""",
    f"""INSERT INTO leads_leadevent ({COLUMNS})
    SELECT l.id, 'clock_breached', l.sla_due_at, '', '', {holder("l.id", "l.sla_due_at")},
        NULL, NULL, NULL, NULL, l.sla_started_at, l.sla_due_at, NULL, NULL, NULL, ''
    FROM leads_lead l
    WHERE l.sla_status = 'breached' AND l.sla_due_at IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM sla_breach b
                        WHERE b.lead_id = l.id AND b.due_at = l.sla_due_at)""",
    f"""INSERT INTO leads_leadevent ({COLUMNS})
    SELECT l.id, 'first_touch', {FIRST_TOUCH_ON_CLOCK}, '', '', l.owner_id, NULL, NULL,
        NULL, NULL, l.sla_started_at, l.sla_due_at, l.business_seconds_to_first_touch, 0,
        l.business_seconds_to_first_touch, ''
    FROM leads_lead l
    WHERE l.sla_status IN ('met', 'breached') AND l.sla_started_at IS NOT NULL
        AND {FIRST_TOUCH_ON_CLOCK} IS NOT NULL""",
]


def build(apps, schema_editor):
    for statement in STATEMENTS:
        schema_editor.execute(statement)


def unbuild(apps, schema_editor):
    schema_editor.execute("DELETE FROM leads_leadevent")


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0012_lead_event_ledger"),
        ("sla", "0003_breach_history_references"),
    ]

    operations = [migrations.RunPython(build, unbuild, elidable=True)]
