"""The control endpoint of a running ``serve`` (a Unix socket in the home), and the
lock that keeps one ``serve`` per home: real sockets, real processes."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import stat
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fakes import FakeCluster
from tests.integration.runtime_helpers import bounded
from uccerts.domain.control import PhoneState, ServiceAction, Who
from uccerts.domain.findings import Finding, Severity
from uccerts.errors import (
    ControlTimeout,
    FindingsError,
    InvalidInput,
    NotFound,
    Refused,
    SystemFailure,
    UccertsError,
    UsageError,
)
from uccerts.runtime import control
from uccerts.runtime.control import SOCKET_NAME, ControlServer
from uccerts.runtime.control_codec import dispatcher
from uccerts.runtime.lockfile import LOCK_NAME, ServeLock
from uccerts.services.control import SocketControl


async def fake_dispatch(op: str, args: dict[str, Any], actor: str,
                        emit: Callable[[str], None]) -> Any:
    if op == "echo":
        return {"op": op, "args": args, "actor": actor}
    if op == "restart":
        for state in ("STOPPING", "STOPPED", "STARTING", "STARTED"):
            emit(f"Cisco Tomcat[{state}]")
            await asyncio.sleep(0)
        return {"state": "STARTED"}
    if op == "refuse":
        raise Refused("Disable SSO first", code="sso-enabled",
                      fix="uccerts sso disable", detail="SAML SSO is enabled")
    if op == "missing":
        raise NotFound("Unknown node 'nope'", code="unknown-node", fix="Use cucm-pub")
    if op == "slow":
        await asyncio.sleep(float(args["seconds"]))
        return "late"
    if op == "crash":
        raise RuntimeError("a bug in an operation")
    raise AssertionError(op)


def serve_and_call(home: Path, calls: Callable[[], Any]) -> Any:
    """Run a ControlServer on ``home`` while ``calls`` (blocking) runs in a thread."""

    async def main() -> Any:
        server = ControlServer(home / SOCKET_NAME, fake_dispatch)
        await bounded(server.start())
        try:
            return await bounded(asyncio.to_thread(calls))
        finally:
            await bounded(server.stop())

    return asyncio.run(bounded(main(), 30))


def call(home: Path, op: str, args: dict[str, Any] | None = None, **kw: Any) -> Any:
    return control.call(home, op, args or {}, actor="alice", timeout=10, **kw)


def test_a_call_returns_the_result_and_the_events_in_order(tmp_path: Path) -> None:
    events: list[str] = []

    def calls() -> tuple[Any, Any]:
        return (call(tmp_path, "echo", {"node": "cucm-pub"}),
                call(tmp_path, "restart", on_event=events.append))

    echoed, restarted = serve_and_call(tmp_path, calls)
    assert echoed == {"op": "echo", "args": {"node": "cucm-pub"}, "actor": "alice"}
    assert restarted == {"state": "STARTED"}
    assert events == ["Cisco Tomcat[STOPPING]", "Cisco Tomcat[STOPPED]",
                      "Cisco Tomcat[STARTING]", "Cisco Tomcat[STARTED]"]


def test_errors_raised_by_the_server_come_back_as_the_same_kind(tmp_path: Path) -> None:
    def calls() -> list[UccertsError]:
        errors = []
        for op in ("refuse", "missing"):
            with pytest.raises(UccertsError) as err:
                call(tmp_path, op)
            errors.append(err.value)
        return errors

    refused, missing = serve_and_call(tmp_path, calls)
    assert type(refused) is Refused
    assert (refused.code, refused.message, refused.fix, refused.detail) == (
        "sso-enabled", "Disable SSO first", "uccerts sso disable", "SAML SSO is enabled")
    assert refused.exit_code == 1
    assert type(missing) is NotFound
    assert (missing.code, missing.fix) == ("unknown-node", "Use cucm-pub")


def test_the_socket_is_for_the_owner_only_and_removed_on_stop(tmp_path: Path) -> None:
    def calls() -> int:
        return stat.S_IMODE(os.stat(tmp_path / SOCKET_NAME).st_mode)

    assert serve_and_call(tmp_path, calls) == 0o600
    assert not (tmp_path / SOCKET_NAME).exists()


def test_a_stale_socket_of_a_killed_serve_is_replaced(tmp_path: Path) -> None:
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(tmp_path / SOCKET_NAME))
    stale.close()  # the file stays, nothing listens: what SIGKILL leaves behind
    assert serve_and_call(tmp_path, lambda: call(tmp_path, "echo"))["op"] == "echo"


def test_without_a_running_serve_the_call_says_the_cluster_is_not_running(
        tmp_path: Path) -> None:
    with pytest.raises(SystemFailure) as err:
        call(tmp_path, "echo")
    assert err.value.code == "cluster-not-running"
    assert err.value.exit_code == 3
    # A socket file with nothing behind it says the same.
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(tmp_path / SOCKET_NAME))
    stale.close()
    with pytest.raises(SystemFailure) as err:
        call(tmp_path, "echo")
    assert err.value.code == "cluster-not-running"


def test_garbage_on_the_socket_does_not_kill_the_server(tmp_path: Path) -> None:
    path = str(tmp_path / SOCKET_NAME)

    def send(raw: bytes, *, hang_up: bool = False) -> bytes:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(10)
            sock.connect(path)
            if hang_up:
                return b""
            sock.sendall(raw)
            sock.shutdown(socket.SHUT_WR)
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
            return b"".join(chunks)

    def calls() -> list[bytes]:
        answers = [
            send(b"", hang_up=True),
            send(b"\xff\xfe not json at all\n"),
            send(b"[1, 2, 3]\n"),
            send(b'{"op": 42, "args": "x"}\n'),
            send(b"x" * (200 * 1024)),  # a line longer than the server reads
            send(b'{"op": "echo"'),  # cut short
        ]
        answers.append(repr(call(tmp_path, "echo")).encode())
        return answers

    answers = serve_and_call(tmp_path, calls)
    assert b'"code":"control-bad-request"' in answers[3]
    assert answers[-1].startswith(b"{'op': 'echo'")


def test_an_operation_that_fails_unexpectedly_is_reported_not_hidden(
        tmp_path: Path) -> None:
    """A bug in one operation is an error of the running cluster, not a claim that the
    cluster is not running; and the server keeps answering."""

    def calls() -> tuple[UccertsError, Any]:
        with pytest.raises(UccertsError) as err:
            call(tmp_path, "crash")
        return err.value, call(tmp_path, "echo")

    error, after = serve_and_call(tmp_path, calls)
    assert error.code != "cluster-not-running"
    assert after["op"] == "echo"


def test_a_call_that_outlives_its_timeout_is_a_control_timeout(tmp_path: Path) -> None:
    def calls() -> SystemFailure:
        with pytest.raises(SystemFailure) as err:
            control.call(tmp_path, "slow", {"seconds": 2}, actor="alice", timeout=0.3)
        return err.value

    assert serve_and_call(tmp_path, calls).code == "control-timeout"


def failure(fn: Callable[..., Any], *args: Any) -> UccertsError:
    with pytest.raises(UccertsError) as err:
        fn(*args)
    return err.value


def test_findings_and_every_error_class_survive_the_socket(tmp_path: Path) -> None:
    findings = [Finding("san-mismatch", "SANs differ", Severity.ERROR, "Sign it again",
                        {"missing": ["cucm-sub1"]}),
                Finding("weak-key", "RSA-1024", Severity.WARNING, "Use 2048")]
    raised: list[UccertsError] = [
        FindingsError(findings), ControlTimeout("slow", fix="wait"),
        InvalidInput("bad PEM", code="bad-pem", detail="line 3"), UsageError("flag")]

    async def dispatch(op: str, args: dict[str, Any], actor: str, emit: Any) -> Any:
        raise raised[int(op)]

    async def main() -> list[UccertsError]:
        server = ControlServer(tmp_path / SOCKET_NAME, dispatch)
        await bounded(server.start())
        try:
            return await bounded(asyncio.to_thread(lambda: [
                failure(call, tmp_path, str(i)) for i in range(len(raised))]))
        finally:
            await bounded(server.stop())

    for sent, got in zip(raised, asyncio.run(bounded(main(), 30)), strict=True):
        assert type(got) is type(sent)
        assert (got.code, got.message, got.fix, got.detail) == (
            sent.code, sent.message, sent.fix or None, sent.detail)
    back = asyncio.run(bounded(main(), 30))[0]
    assert isinstance(back, FindingsError) and back.findings == tuple(findings)


def test_the_port_over_the_socket_answers_what_the_port_inside_serve_answers(
        tmp_path: Path) -> None:
    """``SocketControl`` over ``dispatcher(port)``: the same frozen values, the events
    streamed, who acted carried through, unknown ops refused by the table."""
    cluster = FakeCluster({"cucm-pub": ("Cisco Tomcat", "Cisco CallManager")},
                          lambda node: {"tomcat": "ab" * 32}, phones_per_node=2)
    remote = SocketControl(tmp_path)
    who = Who("alice", "cli")

    async def main() -> dict[str, Any]:
        server = ControlServer(tmp_path / SOCKET_NAME, dispatcher(cluster))
        await bounded(server.start())
        events: list[str] = []
        try:
            return {
                "status": await remote.service_status(who, "cucm-pub"),
                "direct": await cluster.service_status(who, "cucm-pub"),
                "restart": await remote.service(who, ServiceAction.RESTART, "cucm-pub",
                                                "Cisco Tomcat", on_event=events.append),
                "events": events,
                "served": await remote.served_certificate(who, "cucm-pub", 8443),
                "reset": await remote.reset_phones(who, wait=5),
                "phones": await remote.phones_status(who),
                "itl": await remote.delete_itl(who, "all"),
                "history": await remote.phones_history(who),
                "unknown": await asyncio.to_thread(failure, call, tmp_path,
                                                   "service.reboot"),
            }
        finally:
            await bounded(server.stop())

    seen = asyncio.run(bounded(main(), 30))
    assert seen["status"] == seen["direct"]
    assert seen["restart"].state.certificate_sha256 == "ab" * 32
    assert seen["restart"].events == tuple(seen["events"]) == (
        "Cisco Tomcat[STOPPING]", "Cisco Tomcat[STOPPED]", "Cisco Tomcat[STARTING]",
        "Cisco Tomcat[STARTED]")
    assert seen["served"] == "ab" * 32
    assert seen["reset"].count == 2 and seen["reset"].waited is not None
    assert seen["reset"].waited.settled and seen["phones"].registered == 2
    assert seen["phones"].to_dict()["by_state"]["REGISTERED"] == 2
    assert (seen["itl"].what, seen["itl"].count) == ("deleted", 2)
    assert seen["history"][0].by_state[PhoneState.RESETTING] == 2  # after the ITL erase
    assert seen["unknown"].code == "control-unknown-op"
    assert cluster.restarts == {("cucm-pub", "Cisco Tomcat"): 1} and cluster.resets == 1
    assert {w for _, w in cluster.calls} == {who}


# ------------------------------------------------------------------ one serve per home

HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from uccerts.runtime.lockfile import ServeLock
    ServeLock(Path(sys.argv[1])).acquire()
    print("locked", flush=True)
    time.sleep(60)
""")

