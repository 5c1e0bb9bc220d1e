"""Integrity scan history in the admin: view-only."""

import json

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from integrity.models import IntegrityRun
from observability.admin import ViewOnlyMixin
from observability.admin_paging import UncountedListMixin


@admin.register(IntegrityRun)
class IntegrityRunAdmin(ViewOnlyMixin, UncountedListMixin, admin.ModelAdmin):
    list_display = ["started_at", "finished_at", "duration", "total_findings", "errors"]
    list_filter = [("started_at", admin.DateFieldListFilter)]
    fields = ["started_at", "finished_at", "duration", "total_findings", "errors", "checks", "raw_result"]
    readonly_fields = fields

    @admin.display(description="duration")
    def duration(self, obj: IntegrityRun) -> str:
        if not obj.finished_at:
            return "-"
        return f"{(obj.finished_at - obj.started_at).total_seconds():.1f} s"

    @admin.display(description="checks")
    def checks(self, obj: IntegrityRun) -> str:
        checks = obj.result.get("checks") if isinstance(obj.result, dict) else None
        if not isinstance(checks, dict) or not checks:
            return "-"
        rows = format_html_join(
            "",
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            (
                (name, c.get("status", "-"), c.get("count", "-")) if isinstance(c, dict) else (name, "-", c)
                for name, c in checks.items()
            ),
        )
        return format_html("<table><tr><th>check</th><th>status</th><th>count</th></tr>{}</table>", rows)

    @admin.display(description="result")
    def raw_result(self, obj: IntegrityRun) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.result, indent=2, ensure_ascii=False, default=str))
