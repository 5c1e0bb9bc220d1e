"""The audit trail and the alert history in the admin: view-only for everyone, superusers included.

Audit rows are history (DESIGN.md rule 4): no add, change or delete, no delete action.
The audit list pages by cursor and never counts: it stays fast on a million rows.
"""

import json

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from observability.admin_paging import UncountedListMixin
from observability.changes import changed_fields, preview
from observability.models import AlertEvent, MemoryAudit
from observability.url_redaction import redact

# The channels of DESIGN.md; any other actor still filters by ?actor=NAME.
KNOWN_ACTORS = (
    "api-http",
    "human-triage",
    "phase10-auto-promote",
    "candidate-expiry",
    "reinforcement",
    "import",
    "integrity-fix",
    "system",
)


class ViewOnlyMixin:
    """No add, change or delete, whoever asks; so no delete action either."""

    actions = None

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ActorFilter(admin.SimpleListFilter):
    """The known actors as choices, without a DISTINCT over the whole audit table."""

    title = "actor"
    parameter_name = "actor"

    def lookups(self, request, model_admin):
        return [(actor, actor) for actor in KNOWN_ACTORS]

    def queryset(self, request, queryset):
        return queryset.filter(actor=self.value()) if self.value() else queryset


@admin.register(MemoryAudit)
class MemoryAuditAdmin(ViewOnlyMixin, UncountedListMixin, admin.ModelAdmin):
    keyset = True
    list_per_page = 50
    list_display = ["timestamp", "action_name", "actor", "user", "memory_link", "what_changed", "note"]
    list_display_links = ["timestamp"]
    list_filter = ["action", ActorFilter, ("timestamp", admin.DateFieldListFilter)]
    sortable_by = ()  # newest first only: the cursor pages in that order
    fields = [
        "timestamp",
        "action",
        "actor",
        "user",
        "memory_link",
        "note",
        "request_id",
        "changes",
        "before",
        "after",
    ]
    readonly_fields = fields

    @admin.display(description="action")
    def action_name(self, obj: MemoryAudit) -> str:
        return obj.action  # the stored name, as in the timeline, the dashboard and the API

    @admin.display(description="memory")
    def memory_link(self, obj: MemoryAudit) -> str:
        url = reverse("admin:memories_memory_change", args=[obj.memory_id])
        return format_html(
            '<a href="{}" title="{}"><code>{}</code></a>', url, obj.memory_id, str(obj.memory_id)[:8]
        )

    @admin.display(description="what changed")
    def what_changed(self, obj: MemoryAudit) -> str:
        return preview(obj.before, obj.after)

    @admin.display(description="changed fields")
    def changes(self, obj: MemoryAudit) -> str:
        rows = changed_fields(obj.before, obj.after)
        return "; ".join(f"{r['field']}: {r['before']!r} \u2192 {r['after']!r}" for r in rows) or "-"


@admin.register(AlertEvent)
class AlertEventAdmin(ViewOnlyMixin, UncountedListMixin, admin.ModelAdmin):
    list_display = ["created_at", "severity", "title"]
    list_filter = ["severity", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["title"]
    fields = [
        "created_at",
        "severity",
        "title",
        "message",
        "context_json",
        "sink_outcomes",
        "sink_failures",
        "dedup",
    ]
    readonly_fields = fields

    @admin.display(description="context")
    def context_json(self, obj: AlertEvent) -> str:
        return format_html("<pre>{}</pre>", redact(json.dumps(obj.context, indent=2, ensure_ascii=False)))

    @admin.display(description="sinks")
    def sink_outcomes(self, obj: AlertEvent) -> str:
        return format_html("<pre>{}</pre>", redact(json.dumps(obj.sinks, indent=2, ensure_ascii=False)))

    # The alerts framework adds these fields; shown where the model has them.
    @admin.display(description="sink errors")
    def sink_failures(self, obj: AlertEvent) -> str:
        errors = getattr(obj, "sink_errors", None)
        return format_html("<pre>{}</pre>", redact(json.dumps(errors, indent=2))) if errors else "-"

    @admin.display(description="dedup key")
    def dedup(self, obj: AlertEvent) -> str:
        return getattr(obj, "dedup_key", "") or "-"
