"""The one exception tree of uccerts.

Every error a user can meet is one of these; each class knows the CLI exit code
(cli.md: 1 refused, 2 usage, 3 system failure) and the HTTP status it maps to, so
each face maps errors once, never ad hoc per command. Errors carry data, never log.

    UccertsError                     exit 3, HTTP 500  (a bug or an unreachable part)
    ├── IllegalTransition            exit 3, HTTP 500  (a state move its table forbids)
    ├── UsageError                   exit 2, HTTP 400  (a bad flag, name or value)
    │   ├── NotFound                 exit 2, HTTP 404  (unknown cluster, node, purpose, file)
    │   ├── BadRequest               exit 2, HTTP 400  (a request body the API cannot use)
    │   └── UnsupportedMediaType     exit 2, HTTP 415  (an upload of a type not accepted)
    ├── InvalidInput                 exit 1, HTTP 400  (a file or value that cannot be used)
    │   └── UnreadableInput          exit 1, HTTP 400  (names which input of several)
    ├── Unauthorized                 exit 1, HTTP 401  (no identity, or a wrong password)
    │   └── LoginRequired            exit 1, HTTP 401  (no console session: log in)
    ├── Forbidden                    exit 1, HTTP 403  (an identity without the right)
    │   └── CsrfRejected             exit 1, HTTP 403  (a form without its session's token)
    ├── Refused                      exit 1, HTTP 409  (the operation was refused)
    │   ├── FindingsError            exit 1, HTTP 400  (checks produced error findings)
    │   └── Throttled                exit 1, HTTP 429  (too many failed logins: wait)
    │       └── LoginsBusy           exit 1, HTTP 429  (too many logins at once: wait)
    └── SystemFailure                exit 3, HTTP 503  (storage, key material, a service)

Foreign exceptions are translated at the boundary with ``raise ... from exc``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from uccerts.domain.findings import Finding


class UccertsError(Exception):
    """Base of every uccerts error. ``code`` is stable and machine-readable."""

    exit_code: ClassVar[int] = 3
    http_status: ClassVar[int] = 500
    default_code: ClassVar[str] = "internal-error"

    def __init__(self, message: str, *, code: str | None = None, fix: str | None = None,
                 detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.fix = fix
        self.detail = detail

    def to_dict(self) -> dict[str, object]:
        """The shape of a finding (cli.md): ``detail`` is always an object."""
        return {"code": self.code, "message": self.message,
                "detail": {"reason": self.detail} if self.detail else {},
                "fix": self.fix or ""}


class IllegalTransition(UccertsError):
    """A runbook, step or service asked to move to a state its table forbids
    (``domain.states``): a bug in the code asking, never the user's doing."""

    default_code = "illegal-state-transition"


class UsageError(UccertsError):
    """The request is malformed: an unknown option value, a name that cannot apply."""

    exit_code = 2
    http_status = 400
    default_code = "usage"


class NotFound(UsageError):
    """A named thing (cluster, node, purpose, store, file) does not exist."""

    http_status = 404
    default_code = "not-found"


class BadRequest(UsageError):
    """A request the compatible API cannot use as sent (always 400, never 404)."""

    http_status = 400
    default_code = "bad-request"


class UnsupportedMediaType(UsageError):
    """An upload in a media type the API does not take."""

    http_status = 415
    default_code = "unsupported-media-type"


class InvalidInput(UccertsError):
    """Input data (a file, a PEM, a name) cannot be used as given."""

    exit_code = 1
    http_status = 400
    default_code = "invalid-input"


class UnreadableInput(InvalidInput):
    """One of several inputs (``field``, the ``index``-th of its kind) cannot be read;
    the offline check says which, each face in its own words (a CLI option, a form
    field). Keeps the code, message and fix of the error it wraps."""

    def __init__(self, cause: InvalidInput, field: str, index: int = 0) -> None:
        super().__init__(cause.message, code=cause.code, fix=cause.fix, detail=cause.detail)
        self.field = field
        self.index = index


class Unauthorized(UccertsError):
    """The caller is not known: no credentials, or credentials that do not match."""

    exit_code = 1
    http_status = 401
    default_code = "unauthorized"


class LoginRequired(Unauthorized):
    """No valid console session: a page redirects to the login page, anything else is
    answered 401."""

    default_code = "unauthenticated"

    def __init__(self) -> None:
        super().__init__("Authentication is required", fix="Log in to the console first")


class Forbidden(UccertsError):
    """The caller is known and may not do this (a read-only account, no CSRF token)."""

    exit_code = 1
    http_status = 403
    default_code = "forbidden"


class CsrfRejected(Forbidden):
    """A form posted without this session's CSRF token."""

    default_code = "csrf"

    def __init__(self) -> None:
        super().__init__("The form has expired or did not come from this console: it was "
                         "not processed (CSRF check failed).",
                         fix="Reload the page and submit the form again")


class Refused(UccertsError):
    """The system understood the request and refuses it (a rule or guard says no)."""

    exit_code = 1
    http_status = 409
    default_code = "refused"


class FindingsError(Refused):
    """Checks found problems: carries every finding, errors and warnings alike."""

    http_status = 400
    default_code = "checks-failed"

    def __init__(self, findings: Sequence[Finding], message: str | None = None) -> None:
        errors = [f for f in findings if f.is_error]
        first = errors[0] if errors else None
        super().__init__(
            message or (first.message if first else "checks failed"),
            code=first.code if first else None,
            fix=first.fix if first else None,
        )
        self.findings = tuple(findings)

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.is_error)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if not f.is_error)


class SystemFailure(UccertsError):
    """Storage, key material or a running service failed; not the user's fault."""

    exit_code = 3
    http_status = 503
    default_code = "system-failure"


class Throttled(Refused):
    """Too many failed logins for this user from this address: wait ``retry_after``
    seconds (each face says so its own way, e.g. HTTP ``Retry-After``)."""

    http_status = 429
    default_code = "too-many-failures"

    def __init__(self, retry_after: int, message: str = "Too many failed logins",
                 fix: str = "Wait, then check the user name and password") -> None:
        super().__init__(f"{message}: try again in {retry_after} s", fix=fix)
        self.retry_after = retry_after


class ControlTimeout(SystemFailure):
    """The running cluster did not answer within the call's timeout. What was asked may
    have been done in part: see the port's notes on retries before repeating it."""

    default_code = "control-timeout"


class LoginsBusy(Throttled):
    """Too many logins are waiting for their password check: try again shortly."""

    default_code = "too-many-logins"

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after, "Too many logins at once",
                         "Retry later; scripts should reuse a session or an API token")
