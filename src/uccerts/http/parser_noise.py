"""The multipart parser's complaints, kept off ``serve``'s console.

python-multipart logs each oddity of a malformed body as a WARNING on its own logger;
with no logging set up, Python prints those on the console ``serve`` runs in, where
any client could fill it. The client is already answered 400: its body's first
complaint is logged at DEBUG on ``uccerts.http``, the rest of that request's dropped.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar

log = logging.getLogger("uccerts.http")
PARSER_LOGGERS = ("python_multipart.multipart", "multipart.multipart")
# Per request (set by ``begin_request``): whether its body was complained about yet.
_noted: ContextVar[list[bool] | None] = ContextVar("uccerts_multipart_noted", default=None)


class _Once(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        noted = _noted.get()
        if noted is None or not noted[0]:
            log.debug("Malformed multipart body: %s", record.getMessage())
            if noted is not None:
                noted[0] = True
        return False  # never printed as the parser's own warning


_FILTER = _Once()


def quiet_multipart_parser() -> None:
    """Route the parser's complaints through ``_Once`` (idempotent)."""
    for name in PARSER_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def begin_request() -> None:
    """A new request: its body's first complaint is logged again."""
    _noted.set([False])
