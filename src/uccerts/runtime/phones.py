"""The phone fleet: each phone an asyncio task that trusts and fails as real ones do.

A reset (domain.md §9): fetch the CTL (mixed mode) and the ITL from the phone's TFTP
node and accept them by the rules of ``domain.phone_trust`` (asking TVS over TLS when
the signer is new, with TVS's own certificate checked against the current ITL), keep
what was accepted (persisted before going on, so it survives a restart of ``serve``),
fetch and verify the signed config, then register to the CallManager over TLS,
checking its certificate the same way.

Thousands of phones reset at once; a semaphore bounds how many talk at a time, and
phones that accepted the same ITL share one parsed value.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import ssl
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from uccerts.domain.phone_trust import (
    Verdict,
    judge_callmanager,
    judge_config,
    judge_ctl,
    judge_itl,
    judge_tvs_server,
)
from uccerts.domain.purposes import ServiceKind
from uccerts.domain.signedfile import cert_sha256
from uccerts.domain.trustlist import TrustList, read_config, read_trust_list
from uccerts.errors import InvalidInput
from uccerts.runtime import endpoints, tvs, wire
from uccerts.runtime.monitor import Monitor, PhoneState
from uccerts.runtime.ports import Endpoint, PhoneSetup, PhoneTrust
from uccerts.runtime.tasks import cancel_all
from uccerts.runtime.tlsctx import pinning_client_context

CONCURRENCY = 64
_NETWORK_ERRORS = (OSError, wire.WireError, TimeoutError, ssl.SSLError,
                   asyncio.IncompleteReadError)

Directory = Callable[[str, ServiceKind], Endpoint | None]  # (node, service) -> where it listens
Persist = Callable[[Sequence[PhoneTrust]], Awaitable[None]]

RESET, REGISTER = "reset", "register"


class Phone:
    __slots__ = (
        "_next",
        "_wake",
        "busy",
        "cm_node",
        "ctl",
        "itl",
        "mac",
        "reason",
        "state",
        "task",
        "tftp_node",
    )

    def __init__(self, setup: PhoneSetup, itl: TrustList | None, ctl: TrustList | None
                 ) -> None:
        self.mac, self.tftp_node, self.cm_node = setup.mac, setup.tftp_node, setup.cm_node
        self.itl, self.ctl = itl, ctl
        self.state = PhoneState.UNREGISTERED
        self.reason = "not yet started"
        self.busy = False
        self._wake: asyncio.Future[None] | None = None
        self._next: str | None = None
        self.task: asyncio.Task[None] | None = None

    def to_dict(self) -> dict[str, str]:
        return {"mac": self.mac, "node": self.cm_node, "state": self.state.value,
                "reason": self.reason}


def _load(data: bytes | None, kind: str) -> TrustList | None:
    if data is None:
        return None
    try:
        return read_trust_list(data, kind)
    except InvalidInput:
        return None  # a damaged stored list is as good as none: the phone starts over


def _same(a: TrustList | None, b: TrustList | None) -> bool:
    return a is b or (a is not None and b is not None and a.sha256 == b.sha256)


class Fleet:
    def __init__(self, setups: Iterable[PhoneSetup], directory: Directory, persist: Persist,
                 *, clock: Callable[[], dt.datetime], concurrency: int = CONCURRENCY) -> None:
        self._directory, self._persist_batch = directory, persist
        self.monitor = Monitor(clock)
        self._phones: dict[str, Phone] = {}
        for setup in setups:
            phone = Phone(setup, _load(setup.itl, "ITL"), _load(setup.ctl, "CTL"))
            self._phones[phone.mac] = phone
            self.monitor.moved(phone.cm_node, None, phone.state)
        self._slots = asyncio.Semaphore(concurrency)
        self._tls = pinning_client_context()
        self._busy = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._dirty: list[tuple[PhoneTrust, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    # ------------------------------------------------------------ PhoneSide

    def route(self, mac: str) -> tuple[Endpoint, Endpoint] | None:
        phone = self._phones.get(mac.upper())
        if phone is None:
            return None
        cm = self._directory(phone.cm_node, ServiceKind.CALLMANAGER)
        tvs_at = self._directory(phone.cm_node, ServiceKind.TVS)
        return (cm, tvs_at) if cm is not None and tvs_at is not None else None

    def knows(self, mac: str) -> bool:
        return mac.upper() in self._phones

    def callmanager_stopped(self, node: str) -> None:
        for phone in self._phones.values():
            if phone.cm_node == node and phone.state is PhoneState.REGISTERED:
                self._set(phone, PhoneState.UNREGISTERED, f"CallManager {node} stopped")

    def callmanager_started(self, node: str) -> None:
        # Phones that lost their CallManager register again on their own.
        for phone in self._phones.values():
            if phone.cm_node == node and phone.state is not PhoneState.RESETTING:
                self._command(phone, REGISTER)

    # ------------------------------------------------------------ commands

    def start(self) -> None:
        """One task per phone, then every phone boots (a reset)."""
        loop = asyncio.get_running_loop()
        self.monitor.start()
        for phone in self._phones.values():
            phone.task = loop.create_task(self._run(phone))
        self.reset()

    async def stop(self) -> None:
        await cancel_all(p.task for p in self._phones.values() if p.task is not None)
        if self._flusher is not None:
            await asyncio.gather(self._flusher, return_exceptions=True)
        await self.monitor.stop()

    def select(self, macs: Iterable[str] | None = None, node: str | None = None
               ) -> list[Phone]:
        if macs is None:
            chosen = list(self._phones.values())
        else:
            chosen = []
            for mac in macs:
                key = mac.upper().removeprefix("SEP").replace(":", "").replace("-", "")
                phone = self._phones.get(key)
                if phone is None:
                    raise InvalidInput(f"No phone with MAC {mac}", code="unknown-phone",
                                       fix="Look at the phones' status for their MACs")
                chosen.append(phone)
        if node is not None:
            chosen = [p for p in chosen if p.cm_node == node]
        return chosen

    def reset(self, phones: Sequence[Phone] | None = None) -> int:
        chosen = list(self._phones.values()) if phones is None else phones
        for phone in chosen:
            self._set(phone, PhoneState.RESETTING, "")
            self._command(phone, RESET)
        return len(chosen)

    async def delete_itl(self, phones: Sequence[Phone]) -> int:
        """Erase the trust lists (as from the phone's Security menu), then reset."""
        for phone in phones:
            phone.itl = phone.ctl = None
        if phones:
            await self._persist_batch([PhoneTrust(p.mac, None, None) for p in phones])
        return self.reset(phones)

    async def wait(self, timeout: float) -> bool:
        """True once no phone is resetting or registering (False on timeout)."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def status(self) -> dict[str, Any]:
        return {"total": len(self._phones), "by_state": self.monitor.by_state(),
                "by_node": self.monitor.by_node(),
                "phones": [p.to_dict() for p in self._phones.values()]}

    # ------------------------------------------------------------ one phone

    def _command(self, phone: Phone, command: str) -> None:
        if phone._next != RESET:
            phone._next = command  # a reset already queued wins over a register
        if not phone.busy:
            phone.busy = True
            self._busy += 1
            self._idle.clear()
            if phone._wake is not None and not phone._wake.done():
                phone._wake.set_result(None)

    async def _run(self, phone: Phone) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if phone._next is None:
                phone._wake = loop.create_future()
                await phone._wake
                phone._wake = None
            try:
                while phone._next is not None:
                    command, phone._next = phone._next, None
                    await self._cycle(phone, command)
            finally:
                if phone.busy:
                    phone.busy = False
                    self._busy -= 1
                    if self._busy == 0:
                        self._idle.set()

    def _set(self, phone: Phone, state: PhoneState, reason: str) -> None:
        if phone.state is not state:
            self.monitor.moved(phone.cm_node, phone.state, state)
        phone.state, phone.reason = state, reason

    async def _cycle(self, phone: Phone, command: str) -> None:
        if command == RESET:
            self._set(phone, PhoneState.RESETTING, "")
        async with self._slots:
            try:
                outcome = (await self._reset(phone) if command == RESET
                           else await self._register(phone))
            except _NETWORK_ERRORS as err:
                outcome = (PhoneState.UNREGISTERED, f"network error: {err or type(err).__name__}")
        self._set(phone, *outcome)

    async def _reset(self, phone: Phone) -> tuple[PhoneState, str]:
        tftp_at = self._directory(phone.tftp_node, ServiceKind.TFTP)
        if tftp_at is None:
            return PhoneState.UNREGISTERED, f"no TFTP service on {phone.tftp_node}"
        try:
            ctl_status, ctl_raw = await wire.http_get(tftp_at.address, tftp_at.port,
                                                      "/CTLFile.tlv")
            itl_status, itl_raw = await wire.http_get(tftp_at.address, tftp_at.port,
                                                      f"/ITLSEP{phone.mac}.tlv")
        except _NETWORK_ERRORS:
            return PhoneState.UNREGISTERED, f"TFTP server {phone.tftp_node} unreachable"
        if itl_status != 200 or ctl_status not in (200, 404):
            return PhoneState.UNREGISTERED, f"TFTP server {phone.tftp_node} has no trust list"
        try:
            offered_ctl = read_trust_list(ctl_raw, "CTL") if ctl_status == 200 else None
            offered_itl = read_trust_list(itl_raw, "ITL")
        except InvalidInput as err:
            return PhoneState.REJECTED, f"trust list refused: {err.message}"

        ctl = offered_ctl
        if offered_ctl is not None and not _same(offered_ctl, phone.ctl):
            verdict = judge_ctl(phone.ctl, offered_ctl)
            if verdict.ask_tvs:
                verdict = judge_ctl(phone.ctl, offered_ctl, tvs_trusted=await self._ask_tvs(
                    phone, offered_ctl.signer_sha256))
            if not verdict.accepted:
                return PhoneState.REJECTED, verdict.reason
        itl = phone.itl
        if not _same(offered_itl, phone.itl):
            verdict = judge_itl(phone.itl, offered_itl, ctl=ctl)
            if verdict.ask_tvs:
                verdict = judge_itl(phone.itl, offered_itl, ctl=ctl, tvs_trusted=await
                                    self._ask_tvs(phone, offered_itl.signer_sha256))
            if not verdict.accepted:
                if not _same(ctl, phone.ctl):
                    phone.ctl = ctl
                    await self._persist(phone)
                return PhoneState.REJECTED, verdict.reason
            itl = offered_itl
        if not _same(itl, phone.itl) or not _same(ctl, phone.ctl):
            phone.itl, phone.ctl = itl, ctl
            await self._persist(phone)

        try:
            status, raw = await wire.http_get(tftp_at.address, tftp_at.port,
                                              f"/SEP{phone.mac}.cnf.xml.sgn")
        except _NETWORK_ERRORS:
            return PhoneState.UNREGISTERED, f"TFTP server {phone.tftp_node} unreachable"
        if status != 200:
            return PhoneState.UNREGISTERED, f"no configuration for SEP{phone.mac}"
        try:
            config = read_config(raw)
        except InvalidInput as err:
            return PhoneState.REJECTED, f"configuration refused: {err.message}"
        assert phone.itl is not None
        verdict = judge_config(phone.itl, cert_sha256(config.signer))
        if not verdict.accepted:
            return PhoneState.REJECTED, verdict.reason
        return await self._register(phone)

    async def _register(self, phone: Phone) -> tuple[PhoneState, str]:
        cm = self._directory(phone.cm_node, ServiceKind.CALLMANAGER)
        if cm is None:
            return PhoneState.UNREGISTERED, f"no CallManager service on {phone.cm_node}"
        verdict = Verdict(False, "not checked")

        async def trusted(der: bytes) -> bool:
            nonlocal verdict
            sha = hashlib.sha256(der).hexdigest()
            verdict = judge_callmanager(phone.itl, sha, ctl=phone.ctl)
            if verdict.ask_tvs:
                verdict = judge_callmanager(phone.itl, sha, ctl=phone.ctl,
                                            tvs_trusted=await self._ask_tvs(phone, sha))
            return verdict.accepted

        try:
            ok, reply = await endpoints.register(cm.address, cm.port, self._tls, phone.mac,
                                                 trusted)
        except _NETWORK_ERRORS:
            return PhoneState.UNREGISTERED, f"CallManager {phone.cm_node} unreachable"
        if not ok:
            return PhoneState.REJECTED, verdict.reason
        if not reply.startswith("200"):
            return PhoneState.REJECTED, f"CallManager {phone.cm_node} answered {reply}"
        return PhoneState.REGISTERED, ""

    async def _ask_tvs(self, phone: Phone, sha256: str) -> bool:
        at = self._directory(phone.cm_node, ServiceKind.TVS)
        if at is None:
            return False
        itl = phone.itl
        try:
            return await tvs.ask(at.address, at.port, self._tls, sha256,
                                 lambda der: judge_tvs_server(
                                     itl, hashlib.sha256(der).hexdigest()))
        except _NETWORK_ERRORS:
            return False  # an unreachable TVS vouches for nothing

    # ------------------------------------------------------------ persistence

    async def _persist(self, phone: Phone) -> None:
        """Group commit: phones that accepted lists meanwhile are written together,
        and each goes on only once its own list is stored."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._dirty.append((PhoneTrust(phone.mac, phone.itl.raw if phone.itl else None,
                                       phone.ctl.raw if phone.ctl else None), done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush())
        await done

    async def _flush(self) -> None:
        while self._dirty:
            batch, self._dirty = self._dirty, []
            try:
                await self._persist_batch([update for update, _ in batch])
            finally:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)
