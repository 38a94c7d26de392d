"""Seed a realistic set of channels, a default business calendar and a few personas."""

from django.db import migrations

CHANNELS = [
    ("demo-request", "Demo request", "mql", True, False, "A hand-raise on the website: wants a demo."),
    ("contact-request", "Contact request", "mql", True, False, "Contact-us form: asked to be contacted."),
    ("webinar", "Webinar", "fan", True, False, "Registered for or attended a webinar."),
    ("content-download", "Content download", "fan", True, False, "Downloaded a guide or report."),
    ("event", "Event", "iql", True, False, "Met at a trade show or event; badge scan."),
    ("purchased-list", "Purchased list", "suspect", True, False, "Bought from a list vendor."),
    ("referral", "Referral", "mql", True, False, "Referred by a customer or partner."),
    ("paid", "Paid advertising", "fan", True, False, "Came from a paid ad campaign."),
    ("cold-prospecting", "Cold prospecting", "iql", False, True, "Sourced by sales development."),
]

PERSONAS = [
    ("Economic buyer", "vp,chief,cfo,ceo,head,director", "", "", 10),
    ("Marketing leader", "marketing,cmo,demand,growth", "", "", 20),
    ("Sales leader", "sales,revenue,cro", "", "", 30),
    ("Operations", "operations,ops,revops", "", "", 40),
]


def seed(apps, schema_editor):
    Channel = apps.get_model("agreements", "Channel")
    Persona = apps.get_model("agreements", "Persona")
    BusinessCalendar = apps.get_model("agreements", "BusinessCalendar")
    for slug, name, stage, marketing, cold, description in CHANNELS:
        Channel.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "entry_stage": stage,
                "is_marketing_sourced": marketing,
                "allows_cold_prospecting": cold,
                "description": description,
            },
        )
    for name, titles, industries, countries, priority in PERSONAS:
        Persona.objects.get_or_create(
            name=name,
            defaults={
                "title_keywords": titles,
                "industries": industries,
                "countries": countries,
                "priority": priority,
            },
        )
    BusinessCalendar.objects.get_or_create(
        name="Head office",
        defaults={"time_zone": "Europe/Berlin", "workday_start": "09:00", "workday_end": "17:00"},
    )


class Migration(migrations.Migration):
    dependencies = [("agreements", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
