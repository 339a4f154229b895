"""The master key must be the one the database was sealed with, before any write.

Without this check a wrong ``UCCERTS_MASTER_KEY`` would only fail when an old key is
read, and meanwhile new keys would be sealed under it: a database with keys under two
master keys, half of them unreadable whichever is used. A small sealed canary in the
settings table settles it at the first open.
"""

from __future__ import annotations

from uccerts.storage.ports import UowFactory
from uccerts.storage.secrets import Sealer

CANARY_KEY = "master-key-check"
_CANARY = b"uccerts master key check"


def check_master_key(uow: UowFactory, sealer: Sealer) -> None:
    """Raise ``SystemFailure`` (master-key-mismatch) unless ``sealer`` opens the canary;
    a database without one gets it now."""
    with uow() as work:
        sealed = work.settings.get(CANARY_KEY)
        if sealed is None:
            work.settings.put(CANARY_KEY, sealer.seal(_CANARY, CANARY_KEY))
            work.commit()
            return
    sealer.open(sealed, CANARY_KEY)
