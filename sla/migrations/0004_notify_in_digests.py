# Warnings and escalations are told in one digest per person and run: the check records
# them first, then writes the notifications of every record not yet told. Records from
# before this were told when they were written.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('sla', '0003_breach_history_references'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='breach',
            name='escalated_from',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, help_text='Who owned the lead when it escalated; empty: the lead desk.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='breach',
            name='escalation_notified_at',
            field=models.DateTimeField(blank=True, help_text="When the escalation's notifications were written; empty after an escalation: the next check writes them, in one digest per person with every escalation of the run.", null=True),
        ),
        migrations.AddField(
            model_name='slawarning',
            name='notified_at',
            field=models.DateTimeField(blank=True, help_text='When its notification was written; empty: the next check writes it, in one digest per person with every warning of the run.', null=True),
        ),
        migrations.RunSQL(
            "UPDATE sla_slawarning SET notified_at = warned_at",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.RunSQL(
            "UPDATE sla_breach SET escalation_notified_at = escalated_at "
            "WHERE escalated_at IS NOT NULL",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.AddIndex(
            model_name='breach',
            index=models.Index(condition=models.Q(('escalated_at__isnull', False), ('escalation_notified_at__isnull', True)), fields=['escalated_at'], name='breach_escalation_to_notify'),
        ),
        migrations.AddIndex(
            model_name='slawarning',
            index=models.Index(condition=models.Q(('notified_at__isnull', True)), fields=['warned_at'], name='warning_to_notify'),
        ),
    ]
