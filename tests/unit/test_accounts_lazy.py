"""Importing the accounts service does no slow work: the dummy scrypt hash that evens
out the time of a login with an unknown name is made on first use."""

from __future__ import annotations

import hashlib
import importlib
import sys

import pytest


def test_import_computes_no_scrypt_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = hashlib.scrypt

    def counting(*args: object, **kwargs: object) -> bytes:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(hashlib, "scrypt", counting)
    monkeypatch.delitem(sys.modules, "uccerts.services.accounts", raising=False)
    module = importlib.import_module("uccerts.services.accounts")
    assert calls == []
    first = module._dummy_hash()
    assert module._dummy_hash() is first  # computed once
    assert len(calls) == 1
