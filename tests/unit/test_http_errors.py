"""Authentication errors are part of the one exception tree, and every HTTP face
answers them with the same headers (its own realm, or none for the console)."""

from __future__ import annotations

import pytest

from uccerts.errors import (
    BadRequest,
    CsrfRejected,
    Forbidden,
    LoginRequired,
    Refused,
    Throttled,
    UccertsError,
    Unauthorized,
    UnsupportedMediaType,
)
from uccerts.http.problems import error_headers


@pytest.mark.parametrize(("err", "exit_code", "status", "code"), [
    (Unauthorized("who?"), 1, 401, "unauthorized"),
    (Forbidden("no"), 1, 403, "forbidden"),
    (Throttled(7), 1, 429, "too-many-failures"),
    (LoginRequired(), 1, 401, "unauthenticated"),
    (CsrfRejected(), 1, 403, "csrf"),
    (BadRequest("no body"), 2, 400, "bad-request"),
    (UnsupportedMediaType("text/plain"), 2, 415, "unsupported-media-type"),
])
def test_auth_errors_know_their_exit_code_and_status(
        err: UccertsError, exit_code: int, status: int, code: str) -> None:
    assert (err.exit_code, err.http_status, err.code) == (exit_code, status, code)


def test_throttled_is_a_refusal_that_says_how_long_to_wait() -> None:
    err = Throttled(42)
    assert isinstance(err, Refused)
    assert err.retry_after == 42
    assert "42 s" in err.message and err.fix


def test_unauthorized_challenges_in_the_faces_realm() -> None:
    assert error_headers(Unauthorized("who?"), 'Basic realm="x"') == {
        "WWW-Authenticate": 'Basic realm="x"'}


def test_a_face_without_basic_sends_no_challenge() -> None:
    # A challenge would make a browser pop up its own password dialog on the console.
    assert error_headers(Unauthorized("who?"), None) == {}


def test_throttled_says_when_to_retry_whatever_the_face() -> None:
    assert error_headers(Throttled(9), None) == {"Retry-After": "9"}
    assert error_headers(Throttled(9), 'Basic realm="x"') == {"Retry-After": "9"}


def test_other_errors_need_no_header() -> None:
    assert error_headers(Forbidden("no"), 'Basic realm="x"') == {}
