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

from tests.integration.runtime_helpers import bounded
from uccerts.errors import NotFound, Refused, SystemFailure, UccertsError
from uccerts.runtime import control
from uccerts.runtime.control import SOCKET_NAME, ControlServer
from uccerts.runtime.lockfile import LOCK_NAME, ServeLock


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
