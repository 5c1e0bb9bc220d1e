"""Domain errors raised by the memory services; each carries the data to explain it."""


class DomainError(Exception):
    """Base class of the memory domain errors."""


class IllegalTransition(DomainError):
    """A lifecycle move that the memory's current status does not allow."""

    def __init__(self, memory_id, from_status: str, action: str, reason: str = ""):
        self.memory_id = memory_id
        self.from_status = from_status
        self.action = action
        self.reason = reason
        detail = f": {reason}" if reason else ""
        super().__init__(f"cannot {action} memory {memory_id} in status {from_status!r}{detail}")


class InvalidMemoryData(DomainError, ValueError):
    """A field value that a memory cannot hold."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")
