"""An identity upload runs its checks in a read-only unit of work, then writes under
the node locks only if what the checks relied on is unchanged: a CSR regenerated (or a
trust CA removed) in between refuses the upload with a finding that says so."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from clusters import TOPOLOGY, KeyPool, lab_ca, pem, sign
from uccerts.bootstrap import Services, build_from_uow
from uccerts.domain.csr import CsrOptions
from uccerts.errors import FindingsError
from uccerts.storage.memory import MemoryStore, MemoryUnitOfWork


class HookedUow:
    """A unit of work that calls ``on_exit`` once it is left."""

    def __init__(self, uow: MemoryUnitOfWork, on_exit: Callable[[], None]) -> None:
        self._uow, self._on_exit = uow, on_exit

    def __enter__(self) -> HookedUow:
        self._uow.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._uow.__exit__(*exc_info)
        self._on_exit()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._uow, name)


class AfterRead:
    """Read units of work; ``then`` runs once, after the next one is left (another
    writer getting in between a use case's read and its write)."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.then: Callable[[], Any] | None = None
        self.reads = 0

    def __call__(self) -> Any:
        return HookedUow(self.store.uow(), self._left)

    def _left(self) -> None:
        self.reads += 1
        then, self.then = self.then, None
        if then is not None:
            then()


def setup() -> tuple[Services, AfterRead]:
    store = MemoryStore()
    reads = AfterRead(store)
    services = build_from_uow(store.uow, keygen=KeyPool(), read=reads)
    services.clusters.init(TOPOLOGY)
    ca = lab_ca()
    services.certificates.upload("cucm-pub", "tomcat-trust", pem(ca.root), "Lab root")
    services.certificates.upload("cucm-pub", "tomcat-trust", pem(ca.intermediate), "Issuing")
    return services, reads


def test_a_csr_regenerated_while_checking_refuses_the_upload() -> None:
    services, reads = setup()
    csr = services.csrs.generate("cucm-pub", "tomcat", CsrOptions())
    bundle = sign(csr.pem)
    reads.then = lambda: services.csrs.generate("cucm-pub", "tomcat", CsrOptions())
    with pytest.raises(FindingsError) as err:
        services.certificates.upload("cucm-pub", "tomcat", pem(bundle.leaf))
    assert [f.code for f in err.value.findings] == ["csr-changed"]
    newest = services.audit.entries(1)[0]
    assert (newest.action, newest.outcome, newest.detail) == (
        "certificate upload", "refused", "csr-changed")
    installed = services.certificates.show("cucm-pub", "tomcat")
    assert installed.serial != format(bundle.leaf.serial_number, "x")  # nothing installed
    assert installed.self_signed


def test_a_trust_ca_removed_while_checking_refuses_the_upload() -> None:
    services, reads = setup()
    csr = services.csrs.generate("cucm-pub", "tomcat", CsrOptions())
    bundle = sign(csr.pem)
    # The stored CAs; each node's own tomcat certificate is listed too (derived from the
    # identities, not deletable), and is left alone.
    own = {v.sha256 for v in services.certificates.list(kind="own")}
    stored = [v for v in services.certificates.list("cucm-pub", "tomcat-trust")
              if v.sha256 not in own]
    reads.then = lambda: [services.certificates.delete("cucm-pub", "tomcat-trust", v.filename)
                          for v in stored]
    with pytest.raises(FindingsError) as err:
        services.certificates.upload("cucm-pub", "tomcat", pem(bundle.leaf))
    assert [f.code for f in err.value.findings] == ["trust-changed"]


def test_unchanged_the_upload_goes_through_after_a_read_only_check() -> None:
    services, reads = setup()
    csr = services.csrs.generate("cucm-pub", "tomcat", CsrOptions())
    before = reads.reads
    result = services.certificates.upload("cucm-pub", "tomcat", pem(sign(csr.pem).leaf))
    assert [i.node for i in result.installed][:1] == ["cucm-pub"]
    assert reads.reads > before  # the checks ran in a read unit of work
