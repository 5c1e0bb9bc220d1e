"""Who may use the API: the API group, staff membership of it, and API tokens.

The group is created by a data migration (observability 0002) with the permissions
the API checks. Staff belong to it by default: a user who becomes staff joins it, a
user who stops being staff leaves it (receivers below, connected in apps.py). Users
who are not staff (a pipeline's service account) are added to it by hand.
"""

import structlog
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction

logger = structlog.get_logger(__name__)

API_GROUP = "atocore-api"
# Kept equal to the frozen copy in observability/migrations/0002_api_group.py (tested).
API_GROUP_PERMISSIONS = (
    "memories.view_memory",
    "memories.change_memory",
    "memories.view_project",
    "memories.view_projectstate",
    "observability.view_memoryaudit",
    "observability.view_alertevent",
)
_WAS_STAFF = "_atocore_was_staff"


def remember_staff_flag(sender, instance, **kwargs):
    """post_init: note is_staff as loaded, without a query (a deferred field stays unknown)."""
    instance.__dict__[_WAS_STAFF] = instance.__dict__.get("is_staff")


def sync_api_group(sender, instance, created, raw, update_fields=None, **kwargs):
    """post_save: join the API group on becoming staff, leave it on losing staff."""
    if raw or (update_fields is not None and "is_staff" not in update_fields):
        return
    was_staff = False if created else instance.__dict__.get(_WAS_STAFF)
    is_staff = bool(instance.is_staff)
    instance.__dict__[_WAS_STAFF] = is_staff
    if was_staff is not None and bool(was_staff) == is_staff:
        return
    group = Group.objects.filter(name=API_GROUP).first()
    if group is None:
        logger.warning("api_group_missing", group=API_GROUP, user=instance.get_username())
        return
    if is_staff:
        instance.groups.add(group)
    elif was_staff:
        instance.groups.remove(group)


def ensure_api_group() -> Group:
    """Create the group with its permissions if missing (e.g. after a test flush)."""
    with transaction.atomic():
        group, _ = Group.objects.get_or_create(name=API_GROUP)
        for label in API_GROUP_PERMISSIONS:
            app_label, codename = label.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
    return group


def issue_token(username: str, *, rotate: bool = False) -> tuple[str, bool]:
    """The API token of ``username`` (created if needed; replaced if ``rotate``), and whether it is new."""
    from rest_framework.authtoken.models import Token

    user = get_user_model()._default_manager.get_by_natural_key(username)
    with transaction.atomic():
        if rotate:
            Token.objects.filter(user=user).delete()
        token, created = Token.objects.get_or_create(user=user)
    return token.key, created
