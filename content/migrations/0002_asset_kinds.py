"""Seed the usual asset kinds; Ops edit the list in the admin."""

from django.db import migrations

KINDS = ("Case study", "Deck", "Data sheet", "Blog post", "Video", "Template")


def seed_kinds(apps, schema_editor):
    AssetKind = apps.get_model("content", "AssetKind")
    for position, name in enumerate(KINDS, start=1):
        AssetKind.objects.get_or_create(name=name, defaults={"position": position * 10})


class Migration(migrations.Migration):
    dependencies = [("content", "0001_library")]

    operations = [migrations.RunPython(seed_kinds, migrations.RunPython.noop)]
