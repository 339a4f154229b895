"""JSON request bodies, parsed in one place for every face of the API.

``json.loads`` fails in more ways than ``ValueError``: deep nesting raises
``RecursionError`` (``{"a":`` three thousand times), and bytes that are not UTF-8 raise
``UnicodeDecodeError``. Each is the client's mistake, so each becomes one
``malformed-json`` error that the faces map to their own 400 shape.
"""

from __future__ import annotations

import json
from typing import Any

from uccerts.errors import InvalidInput

MALFORMED = "malformed-json"


class MalformedJson(InvalidInput):
    """A request body that is not JSON a parser can read (always 400)."""

    http_status = 400
    default_code = MALFORMED


def parse_json(raw: bytes) -> Any:
    """The document in ``raw``, or ``MalformedJson`` naming why it cannot be read."""
    if not raw.strip():
        raise MalformedJson("The request body is empty: send a JSON document",
                            fix="Send Content-Type: application/json with a JSON body")
    try:
        return json.loads(raw)
    except RecursionError:
        raise MalformedJson("The request body is not valid JSON: it is nested too deeply",
                            fix="Send a flat JSON object") from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise MalformedJson(f"The request body is not valid JSON: {str(exc)[:200]}",
                            fix="Send one JSON document, UTF-8 encoded") from None
