"""The report facts kept by database triggers are gone: reports count the ledger
(leads.LeadEvent). Drops the triggers and their functions with frozen SQL, then the tables."""

from django.db import migrations

SQLITE = [
    'DROP TRIGGER IF EXISTS reports_tenure_leads_lead_update',
    'DROP TRIGGER IF EXISTS reports_tenure_leads_assignment_insert',
    'DROP TRIGGER IF EXISTS reports_tenure_leads_assignment_delete',
    'DROP TRIGGER IF EXISTS reports_tenure_leads_assignment_update',
    'DROP TRIGGER IF EXISTS reports_tenure_leads_activity_insert',
    'DROP TRIGGER IF EXISTS reports_tenure_leads_activity_delete',
    'DROP TRIGGER IF EXISTS reports_tenure_leads_activity_update',
    'DROP TRIGGER IF EXISTS reports_tenure_leads_stagechange_insert',
    'DROP TRIGGER IF EXISTS reports_tenure_leads_stagechange_delete',
    'DROP TRIGGER IF EXISTS reports_tenure_leads_stagechange_update',
    'DROP TRIGGER IF EXISTS reports_deliveryevent_leads_lead_insert',
    'DROP TRIGGER IF EXISTS reports_deliveryevent_leads_lead_insert_new',
    'DROP TRIGGER IF EXISTS reports_deliveryevent_leads_lead_delete',
    'DROP TRIGGER IF EXISTS reports_deliveryevent_leads_lead_update',
    'DROP TRIGGER IF EXISTS reports_deliveryevent_leads_stagechange_insert',
    'DROP TRIGGER IF EXISTS reports_deliveryevent_leads_stagechange_insert_new',
    'DROP TRIGGER IF EXISTS reports_deliveryevent_leads_stagechange_delete',
    'DROP TRIGGER IF EXISTS reports_deliveryevent_leads_stagechange_update',
    'DROP TRIGGER IF EXISTS reports_deliveryevent_leads_deal_insert',
    'DROP TRIGGER IF EXISTS reports_deliveryevent_leads_deal_insert_new',
    'DROP TRIGGER IF EXISTS reports_deliveryevent_leads_deal_delete',
    'DROP TRIGGER IF EXISTS reports_deliveryevent_leads_deal_update',
    'DROP TRIGGER IF EXISTS reports_deliveryevent_leads_feedback_insert',
    'DROP TRIGGER IF EXISTS reports_deliveryevent_leads_feedback_insert_new',
    'DROP TRIGGER IF EXISTS reports_deliveryevent_leads_feedback_delete',
    'DROP TRIGGER IF EXISTS reports_deliveryevent_leads_feedback_update',
    'DROP TRIGGER IF EXISTS reports_deliverytally_reports_deliveryevent_insert',
    'DROP TRIGGER IF EXISTS reports_deliverytally_reports_deliveryevent_delete',
    'DROP TRIGGER IF EXISTS reports_deliverytally_reports_deliveryevent_update',
]

POSTGRES = [
    'DROP TRIGGER IF EXISTS reports_tenure_leads_lead_update ON leads_lead',
    'DROP TRIGGER IF EXISTS reports_tenure_leads_assignment_insert ON leads_assignment',
    'DROP TRIGGER IF EXISTS reports_tenure_leads_assignment_delete ON leads_assignment',
    'DROP TRIGGER IF EXISTS reports_tenure_leads_assignment_update ON leads_assignment',
    'DROP TRIGGER IF EXISTS reports_tenure_leads_activity_insert ON leads_activity',
    'DROP TRIGGER IF EXISTS reports_tenure_leads_activity_delete ON leads_activity',
    'DROP TRIGGER IF EXISTS reports_tenure_leads_activity_update ON leads_activity',
    'DROP TRIGGER IF EXISTS reports_tenure_leads_stagechange_insert ON leads_stagechange',
    'DROP TRIGGER IF EXISTS reports_tenure_leads_stagechange_delete ON leads_stagechange',
    'DROP TRIGGER IF EXISTS reports_tenure_leads_stagechange_update ON leads_stagechange',
    'DROP FUNCTION IF EXISTS reports_tenure_leads_assignment_refresh()',
    'DROP FUNCTION IF EXISTS reports_tenure_leads_activity_refresh()',
    'DROP FUNCTION IF EXISTS reports_tenure_leads_stagechange_refresh()',
    'DROP FUNCTION IF EXISTS reports_tenure_leads_lead_copy()',
    'DROP TRIGGER IF EXISTS reports_deliveryevent_leads_lead_insert ON leads_lead',
    'DROP TRIGGER IF EXISTS reports_deliveryevent_leads_lead_delete ON leads_lead',
    'DROP TRIGGER IF EXISTS reports_deliveryevent_leads_lead_update ON leads_lead',
    'DROP TRIGGER IF EXISTS reports_deliveryevent_leads_stagechange_insert ON leads_stagechange',
    'DROP TRIGGER IF EXISTS reports_deliveryevent_leads_stagechange_delete ON leads_stagechange',
    'DROP TRIGGER IF EXISTS reports_deliveryevent_leads_stagechange_update ON leads_stagechange',
    'DROP TRIGGER IF EXISTS reports_deliveryevent_leads_deal_insert ON leads_deal',
    'DROP TRIGGER IF EXISTS reports_deliveryevent_leads_deal_delete ON leads_deal',
    'DROP TRIGGER IF EXISTS reports_deliveryevent_leads_deal_update ON leads_deal',
    'DROP TRIGGER IF EXISTS reports_deliveryevent_leads_feedback_insert ON leads_feedback',
    'DROP TRIGGER IF EXISTS reports_deliveryevent_leads_feedback_delete ON leads_feedback',
    'DROP TRIGGER IF EXISTS reports_deliveryevent_leads_feedback_update ON leads_feedback',
    'DROP FUNCTION IF EXISTS reports_deliveryevent_leads_lead_refresh()',
    'DROP FUNCTION IF EXISTS reports_deliveryevent_leads_stagechange_refresh()',
    'DROP FUNCTION IF EXISTS reports_deliveryevent_leads_deal_refresh()',
    'DROP FUNCTION IF EXISTS reports_deliveryevent_leads_feedback_refresh()',
    'DROP FUNCTION IF EXISTS reports_deliveryevent_leads_lead_row()',
    'DROP FUNCTION IF EXISTS reports_deliveryevent_leads_lead_insert()',
    'DROP TRIGGER IF EXISTS reports_deliverytally_reports_deliveryevent_insert ON reports_deliveryevent',
    'DROP FUNCTION IF EXISTS reports_deliverytally_reports_deliveryevent_insert()',
    'DROP TRIGGER IF EXISTS reports_deliverytally_reports_deliveryevent_delete ON reports_deliveryevent',
    'DROP FUNCTION IF EXISTS reports_deliverytally_reports_deliveryevent_delete()',
    'DROP TRIGGER IF EXISTS reports_deliverytally_reports_deliveryevent_update ON reports_deliveryevent',
    'DROP FUNCTION IF EXISTS reports_deliverytally_reports_deliveryevent_update()',
]


def drop_triggers(apps, schema_editor):
    statements = POSTGRES if schema_editor.connection.vendor == "postgresql" else SQLITE
    for statement in statements:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("reports", "0010_pacing_task_moves_to_reports")]

    operations = [
        migrations.RunPython(drop_triggers, migrations.RunPython.noop),
        migrations.DeleteModel(name="DeliveryTally"),
        migrations.DeleteModel(name="DeliveryEvent"),
        migrations.DeleteModel(name="Tenure"),
    ]
