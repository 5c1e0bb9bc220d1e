from django.apps import AppConfig
from django.db.models import signals


class MemoriesConfig(AppConfig):
    name = "memories"
    verbose_name = "Memories"

    def ready(self) -> None:
        from memories import signals as receivers
        from memories.models import Memory

        for signal, receiver in (
            (signals.pre_save, receivers.capture_before_save),
            (signals.post_save, receivers.record_save),
            (signals.pre_delete, receivers.capture_before_delete),
            (signals.post_delete, receivers.record_delete),
        ):
            signal.connect(receiver, sender=Memory, dispatch_uid=f"memories.audit.{receiver.__name__}")
