"""Uploaded lists move from the web process's disk (MEDIA_ROOT/imports/…) into the database,
where every web process and worker can read them. A file missing from disk is skipped
with a note; its batch then says the file is missing when someone opens it."""

from pathlib import Path

from django.conf import settings
from django.db import migrations


def move_uploads_into_the_database(apps, schema_editor):
    ImportBatch = apps.get_model("leads", "ImportBatch")
    ImportUpload = apps.get_model("leads", "ImportUpload")
    root = Path(settings.MEDIA_ROOT)
    missing = []
    batches = ImportBatch.objects.exclude(file="").filter(upload__isnull=True).order_by("pk")
    for pk, name in batches.values_list("pk", "file").iterator(chunk_size=100):
        path = root / name
        if not path.is_file():
            missing.append(f"#{pk} ({name})")
            continue
        data = path.read_bytes()
        ImportUpload.objects.create(batch_id=pk, data=data, size=len(data))
    if missing:
        print(
            f"\n  Note: {len(missing)} import upload(s) were not found under {root} and were "
            f"not moved: {', '.join(missing[:20])}{' …' if len(missing) > 20 else ''}"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0017_import_resume_and_uploads"),
    ]

    operations = [
        migrations.RunPython(move_uploads_into_the_database, migrations.RunPython.noop),
    ]
