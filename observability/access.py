"""Who may use the API: the API group, staff membership of it, and API tokens.

The group is created by a data migration (observability 0003) and granted the
permissions the API checks; on a fresh database those permissions only exist after
the last migration, so a post_migrate receiver completes the group (and makes it
again after a flush). The group's permissions are the code's: they are re-granted on every
migrate. Staff belong to it by default: a user who becomes staff joins it, a
user who stops being staff leaves it (receivers below, connected in apps.py). Users
who are not staff (a pipeline's service account) are added to it by hand.
"""

import structlog
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import Q

logger = structlog.get_logger(__name__)

API_GROUP = "atocore-api"
# Kept equal to the frozen copy in observability/migrations/0003_api_group.py (tested).
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


def ensure_api_group(using: str = DEFAULT_DB_ALIAS) -> Group:
    """The API group with every API permission: created or completed if need be. Idempotent."""
    wanted = Q()
    for label in API_GROUP_PERMISSIONS:
        app_label, codename = label.split(".")
        wanted |= Q(content_type__app_label=app_label, codename=codename)
    with transaction.atomic(using=using):
        group, _ = Group.objects.using(using).get_or_create(name=API_GROUP)
        group.permissions.add(*Permission.objects.using(using).filter(wanted))
    return group


def complete_api_group(sender, using=DEFAULT_DB_ALIAS, **kwargs):
    """post_migrate of observability: grant the permissions Django has just created (on a
    fresh database they do not exist yet when the data migration runs); after a flush,
    which empties what data migrations made, make the group again, as Django does its
    permissions."""
    ensure_api_group(using)


def issue_token(username: str, *, rotate: bool = False) -> tuple[str, bool]:
    """The API token of ``username`` (created if needed; replaced if ``rotate``), and whether it is new."""
    from rest_framework.authtoken.models import Token

    user = get_user_model()._default_manager.get_by_natural_key(username)
    with transaction.atomic():
        if rotate:
            Token.objects.filter(user=user).delete()
        token, created = Token.objects.get_or_create(user=user)
    return token.key, created
