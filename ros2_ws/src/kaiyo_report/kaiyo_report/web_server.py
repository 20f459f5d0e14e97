"""HTTP + websocket server of the live view (no rclpy): one port, its own asyncio thread.

- GET /            the page (kaiyo_report.web_page: self-contained, no external requests)
- GET /state.json  the latest snapshot (for scripts and curl)
- /ws              websocket: the server pushes {"type": "state", ...} snapshots; a client
                   may send {"type": "command", ...}, answered with "command_result" at
                   once (CommandGate) and, if accepted, "command_done" when the ROS side
                   has finished.

Websocket handshakes from another origin (a web page elsewhere trying to drive the
station from the operator's browser) are refused with 403; client messages are capped at
4 KiB. The ROS node calls `publish()` from its own thread; everything crosses into the
event loop with call_soon_threadsafe.
"""
from __future__ import annotations

import asyncio
import http
import json
import threading
from collections.abc import Callable
from urllib.parse import urlparse

from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from kaiyo_report.live import CommandGate, CommandResult, CommandStatus, LiveError

MAX_CLIENT_MESSAGE_BYTES = 4096
BAD_TOKEN_DELAY_S = 0.5   # answer to a wrong token, s (one connection guesses 2 per s)
SECURITY_HEADERS = [
    ('Content-Security-Policy', "default-src 'none'; connect-src 'self'; img-src data:; "
                                "style-src 'unsafe-inline'; script-src 'unsafe-inline'"),
    ('X-Content-Type-Options', 'nosniff'), ('Cache-Control', 'no-store'),
    ('Referrer-Policy', 'no-referrer'),
]


def _response(status: http.HTTPStatus, body: bytes, content_type: str) -> Response:
    headers = Headers([('Content-Type', content_type), ('Content-Length', str(len(body))),
                       *SECURITY_HEADERS])
    return Response(status.value, status.phrase, headers, body)


class LiveServer:
    """host/port: where to listen (port 0: any free port, see `.port` after start()).

    on_command(result, done): called on the server thread for an accepted command; the
    callee must call done(ok: bool, message: str) (from any thread) when finished.
    """

    def __init__(self, host: str, port: int, page_html: str, gate: CommandGate,
                 on_command: Callable[[CommandResult, Callable[[bool, str], None]], None]):
        self.host, self.port = host, port
        self.page = page_html.encode('utf-8')
        self.gate = gate
        self.on_command = on_command
        self.latest = json.dumps({'type': 'state'})
        self.clients: set[ServerConnection] = set()
        self.commands_refused = 0
        self.commands_accepted = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server = None
        self._thread: threading.Thread | None = None
        self._stopped: asyncio.Event | None = None

    # -- lifecycle (caller's thread) ---------------------------------------------------
    def start(self, timeout_s: float = 10.0) -> int:
        """Bind and serve; returns the port. Raises LiveError if the address is unusable."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            try:
                self._loop.run_until_complete(self._main(ready))
            except OSError as err:
                failure.append(err)
                ready.set()
            finally:
                self._loop.close()

        self._thread = threading.Thread(target=run, name='kaiyo-web', daemon=True)
        self._thread.start()
        if not ready.wait(timeout_s):
            raise LiveError(f'web server on {self.host}:{self.port} did not start')
        if failure:
            raise LiveError(f'cannot serve on {self.host}:{self.port}: {failure[0]}')
        return self.port

    async def _main(self, ready: threading.Event) -> None:
        self._stopped = asyncio.Event()
        async with serve(self._handle, self.host, self.port, process_request=self._http,
                         max_size=MAX_CLIENT_MESSAGE_BYTES, ping_interval=20) as server:
            self._server = server
            self.port = server.sockets[0].getsockname()[1]
            ready.set()
            await self._stopped.wait()

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stopped.set)
            self._thread.join(timeout=5.0)

    def publish(self, snapshot: dict) -> None:
        """Send a snapshot to every client (thread-safe)."""
        text = json.dumps(snapshot, ensure_ascii=False, allow_nan=False)
        if self._loop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._broadcast, text)

    # -- event loop side -----------------------------------------------------------------
    def _broadcast(self, text: str) -> None:
        self.latest = text
        broadcast(self.clients, text)

    def _http(self, connection: ServerConnection, request: Request) -> Response | None:
        path = urlparse(request.path).path
        if path == '/ws':
            origin = request.headers.get('Origin')
            if origin is not None and urlparse(origin).netloc != request.headers.get('Host'):
                return _response(http.HTTPStatus.FORBIDDEN, b'cross-origin websocket refused\n',
                                 'text/plain; charset=utf-8')
            return None   # go on with the websocket handshake
        if path in ('/', '/index.html'):
            return _response(http.HTTPStatus.OK, self.page, 'text/html; charset=utf-8')
        if path == '/state.json':
            return _response(http.HTTPStatus.OK, self.latest.encode('utf-8'),
                             'application/json')
        return _response(http.HTTPStatus.NOT_FOUND, b'not found\n', 'text/plain; charset=utf-8')

    async def _handle(self, ws: ServerConnection) -> None:
        self.clients.add(ws)
        try:
            await ws.send(self.latest)
            async for raw in ws:
                await self._on_client_message(ws, raw)
        except ConnectionClosed:
            pass
        finally:
            self.clients.discard(ws)

    async def _on_client_message(self, ws: ServerConnection, raw) -> None:
        try:
            msg = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError, TypeError):
            msg = None
        msg_id = msg.get('id') if isinstance(msg, dict) else None
        if not isinstance(msg, dict) or msg.get('type') != 'command':
            await ws.send(json.dumps({'type': 'error', 'id': msg_id,
                                      'reason': 'expected {"type": "command", ...}'}))
            return
        result = self.gate.check(msg)
        if result.status is CommandStatus.REFUSED_BAD_TOKEN:
            await asyncio.sleep(BAD_TOKEN_DELAY_S)   # makes guessing the token slow
        await ws.send(json.dumps({'type': 'command_result', 'id': msg_id, 'ok': result.ok,
                                  'status': result.status.value, 'reason': result.reason,
                                  'command': result.command}))
        if not result.ok:
            self.commands_refused += 1
            return
        self.commands_accepted += 1
        loop = asyncio.get_running_loop()

        def done(ok: bool, message: str) -> None:
            text = json.dumps({'type': 'command_done', 'id': msg_id, 'ok': bool(ok),
                               'message': message, 'command': result.command})
            loop.call_soon_threadsafe(lambda: asyncio.ensure_future(self._send_quietly(ws, text)))

        self.on_command(result, done)

    @staticmethod
    async def _send_quietly(ws: ServerConnection, text: str) -> None:
        try:
            await ws.send(text)
        except ConnectionClosed:
            pass   # the browser went away; the command still ran
