"""What the compatible API reads: JSON bodies as the published clients send them, and
service names as the appliance takes them (domain.md §13).

Bodies are parsed by hand rather than by a schema so that unknown keys are ignored,
the lenient forms clients use are accepted (a service list or a plain string, numbers
as strings), and every refusal reads like the appliance's: one 400 with a message.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request

from uccerts.api.json_body import parse_json
from uccerts.domain.model import Distribution
from uccerts.domain.purposes import (
    KeyType,
    Purpose,
    TrustStore,
    is_trust_store,
    purpose,
    trust_store,
)
from uccerts.errors import BadRequest, NotFound

Body = dict[str, Any]
_ASCII_DIGITS = re.compile(r"[0-9]{1,9}", re.ASCII)


async def read_object(request: Request) -> Body:
    """The request body as a JSON object; anything else is a 400 with a message."""
    data = parse_json(await request.body())  # MalformedJson: a 400 like BadRequest
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object", code="malformed-json",
                         fix='Send an object such as {"service": "tomcat", …}')
    return data



def text(body: Body, key: str, *, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise BadRequest(f"'{key}' is required", code="missing-field",
                             fix=f"Add \"{key}\" to the JSON body")
        return None
    if not isinstance(value, str):
        raise BadRequest(f"'{key}' must be a string", code="invalid-field")
    return value.strip()


def text_list(body: Body, key: str, *, required: bool = False, split: bool = False
              ) -> list[str]:
    """A list of strings; a plain string is one element (``split``: comma-separated)."""
    value = body.get(key)
    if isinstance(value, str):
        value = value.split(",") if split else [value]
    if value is None:
        value = []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequest(f"'{key}' must be a list of strings", code="invalid-field")
    items = [v.strip() for v in value if v.strip()]
    if required and not items:
        raise BadRequest(f"'{key}' is required", code="missing-field",
                         fix=f"Add \"{key}\" to the JSON body")
    return items


def integer(body: Body, key: str) -> int | None:
    """A whole number, as a JSON number or a string of ASCII digits. ``str.isdigit``
    is not enough: it is true for "²" (which ``int`` refuses) and for "٣" (which it
    reads as 3)."""
    value = body.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str) and _ASCII_DIGITS.fullmatch(value.strip()):
        return int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise BadRequest(f"'{key}' must be a number (ASCII digits)", code="invalid-field",
                     fix=f'Send "{key}": 2048')


def one_text(body: Body, key: str, *, required: bool = False) -> str | None:
    """A string, also when sent as a one-element list (``["tomcat"]``): the clients
    send both forms of ``service``."""
    value = body.get(key)
    if isinstance(value, list):
        if len(value) > 1:
            raise BadRequest(f"'{key}' names one value here, not {len(value)}",
                             code="invalid-field", fix=f'Send "{key}": "tomcat"')
        body = {key: value[0] if value else None}
    return text(body, key, required=required)


def distribution(body: Body) -> Distribution:
    value = text(body, "distribution") or Distribution.THIS_SERVER.value
    try:
        return Distribution(value.lower())
    except ValueError:
        raise BadRequest(f"Unknown distribution '{value}'", code="invalid-distribution",
                         fix="Use this-server or multi-server") from None


def key_type(body: Body) -> KeyType | None:
    value = text(body, "keyType")
    if value is None:
        return None
    try:
        return KeyType(value.upper())
    except ValueError:
        raise BadRequest(f"Unknown keyType '{value}'", code="invalid-key-type",
                         fix="Use rsa or ec") from None


# --- service names ---------------------------------------------------------------------


def _as_400(err: NotFound) -> BadRequest:
    return BadRequest(err.message, code=err.code, fix=err.fix)


def identity_purpose(name: str, wanted: KeyType | None = None) -> Purpose:
    """An identity purpose by the service name clients send (``tomcat``, ``TOMCAT``).

    ``wanted`` picks the key type's sibling, as the appliance does for ``{"service":
    "tomcat", "keyType": "ec"}``: tomcat-ECDSA; an RSA request for tomcat-ECDSA is tomcat.
    """
    if is_trust_store(name):
        raise BadRequest(f"'{name}' is a trust store, not an identity service",
                         code="not-an-identity",
                         fix="Use /trust/certificates for trust certificates")
    try:
        found = purpose(name)
    except NotFound as err:
        raise _as_400(err) from None
    if wanted is None or found.key_type is wanted:
        return found
    sibling = ec_sibling(found) if wanted is KeyType.EC else _sibling(
        found.name.removesuffix("-ECDSA"))
    if sibling is None:
        raise BadRequest(f"{found.name} has no {wanted.value} key type",
                         code="invalid-key-type",
                         fix=f"Use keyType {found.key_type.value.lower()} for {found.name}")
    return sibling


def ec_sibling(p: Purpose) -> Purpose | None:
    """The -ECDSA purpose of an RSA one (tomcat → tomcat-ECDSA), if it has one."""
    return p if p.key_type is KeyType.EC else _sibling(f"{p.name}-ECDSA")


def _sibling(name: str) -> Purpose | None:
    try:
        return purpose(name)
    except NotFound:
        return None


def store_for(name: str) -> TrustStore:
    """The trust store a service name means: ``tomcat`` → tomcat-trust (the store's
    own name, with or without ``-trust``, works too)."""
    for candidate in (name, f"{name}-trust"):
        if is_trust_store(candidate):
            return trust_store(candidate)
    try:
        found = purpose(name)
    except NotFound as err:
        raise BadRequest(f"Unknown service '{name}'", code="unknown-service",
                         fix=err.fix) from None
    if found.trust_store is None:
        raise BadRequest(f"{found.name} has no trust store", code="no-trust-store",
                         fix="Name a service such as tomcat or CallManager")
    return trust_store(found.trust_store)


def query_service(request: Request) -> str:
    value = (request.query_params.get("service") or "").strip()
    if not value:
        raise BadRequest("The query parameter 'service' is required", code="missing-field",
                         fix="Add ?service=tomcat")
    return value
