# Untouched flags are told from the flags not told yet (notified_at), not from the day's
# flags: flags from before this were told when they were written.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('sla', '0004_notify_in_digests'),
    ]

    operations = [
        migrations.AddField(
            model_name='untouchedflag',
            name='notified_at',
            field=models.DateTimeField(blank=True, help_text='When the owner and manager were told; empty: the next run tells them.', null=True),
        ),
        migrations.RunSQL(
            "UPDATE sla_untouchedflag SET notified_at = flagged_at",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.AddIndex(
            model_name='untouchedflag',
            index=models.Index(condition=models.Q(('notified_at__isnull', True)), fields=['threshold_days'], name='untouched_to_notify'),
        ),
    ]
