"""Sealing private keys and keeping the master key: formats, permissions, failures."""

from __future__ import annotations

import base64
import os
import stat
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from uccerts.errors import SystemFailure
from uccerts.storage.secrets import Sealer, load_or_create_master_key

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_seal_open_round_trip_binds_the_context() -> None:
    sealer = Sealer(os.urandom(32))
    blob = sealer.seal(b"secret bytes", "identity/lab/cucm-pub/tomcat")
    assert blob[0] == 1 and len(blob) == 1 + 12 + len(b"secret bytes") + 16
    assert b"secret bytes" not in blob
    assert sealer.open(blob, "identity/lab/cucm-pub/tomcat") == b"secret bytes"
    assert sealer.seal(b"secret bytes", "c") != sealer.seal(b"secret bytes", "c")  # nonce
    with pytest.raises(SystemFailure) as err:
        sealer.open(blob, "identity/lab/cucm-sub1/tomcat")
    assert err.value.code == "master-key-mismatch"


@pytest.mark.parametrize("blob", [b"", b"\x01short", b"\x02" + bytes(40)])
def test_damaged_blobs_are_named_as_such(blob: bytes) -> None:
    with pytest.raises(SystemFailure) as err:
        Sealer(os.urandom(32)).open(blob, "c")
    assert err.value.code == "sealed-key-invalid"


def test_seal_key_round_trip_rsa_and_ec_and_no_key_in_repr() -> None:
    master = os.urandom(32)
    sealer = Sealer(master)
    assert master.hex() not in repr(sealer) and repr(master) not in repr(sealer)
    for key in (rsa.generate_private_key(65537, 2048), ec.generate_private_key(ec.SECP384R1())):
        der = key.private_bytes(serialization.Encoding.DER,
                                serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        blob = sealer.seal_key(key, "csr/lab/pub/tomcat")
        assert der not in blob
        opened = sealer.open_key(blob, "csr/lab/pub/tomcat")
        assert type(opened) is type(key)
        assert opened.private_bytes(serialization.Encoding.DER,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()) == der


def test_sealed_non_key_is_refused_on_open() -> None:
    sealer = Sealer(os.urandom(32))
    with pytest.raises(SystemFailure) as err:
        sealer.open_key(sealer.seal(b"not a key", "c"), "c")
    assert err.value.code == "sealed-key-invalid"


def test_master_key_must_be_32_bytes() -> None:
    with pytest.raises(SystemFailure) as err:
        Sealer(b"short")
    assert err.value.code == "master-key-invalid" and err.value.fix


def test_environment_key_wins(tmp_path: Path) -> None:
    key = os.urandom(32)
    path = tmp_path / "home" / "master.key"
    assert load_or_create_master_key(path, base64.b64encode(key).decode()) == key
    assert not path.exists()


@pytest.mark.parametrize("value", ["not base64!", base64.b64encode(b"x" * 16).decode()])
def test_bad_environment_key_is_a_system_failure_without_the_value(tmp_path: Path,
                                                                   value: str) -> None:
    with pytest.raises(SystemFailure) as err:
        load_or_create_master_key(tmp_path / "master.key", value)
    assert err.value.code == "master-key-invalid" and err.value.fix
    assert value not in str(err.value.to_dict())


@posix_only
def test_file_is_created_private_and_read_back(tmp_path: Path) -> None:
    home = tmp_path / "home"
    path = home / "master.key"
    key = load_or_create_master_key(path, None)
    assert len(key) == 32 and path.read_bytes() == key
    assert _mode(path) == 0o600 and _mode(home) == 0o700
    assert load_or_create_master_key(path, None) == key
    assert load_or_create_master_key(path, "") == key  # an empty variable is unset
    assert [p.name for p in home.iterdir()] == ["master.key"]  # no temporary left over


@posix_only
def test_concurrent_first_runs_agree_on_one_key(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    keys: list[bytes] = []
    threads = [threading.Thread(target=lambda: keys.append(load_or_create_master_key(path, None)))
               for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(set(keys)) == 1 and keys[0] == path.read_bytes()


@posix_only
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_loose_file_permissions_are_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "master.key"
    path.write_bytes(os.urandom(32))
    path.chmod(mode)
    with pytest.raises(SystemFailure) as err:
        load_or_create_master_key(path, None)
    assert err.value.code == "master-key-exposed"
    assert err.value.fix and "chmod 600" in err.value.fix


@posix_only
def test_wrong_length_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    path.write_bytes(b"x" * 31)
    path.chmod(0o600)
    with pytest.raises(SystemFailure) as err:
        load_or_create_master_key(path, None)
    assert err.value.code == "master-key-invalid" and err.value.fix
