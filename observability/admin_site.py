"""The admin site of AtoCore Ops: its index is the operations dashboard.

Installed in place of ``django.contrib.admin`` (``AtocoreAdminConfig``), so every
``admin.site.register`` lands here. The index only calls the dashboard selector and
draws its charts; it never runs a scan.
"""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig


class AtocoreAdminSite(admin.AdminSite):
    site_header = "AtoCore Ops"
    site_title = "AtoCore Ops"
    index_title = "Operations dashboard"

    def index(self, request, extra_context=None):
        from observability.charts import dashboard_charts
        from observability.dashboard import dashboard_data

        data = dashboard_data()
        context = {"dashboard": data, "charts": dashboard_charts(data["trends"]), **(extra_context or {})}
        return super().index(request, context)


class AtocoreAdminConfig(AdminConfig):
    default_site = "observability.admin_site.AtocoreAdminSite"
