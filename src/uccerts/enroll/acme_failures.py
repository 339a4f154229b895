"""ACME failures as ``uccerts.errors``: the one place the ``acme`` library's and
``requests``' exceptions are translated (RFC 8555 problem documents keep their detail).

``SystemFailure``: ``acme-unreachable`` (no answer, TLS not trusted), ``acme-timeout``,
``acme-protocol`` (an answer that is not ACME). ``Refused``: ``acme-order-invalid``
(names refused or validation failed; the message carries the server's detail).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from acme import errors as acme_errors
from acme import messages
from josepy.errors import DeserializationError
from requests.exceptions import (  # type: ignore[import-untyped, unused-ignore]
    JSONDecodeError,
    RequestException,
    SSLError,
)

from uccerts.errors import Refused, SystemFailure

ORDER_INVALID_FIX = ("Order only names the ACME server will issue for and that resolve to "
                     "the node, with http-01 reachable on the node's address")


def problem(error: messages.Error) -> str:
    parts = [str(error.detail or error.title or error.typ)]
    parts += [str(sub.detail or sub.typ) for sub in error.subproblems or ()]
    return "; ".join(parts)


def protocol_failure(why: str) -> SystemFailure:
    return SystemFailure(f"The ACME server's answer cannot be used: {why}",
                         code="acme-protocol",
                         fix="Check that the directory URL is an ACME (RFC 8555) server")


@contextmanager
def translated(directory: str, timeout_s: float) -> Iterator[None]:
    """Foreign exceptions to uccerts errors, once, at the boundary."""
    unreachable_fix = (f"Check that the ACME server answers at {directory} "
                       "from this host")
    try:
        yield
    except acme_errors.ValidationError as exc:
        failures = [f"{a.body.identifier.value}: {problem(c.error)}"
                    for a in exc.failed_authzrs for c in a.body.challenges
                    if c.error is not None]
        raise Refused("The ACME server could not validate the names: " + "; ".join(failures),
                      code="acme-order-invalid", detail="\n".join(failures),
                      fix=ORDER_INVALID_FIX) from exc
    except acme_errors.IssuanceError as exc:
        raise Refused(f"The ACME server refused to issue: {problem(exc.error)}",
                      code="acme-order-invalid", detail=str(exc.error),
                      fix=ORDER_INVALID_FIX) from exc
    except acme_errors.TimeoutError as exc:
        raise SystemFailure(f"The ACME order did not complete in {timeout_s:g} s",
                            code="acme-timeout",
                            fix="Retry later, or allow a longer timeout") from exc
    except messages.Error as exc:
        raise Refused(f"The ACME server refused the order: {problem(exc)}",
                      code="acme-order-invalid", detail=str(exc),
                      fix=ORDER_INVALID_FIX) from exc
    except (JSONDecodeError, DeserializationError, acme_errors.Error) as exc:
        raise protocol_failure(str(exc) or type(exc).__name__) from exc
    except SSLError as exc:
        raise SystemFailure(f"The ACME server at {directory} is not trusted",
                            code="acme-unreachable", detail=str(exc),
                            fix="Give the CA that signed its TLS certificate as the CA "
                                "bundle") from exc
    except RequestException as exc:
        raise SystemFailure(f"The ACME server at {directory} does not answer",
                            code="acme-unreachable", detail=str(exc),
                            fix=unreachable_fix) from exc
