"""The body of a certificate upload: a multipart file or JSON with PEM text.

    multipart/form-data   file=<PEM, DER or PKCS#7 file>, description=<text>
    application/json      {"pem": "-----BEGIN CERTIFICATE-----...", "description": "..."}
"""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.requests import Request

from uccerts.api.json_body import parse_json
from uccerts.api.native_models import UploadIn
from uccerts.errors import InvalidInput, UnsupportedMediaType

MULTIPART_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {"type": "string", "format": "binary",
                 "description": "PEM (one or many certificates), DER or PKCS#7 (.p7b)"},
        "description": {"type": "string", "maxLength": 200},
    },
}
UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": UploadIn.model_json_schema()},
            "multipart/form-data": {"schema": MULTIPART_SCHEMA},
        },
    },
}


def _validation(exc: ValidationError, body: Any) -> RequestValidationError:
    return RequestValidationError(
        [{**e, "loc": ("body", *e.get("loc", ()))} for e in exc.errors()], body=body)


async def read_upload(request: Request) -> tuple[bytes, str | None]:
    """(file bytes, description) from the request, whichever form it came in."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "multipart/form-data":
        return await _from_form(request)
    if media == "application/json" or media.endswith("+json"):
        return await _from_json(request)
    raise UnsupportedMediaType(
        f"An upload is multipart/form-data or application/json, not '{media or 'none'}'",
        fix='Send the file as multipart field "file", or JSON {"pem": "..."}')


async def _from_form(request: Request) -> tuple[bytes, str | None]:
    async with request.form(max_files=1, max_fields=4) as form:
        item = form.get("file")
        if isinstance(item, UploadFile):
            data = await item.read()
        elif isinstance(item, str):
            data = item.encode("utf-8", "replace")
        else:
            raise RequestValidationError([{"type": "missing", "loc": ("body", "file"),
                                           "msg": "Field required", "input": None}])
        description = form.get("description")
        if description is not None and not isinstance(description, str):
            raise InvalidInput("The description is a text field, not a file",
                               code="invalid-description")
        if description is not None and len(description) > 200:
            raise RequestValidationError([{"type": "string_too_long",
                                           "loc": ("body", "description"),
                                           "msg": "At most 200 characters", "input": None}])
    return data, description


async def _from_json(request: Request) -> tuple[bytes, str | None]:
    doc = parse_json(await request.body())
    try:
        body = UploadIn.model_validate(doc)
    except ValidationError as exc:
        raise _validation(exc, doc) from exc
    return body.pem.encode("utf-8", "replace"), body.description
