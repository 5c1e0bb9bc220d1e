"""One integrity run at a time.

PostgreSQL: a session advisory lock, held on a connection of its own for the whole run
(the scan's own transactions can commit or roll back without touching it). A crash
closes the connection, which releases the lock.

Elsewhere (SQLite): a lease row with an expiry, renewed before each check. A crash
leaves the row behind until it expires; the next run then takes it over.
"""

import datetime
import uuid

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction
from django.utils import timezone

from integrity.models import IntegrityLease

LOCK_NAME = "integrity_check"
# pg_try_advisory_lock key: "ATOCORE" + "IC" in ASCII, fixed so every process agrees.
ADVISORY_KEY = 0x41544F434F5245


class RunLock:
    """``acquire()`` returns False when another run holds the lock; ``release()`` is idempotent.

    ``write=False`` (dry runs) never writes: on SQLite it only checks that no live lease exists.
    """

    def __init__(self, *, using: str = DEFAULT_DB_ALIAS, write: bool = True):
        self.using = using
        self.write = write
        self.holder = uuid.uuid4().hex
        self._lock_connection = None
        self._leased = False

    @property
    def advisory(self) -> bool:
        return connections[self.using].vendor == "postgresql"

    def acquire(self) -> bool:
        return self._acquire_advisory() if self.advisory else self._acquire_lease()

    def renew(self) -> None:
        if self._leased:
            IntegrityLease.objects.using(self.using).filter(name=LOCK_NAME, holder=self.holder).update(
                expires_at=self._expiry()
            )

    def release(self) -> None:
        if self._lock_connection is not None:
            try:
                with self._lock_connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_KEY])
            finally:
                self._lock_connection.close()
                self._lock_connection = None
        if self._leased:
            IntegrityLease.objects.using(self.using).filter(name=LOCK_NAME, holder=self.holder).delete()
            self._leased = False

    def __enter__(self) -> "RunLock":
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    # -- PostgreSQL ---------------------------------------------------------------

    def _acquire_advisory(self) -> bool:
        conn = connections.create_connection(self.using)
        try:
            with conn.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [ADVISORY_KEY])
                acquired = bool(cursor.fetchone()[0])
        except Exception:
            conn.close()
            raise
        if not acquired:
            conn.close()
            return False
        self._lock_connection = conn
        return True

    # -- lease row ----------------------------------------------------------------

    @staticmethod
    def _expiry() -> datetime.datetime:
        return timezone.now() + datetime.timedelta(seconds=settings.ATOCORE_INTEGRITY_LEASE_SECONDS)

    def _acquire_lease(self) -> bool:
        leases = IntegrityLease.objects.using(self.using)
        now = timezone.now()
        if not self.write:
            return not leases.filter(name=LOCK_NAME, expires_at__gt=now).exists()
        with transaction.atomic(using=self.using):
            if leases.filter(name=LOCK_NAME, expires_at__gt=now).exists():
                return False
            leases.filter(name=LOCK_NAME, expires_at__lte=now).delete()  # a crashed run's lease
            try:
                with transaction.atomic(using=self.using):
                    leases.create(
                        name=LOCK_NAME, holder=self.holder, acquired_at=now, expires_at=self._expiry()
                    )
            except IntegrityError:
                return False
        self._leased = True
        return True
