"""What every HTTP face says about an error besides its body: the headers.

Each face has its own body (problem+json for ``/api/v1``, the appliance's JSON for the
certmgr API, a page for the console) but the same status (``http_status``, declared in
``uccerts.errors``) and these headers, so a client can tell when to retry or how to log
in whichever face it talks to.
"""

from __future__ import annotations

from uccerts.errors import Throttled, UccertsError, Unauthorized


def error_headers(err: UccertsError, realm: str | None) -> dict[str, str]:
    """A Basic challenge in the face's ``realm`` with a 401 (``None``: the face takes no
    Basic credentials, so a browser must not be asked for them) and ``Retry-After``
    with a 429."""
    headers: dict[str, str] = {}
    if isinstance(err, Unauthorized) and realm is not None:
        headers["WWW-Authenticate"] = realm
    if isinstance(err, Throttled):
        headers["Retry-After"] = str(err.retry_after)
    return headers
