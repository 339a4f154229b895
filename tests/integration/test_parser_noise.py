"""Malformed multipart bodies are answered 4xx and leave nothing on serve's console:
the parser's complaints are one DEBUG line per body on ``uccerts.http`` (issue 10
item 8)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from api_client import API, NODE, RW, FakeControl, TestClient, client_for, cluster_services
from uccerts.bootstrap import Services

MALFORMED = [
    b"garbage where the first boundary should be",
    b"--xx\r\nbad header line\r\n\r\nabc",
    b"--xx\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n" + b"\x00" * 10 +
    b"\r\n--xy\r\n--xx\r\nno colon here\r\n\r\n",
]


@pytest.fixture
def client(sql_store: Any) -> Iterator[TestClient]:
    services: Services = cluster_services(sql_store)
    with client_for(services, FakeControl()) as client:
        client.auth = RW
        yield client


def test_malformed_multipart_is_a_4xx_and_one_debug_line(
        client: TestClient, caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"{API}/nodes/{NODE}/certificates/tomcat-trust"
    for body in MALFORMED:
        response = client.post(url, content=body,
                               headers={"content-type": "multipart/form-data; boundary=xx"})
        assert 400 <= response.status_code < 500, response.text
    loud = [r for r in caplog.records if r.levelno > logging.DEBUG and r.name != "httpx"]
    assert loud == [], [r.getMessage() for r in loud]
    noted = [r for r in caplog.records if r.name == "uccerts.http"]
    assert len(noted) == len(MALFORMED), [r.getMessage() for r in noted]
    assert all(r.getMessage().startswith("Malformed multipart body: ") for r in noted)
    out, err = capsys.readouterr()
    assert "boundary" not in out + err and "header" not in out + err
