"""The API group with the permissions the API checks; every staff user joins it."""

from django.conf import settings
from django.db import migrations
from django.db.models import Q

API_GROUP = "atocore-api"
API_GROUP_PERMISSIONS = (
    "memories.view_memory",
    "memories.change_memory",
    "memories.view_project",
    "memories.view_projectstate",
    "observability.view_memoryaudit",
    "observability.view_alertevent",
)


def create_api_group(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    group, _ = Group.objects.get_or_create(name=API_GROUP)
    # On a fresh database the permissions do not exist yet (Django makes them after the
    # last migration); observability.access.ensure_api_group grants them then, at post_migrate.
    wanted = Q()
    for label in API_GROUP_PERMISSIONS:
        app_label, codename = label.split(".")
        wanted |= Q(content_type__app_label=app_label, codename=codename)
    group.permissions.add(*Permission.objects.filter(wanted))
    for user in User.objects.filter(is_staff=True):
        user.groups.add(group)


def remove_api_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=API_GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("observability", "0002_alert_event_dedup_and_outcomes"),
        ("memories", "0002_system_project"),
        ("auth", "0012_alter_user_first_name_max_length"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]
    operations = [migrations.RunPython(create_api_group, remove_api_group)]