TRY = textwrap.dedent("""
    import sys
    from pathlib import Path
    from uccerts.errors import Refused
    from uccerts.runtime.lockfile import ServeLock
    try:
        ServeLock(Path(sys.argv[1])).acquire()
    except Refused as err:
        print(err.code, err.message)
        sys.exit(1)
    print("acquired")
""")


def python(code: str, home: Path, **kw: Any) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", code, str(home)], text=True,
                            stdout=subprocess.PIPE, **kw)


def test_a_second_serve_on_the_same_home_is_refused_until_the_first_dies(
        tmp_path: Path) -> None:
    holder = python(HOLDER, tmp_path)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(Refused) as err:
            ServeLock(tmp_path).acquire()
        assert err.value.code == "serve-running"
        assert f"pid {holder.pid}" in err.value.message
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
        # The kernel released the lock with the process: no stale lock to clean up.
        lock = ServeLock(tmp_path)
        lock.acquire()
        try:
            assert (tmp_path / LOCK_NAME).read_text() == str(os.getpid())
            other = python(TRY, tmp_path)
            out, _ = other.communicate(timeout=30)
            assert other.returncode == 1
            assert out.startswith("serve-running") and f"pid {os.getpid()}" in out
        finally:
            lock.release()
        other = python(TRY, tmp_path)
        out, _ = other.communicate(timeout=30)
        assert (other.returncode, out.strip()) == (0, "acquired")
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(timeout=10)
        if holder.stdout is not None:
            holder.stdout.close()
