from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0018_import_uploads_into_the_database"),
    ]

    operations = [
        migrations.RemoveField(
            model_name="importbatch",
            name="file",
        ),
    ]
