"""Attach the glossary, the stage definitions and the calendars to agreement versions.

The words as they are now belong to the active version (or, before any is active,
to the newest one); every other version gets its own copy of them. A draft that
shares its calendar with another version gets a copy of the calendar and its
holidays, so editing it changes nothing that is signed or in force. Frozen code:
only the historical models of this migration.
"""

from django.db import migrations

WORD_MODELS = ("Term", "StageDefinition")
CALENDAR_FIELDS = ("name", "time_zone", "workday_start", "workday_end", "working_days")


def _copy(model, row, **changes):
    values = {
        field.attname: getattr(row, field.attname)
        for field in model._meta.concrete_fields
        if not field.primary_key
    }
    values.update(changes)
    return model(**values)


def attach(apps, schema_editor):
    Agreement = apps.get_model("agreements", "Agreement")
    BusinessCalendar = apps.get_model("agreements", "BusinessCalendar")
    Holiday = apps.get_model("agreements", "Holiday")
    versions = list(Agreement.objects.order_by("version"))
    if not versions:
        return
    holder = next((a for a in versions if a.status == "active"), versions[-1])
    others = [a for a in versions if a.pk != holder.pk]
    for name in WORD_MODELS:
        model = apps.get_model("agreements", name)
        loose = list(model.objects.filter(agreement__isnull=True).order_by("pk"))
        model.objects.filter(pk__in=[row.pk for row in loose]).update(agreement_id=holder.pk)
        for other in others:
            model.objects.bulk_create(_copy(model, row, agreement_id=other.pk) for row in loose)
    for draft in (a for a in versions if a.status == "draft" and a.calendar_id):
        shared = Agreement.objects.filter(calendar_id=draft.calendar_id).exclude(pk=draft.pk)
        if not shared.exists():
            continue
        calendar = BusinessCalendar.objects.get(pk=draft.calendar_id)
        copy = BusinessCalendar.objects.create(
            **{field: getattr(calendar, field) for field in CALENDAR_FIELDS}
        )
        Holiday.objects.bulk_create(
            Holiday(calendar_id=copy.pk, date=h.date, name=h.name)
            for h in Holiday.objects.filter(calendar_id=calendar.pk).order_by("date")
        )
        Agreement.objects.filter(pk=draft.pk).update(calendar_id=copy.pk)


def detach(apps, schema_editor):
    """Back to one set of words: the active (or newest) version's, attached to none."""
    Agreement = apps.get_model("agreements", "Agreement")
    versions = list(Agreement.objects.order_by("version"))
    if not versions:
        return
    holder = next((a for a in versions if a.status == "active"), versions[-1])
    for name in WORD_MODELS:
        model = apps.get_model("agreements", name)
        model.objects.exclude(agreement_id=holder.pk).exclude(agreement__isnull=True).delete()
        model.objects.filter(agreement_id=holder.pk).update(agreement_id=None)
    # Calendar names were unique before: a copy is named after its (first) version.
    BusinessCalendar = apps.get_model("agreements", "BusinessCalendar")
    seen = set()
    for calendar in BusinessCalendar.objects.order_by("pk"):
        if calendar.name in seen:
            user = Agreement.objects.filter(calendar_id=calendar.pk).order_by("version").first()
            suffix = f" (v{user.version})" if user else f" ({calendar.pk})"
            calendar.name = calendar.name[: 100 - len(suffix)] + suffix
            calendar.save(update_fields=["name"])
        seen.add(calendar.name)


class Migration(migrations.Migration):
    dependencies = [("agreements", "0005_versioned_content")]
    operations = [migrations.RunPython(attach, detach)]


# The name tests call after seeding a flushed database with 0002 and 0004's `seed`.
seed = attach
