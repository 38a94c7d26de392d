# Marketing's promise on content requests: three terms of an agreement version (signed with it).

from django.db import migrations, models

DAYS = dict(
    blank=True,
    help_text="Marketing answers each content request from sales within this many business "
    "days of the calendar. Empty: no promise.",
    null=True,
    verbose_name="content requests answered within (business days)",
)
WARN = dict(
    blank=True,
    default=75,
    help_text="Warn marketing when this share of the time has passed. Empty: 75 %.",
    null=True,
    verbose_name="warn marketing at (%)",
)
ESCALATE = dict(
    blank=True,
    help_text="Counted from the request, like a response rule's escalation. Empty: never.",
    null=True,
    verbose_name="escalate unanswered requests after (business days)",
)


class Migration(migrations.Migration):
    dependencies = [
        ("agreements", "0006_attach_words_and_calendars"),
    ]

    operations = [
        migrations.AddField(
            model_name=model,
            name=name,
            field=models.PositiveSmallIntegerField(**options),
        )
        for model in ("agreement", "historicalagreement")
        for name, options in (
            ("content_request_days", DAYS),
            ("content_request_warn_at_percent", WARN),
            ("content_request_escalate_days", ESCALATE),
        )
    ]
