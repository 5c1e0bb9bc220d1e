"""The system's own project: alerts and integrity results are written to its state."""

from django.db import migrations

SYSTEM_PROJECT = "atocore"


def create_system_project(apps, schema_editor):
    Project = apps.get_model("memories", "Project")
    Project.objects.get_or_create(
        name=SYSTEM_PROJECT, defaults={"description": "AtoCore itself: alerts, integrity results"}
    )


def remove_system_project(apps, schema_editor):
    apps.get_model("memories", "Project").objects.filter(name=SYSTEM_PROJECT).delete()


class Migration(migrations.Migration):
    dependencies = [("memories", "0001_initial")]
    operations = [migrations.RunPython(create_system_project, remove_system_project)]
