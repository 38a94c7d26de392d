# The business time to first touch is the ledger's first-touch waits now (0013 copied it).
# After the report facts' triggers are gone: one of them reads this column.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('leads', '0014_drop_owner_load'),
        ('reports', '0011_drop_report_facts'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='lead',
            name='business_seconds_to_first_touch',
        ),
    ]
