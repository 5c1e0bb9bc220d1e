from django.apps import AppConfig
from django.db.models import signals


class ObservabilityConfig(AppConfig):
    name = "observability"
    verbose_name = "Observability"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model

        from observability import access

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
