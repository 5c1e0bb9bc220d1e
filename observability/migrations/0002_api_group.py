"""The API group with the permissions the API checks; every staff user joins it."""

from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations

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
    # Permissions are normally made after all migrations (post_migrate): make them now.
    for label in ("memories", "observability"):
        app_config = apps.get_app_config(label)
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    group, _ = Group.objects.get_or_create(name=API_GROUP)
    for label in API_GROUP_PERMISSIONS:
        app_label, codename = label.split(".")
        group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    for user in User.objects.filter(is_staff=True):
        user.groups.add(group)


def remove_api_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=API_GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("observability", "0001_initial"),
        ("memories", "0002_system_project"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]
    operations = [migrations.RunPython(create_api_group, remove_api_group)]
