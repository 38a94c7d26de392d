# Notification emails are marked sent only once the mail server accepted them, and retried
# with backoff: attempts, the next try (also a worker's hold on the row while it sends it)
# and the last error. Until now a row was marked emailed before sending, so a row without
# emailed_at was never tried: it is due now. Sent rows get no next try.

import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('notifications', '0002_notification_indexes_only_where_queried'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='notification',
            name='notification_unsent',
        ),
        migrations.AddField(
            model_name='notification',
            name='email_attempts',
            field=models.PositiveIntegerField(default=0, help_text='Attempts to send the email so far.'),
        ),
        migrations.AddField(
            model_name='notification',
            name='email_error',
            field=models.TextField(blank=True, help_text='Why the last attempt failed, or why no email is sent.'),
        ),
        # Added without a default first: a callable default would fill every existing row,
        # and every email ever sent would go out again.
        migrations.AddField(
            model_name='notification',
            name='email_next_try_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunSQL(
            "UPDATE notifications_notification SET email_next_try_at = created_at "
            "WHERE emailed_at IS NULL",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name='notification',
            name='email_next_try_at',
            field=models.DateTimeField(blank=True, default=django.utils.timezone.now, help_text='When the email is tried next (while a worker sends it: until when it holds it). Empty once sent, or when no email is sent.', null=True),
        ),
        migrations.AlterField(
            model_name='notification',
            name='emailed_at',
            field=models.DateTimeField(blank=True, help_text='When the mail server accepted the email.', null=True),
        ),
        migrations.AddIndex(
            model_name='notification',
            index=models.Index(condition=models.Q(('email_next_try_at__isnull', False)), fields=['email_next_try_at', 'id'], name='notification_email_due'),
        ),
    ]
