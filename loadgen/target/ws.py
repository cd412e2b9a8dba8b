"""WebSocket chat at ``/api/realtime/ws``, on the same port as HTTP.

The HTTP edge hands over the parsed Upgrade request; the handshake is answered by
``websockets``' sans-I/O :class:`ServerProtocol` (``accept``/``reject``), and afterwards
bytes from the socket are fed to a second ``ServerProtocol`` started in the OPEN state,
whose frames we read and whose outgoing bytes we write. Auth: a valid access token in
``?token=`` or ``Authorization: Bearer``; without one the handshake is rejected with 401.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from websockets.datastructures import Headers
from websockets.frames import Frame, Opcode
from websockets.http11 import Request as WsRequest
from websockets.protocol import State
from websockets.server import ServerProtocol

from loadgen.target.app import App
from loadgen.target.auth import AuthError, User
from loadgen.target.encode import WsFormat
from loadgen.target.faults import answers_before_body
from loadgen.target.generation import Format, Generation
from loadgen.target.http import HttpConnection, Request
from loadgen.target.routes_chat import prepare_answer

__all__ = ["WsConnection", "register"]

ROUTE = "/api/realtime/ws"
CLOSE_AUTH = 4401
_DATA = (Opcode.TEXT, Opcode.BINARY, Opcode.CONT)


def upgrade(app: App, conn: HttpConnection, req: Request, rest: bytes) -> None:
    """Answer the handshake; on success the connection speaks WebSocket from now on."""
    handshake = ServerProtocol()
    transport = conn.transport
    if req.path != ROUTE.encode():
        response = handshake.reject(404, "not found\n")
        transport.write(response.serialize())
        transport.close()
        return
    query = parse_qs(req.query.decode("latin-1"))
    token = query["token"][0] if query.get("token") else req.bearer()
    try:
        user = app.auth.authenticate(token)
    except AuthError as exc:
        response = handshake.reject(401, f"{exc.detail}\n")
        transport.write(response.serialize())
        transport.close()
        app.count(req, ROUTE, 401, len(response.body), None)
        return
    headers = Headers([(k.decode("latin-1"), v.decode("latin-1")) for k, v in req.headers])
    path = req.path.decode("latin-1") + ("?" + req.query.decode("latin-1") if req.query else "")
    response = handshake.accept(WsRequest(path, headers))
    transport.write(response.serialize())
    if response.status_code != 101:
        transport.close()
        return
    forced = req.header(b"x-loadgen-fault")
    conn.ws = WsConnection(app, conn, user, token or "", forced, app.request_id(req))
    if rest:
        conn.ws.feed(rest)


class WsConnection:
    """Reads client messages, answers one at a time (later ones wait in order)."""

    def __init__(
        self, app: App, conn: HttpConnection, user: User, token: str, forced: str | None, rid: str
    ) -> None:
        self.app = app
        self.conn = conn
        self.user = user
        self.token = token
        self.forced = forced
        self.rid = rid
        self.count = 0
        self.proto = ServerProtocol(state=State.OPEN, max_size=1 << 20)
        self.busy = False
        self.pending: deque[Any] = deque()
        self.fragments: list[bytes] = []

    def feed(self, data: bytes) -> None:
        self.proto.receive_data(data)
        for frame in self.proto.events_received():
            if isinstance(frame, Frame) and frame.opcode in _DATA:
                self.fragments.append(bytes(frame.data))
                if frame.fin:
                    text, self.fragments = b"".join(self.fragments), []
                    self.on_message(text)
        self.flush()

    def flush(self) -> int:
        sent = 0
        for chunk in self.proto.data_to_send():
            if chunk:
                self.conn.transport.write(chunk)
                sent += len(chunk)
            else:
                self.conn.transport.close()
        return sent

    def send(self, messages: list[bytes]) -> int:
        if self.proto.state is not State.OPEN:
            return 0
        for message in messages:
            self.proto.send_text(message)
        return self.flush()

    def error(self, code: int, message: str, **more: Any) -> int:
        body = {"type": "error", "code": code, "message": message, **more}
        return self.send([json.dumps(body).encode()])

    def on_message(self, text: bytes) -> None:
        try:
            msg = json.loads(text)
        except ValueError:
            self.error(400, 'send JSON: {"type": "message", "content": "..."}')
            return
        if (
            not isinstance(msg, dict)
            or msg.get("type", "message") != "message"
            or not isinstance(msg.get("content"), str)
            or not msg["content"].strip()
        ):
            self.error(400, 'expected {"type": "message", "content": "..."}')
            return
        if self.busy:
            self.pending.append(msg)
        else:
            self.answer(msg)

    def answer(self, msg: dict[str, Any]) -> None:
        app = self.app
        self.busy = True
        self.count += 1
        rid = str(msg.get("id") or f"{self.rid}:{self.count}")
        req = Request(time.monotonic())
        try:
            app.auth.authenticate(self.token)
            forced = msg.get("fault") if isinstance(msg.get("fault"), str) else self.forced
            fault = app.pick_fault(forced)
        except AuthError as exc:
            self._auth_close(req, rid, exc.detail, None)
            return
        except ValueError as exc:
            self.error(400, str(exc))
            self.done()
            return
        if fault == "expire_token":
            app.auth.expire(self.token)
            self._auth_close(req, rid, "token expired", fault)
            return
        if answers_before_body(fault):
            status = {"http_500": 500, "http_503": 503, "http_429": 429}[fault or ""]
            more = {"retry_after": app.config.faults.retry_after} if status == 429 else {}
            nbytes = self.error(status, f"injected {fault}", **more)
            app.count(req, ROUTE, status, nbytes, fault, rid)
            self.done()
            return
        conv = app.conversations.get_or_create(msg.get("conversation_id"), self.user.id)
        if conv is None:
            self.error(403, "conversation belongs to another user")
            self.done()
            return
        prepared = prepare_answer(app, conv, msg["content"], None)
        done = prepared["done"]
        end = {
            "type": "end",
            "conversation_id": done["conversation_id"],
            "message_id": done["message_id"],
            "citations": done["citations"],
            "usage": done["usage"],
        }
        fmt = WsFormat(app.enc, prepared["offset"], prepared["n"], end)
        gen = Generation(
            app,
            WsSink(self),
            fmt,
            n=prepared["n"],
            ttft=prepared["ttft"],
            route=ROUTE,
            rid=rid,
            req=req,
            fault=fault,
            prompt_tokens=done["usage"]["prompt_tokens"],
            llm=prepared["llm"],
        )
        gen.schedule()

    def _auth_close(self, req: Request, rid: str, detail: str, fault: str | None) -> None:
        nbytes = self.error(401, detail)
        self.proto.send_close(CLOSE_AUTH, detail)
        nbytes += self.flush()
        self.app.count(req, ROUTE, 401, nbytes, fault, rid)
        self.busy = True  # nothing more is answered on this connection

    def done(self) -> None:
        """The current answer is complete: answer the next waiting message."""
        self.busy = False
        self.conn.on_lost = None
        self.conn.on_resume = None
        if self.pending and not self.conn.closed:
            self.answer(self.pending.popleft())

    def connection_lost(self) -> None:
        self.pending.clear()


class WsSink:
    """Writes a generation's events as WebSocket text messages."""

    __slots__ = ("status", "ws")
    streams = True

    def __init__(self, ws: WsConnection) -> None:
        self.ws = ws
        self.status = 200

    def paused(self) -> bool:
        return self.ws.conn.write_paused

    def wait_resume(self, callback: Callable[[], None]) -> None:
        self.ws.conn.on_resume = callback

    def on_gone(self, callback: Callable[[], None]) -> None:
        self.ws.conn.on_lost = callback

    def open(self, events: list[bytes]) -> int:
        return self.ws.send(events) if events else 0

    def emit(self, events: list[bytes]) -> int:
        return self.ws.send(events)

    def close(self, events: list[bytes]) -> int:
        sent = self.ws.send(events)
        self.ws.done()
        return sent

    def whole(self, fmt: Format) -> int:
        return self.close(fmt.events())

    def abort(self) -> int:
        self.ws.conn.transport.abort()
        return 0

    def reject(self, status: int, code: str, message: str) -> int:
        self.status = status
        sent = self.ws.error(status, message, error=code)
        self.ws.done()
        return sent


def register(app: App) -> None:
    def hook(conn: HttpConnection, req: Request, rest: bytes) -> None:
        upgrade(app, conn, req, rest)

    app.upgrade = hook
