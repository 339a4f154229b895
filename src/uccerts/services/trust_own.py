"""Each node's own tomcat certificate, listed in ``tomcat-trust`` of every node of the
cluster: that is how the nodes of an appliance cluster trust each other (issue 10).

The entries are derived when read, from the identities, not stored: a regenerated or
newly uploaded tomcat certificate replaces its entry everywhere with nothing to keep
in sync. ``TrustReader`` is the one place that merges them with the stored files, and
every read that decides something goes through it, so lists, ``show``, the upload
rule of §6 (one certificate per common name) and delete agree:

- a stored file with the same common name wins over the derived entry (uploading a
  newer certificate of that name replaces it, as §6 says; deleting that file brings
  the node's own back);
- a derived entry cannot be deleted: it is the node's identity, not a file.
"""

from __future__ import annotations

import builtins

from cryptography import x509

from uccerts.domain.model import TrustEntry
from uccerts.domain.truststore import store_key, trust_filename
from uccerts.storage.ports import UnitOfWork

OWN_PURPOSE, OWN_STORE = "tomcat", "tomcat-trust"
OWN_DESCRIPTION = "Trust Certificate"


class TrustReader:
    """Reads one cluster's trust stores: the stored files plus the derived entries."""

    def __init__(self, uow: UnitOfWork, cluster: str) -> None:
        self.uow, self.cluster = uow, cluster
        self._own: list[x509.Certificate] | None = None

    def _own_certificates(self) -> builtins.list[x509.Certificate]:
        if self._own is None:  # read once per reader: a list touches every node
            self._own = [i.certificate for i in self.uow.identities.list(self.cluster)
                         if i.purpose == OWN_PURPOSE]
        return self._own

    def derived(self, node: str, store: str,
                stored: builtins.list[TrustEntry] | None = None
                ) -> builtins.list[TrustEntry]:
        """The own-certificate entries of ``node``'s ``store`` not shadowed by a file."""
        if store != OWN_STORE:
            return []
        if stored is None:
            stored = self.uow.trust.list(self.cluster, node, store)
        names = {store_key(e.certificate).lower() for e in stored}
        taken = {e.filename for e in stored}
        entries = []
        for cert in self._own_certificates():
            if store_key(cert).lower() in names:
                continue
            filename = trust_filename(cert, taken)
            taken.add(filename)
            entries.append(TrustEntry(node, store, filename, cert, OWN_DESCRIPTION))
        return entries

    def list(self, node: str | None, store: str | None,
             nodes: builtins.list[str]) -> builtins.list[TrustEntry]:
        stored = self.uow.trust.list(self.cluster, node, store)
        if store not in (None, OWN_STORE):
            return stored
        extra: builtins.list[TrustEntry] = []
        for hostname in [node] if node else nodes:
            mine = [e for e in stored if e.node == hostname and e.store == OWN_STORE]
            extra += self.derived(hostname, OWN_STORE, mine)
        return [*stored, *extra]

    def get(self, node: str, store: str, filename: str) -> TrustEntry | None:
        found = self.uow.trust.get(self.cluster, node, store, filename)
        if found is not None:
            return found
        return next((e for e in self.derived(node, store)
                     if e.filename.lower() == filename.lower()), None)

    def is_derived(self, node: str, store: str, filename: str) -> bool:
        return (self.uow.trust.get(self.cluster, node, store, filename) is None
                and self.get(node, store, filename) is not None)

    def by_common_name(self, node: str, store: str, cn: str) -> TrustEntry | None:
        found = self.uow.trust.by_common_name(self.cluster, node, store, cn)
        if found is not None or store != OWN_STORE:
            return found
        if not any(store_key(c) == cn for c in self._own_certificates()):
            return None  # the usual case: no second read of the store
        return next((e for e in self.derived(node, store)
                     if store_key(e.certificate) == cn), None)

    def filenames(self, node: str, store: str) -> builtins.set[str]:
        return {*self.uow.trust.filenames(self.cluster, node, store),
                *(e.filename for e in self.derived(node, store))}
