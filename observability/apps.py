from django.apps import AppConfig


class ObservabilityConfig(AppConfig):
    name = "observability"
    verbose_name = "Observability"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from observability.audit import use_sqlite_variable_limit

        connection_created.connect(
            use_sqlite_variable_limit, dispatch_uid="observability.sqlite_variable_limit"
        )
