"""Request size limit for every route: uploads over 1 MiB are refused with 413."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from uccerts.http.parser_noise import begin_request, quiet_multipart_parser

MAX_BODY = 1024 * 1024
TOO_LARGE = ("The request body is larger than 1 MiB: upload certificates one file at a "
             "time")


class BodyLimit:
    """Reads the request body first (at most 1 MiB, the whole of any legal upload),
    then hands it to the app; a larger body is answered 413 before the app runs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        quiet_multipart_parser()  # every request passes here first

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > MAX_BODY:
                await _refuse(send)
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before sending its body
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY:
                await _refuse(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False
        begin_request()

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _refuse(send: Send) -> None:
    body = json.dumps({"code": "request-too-large", "message": TOO_LARGE,
                       "messages": [TOO_LARGE]}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
