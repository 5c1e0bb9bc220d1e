from django.apps import AppConfig
from django.db.models import signals


class ObservabilityConfig(AppConfig):
    name = "observability"
    verbose_name = "Observability"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.backends.signals import connection_created

        from observability import access
        from observability.audit import use_sqlite_variable_limit

        connection_created.connect(
            use_sqlite_variable_limit, dispatch_uid="observability.sqlite_variable_limit"
        )

        user_model = get_user_model()
        signals.post_init.connect(
            access.remember_staff_flag, sender=user_model, dispatch_uid="observability.remember_staff_flag"
        )
        signals.post_save.connect(
            access.sync_api_group, sender=user_model, dispatch_uid="observability.sync_api_group"
        )
        # After auth's own receiver has made this app's permissions (it was connected first).
        signals.post_migrate.connect(
            access.complete_api_group, sender=self, dispatch_uid="observability.complete_api_group"
        )
