"""The kiosk page's HTTP server: the files of ``static/`` and nothing else, plus ``/config.js``.

``/config.js`` is generated: it sets ``window.AVATAR_KIOSK_DEFAULTS`` to the node's defaults (broker
WebSocket URL, channel, prefix, ...) which the page's query parameters override. Every other path
is looked up inside the static directory only; ``..`` segments, backslashes, NUL bytes and symlinks
leading outside it are rejected. Only GET and HEAD are served.

The idle face: when the server knows a channel's resting frame (:meth:`WebServer.set_idle`, or the
``idle_source`` callable), ``index.html`` carries it inline as a data URI, so the first paint of
the page already shows the avatar, before any script or broker connection. ``/idle.jpg?channel=X``
serves the same JPEG (404 while unknown).
"""

from __future__ import annotations

import base64
import json
import logging
import mimetypes
import socket
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"

#: Content types the page needs; ES modules must be served as JavaScript.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".md": "text/markdown; charset=utf-8",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
}


def config_js(defaults: dict[str, Any]) -> bytes:
    """The ``/config.js`` body; JSON is escaped so no value can close a script element."""
    text = json.dumps(defaults, sort_keys=True)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f"window.AVATAR_KIOSK_DEFAULTS = {text};\n".encode()


#: The element of index.html the server fills in with the idle face (see :func:`with_idle_face`).
IDLE_IMG = b'<img id="idle-face" alt="avatar" hidden>'
MAX_IDLE_BYTES = 4 * 1024 * 1024


def with_idle_face(html: bytes, jpeg: bytes | None) -> bytes:
    """``index.html`` with the idle-face ``<img>`` showing ``jpeg`` inline (unchanged if None)."""
    if not jpeg:
        return html
    uri = b"data:image/jpeg;base64," + base64.b64encode(jpeg)
    return html.replace(IDLE_IMG, b'<img id="idle-face" alt="avatar" src="' + uri + b'">', 1)


def resolve_static(root: Path, url_path: str) -> Path | None:
    """The file under ``root`` that ``url_path`` names, or None (missing, or outside ``root``)."""
    path = unquote(url_path)
    if "\x00" in path or "\\" in path:
        return None
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        return None
    candidate = root.joinpath(*parts) if parts else root / "index.html"
    try:
        resolved = candidate.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if resolved.is_dir():
        resolved = resolved / "index.html"
    if not resolved.is_relative_to(root) or not resolved.is_file():
        return None
    return resolved


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "avatar-node-kiosk"
    sys_version = ""

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        self._serve(body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve(body=False)

    def _not_allowed(self) -> None:
        self.send_response(HTTPStatus.METHOD_NOT_ALLOWED)
        self.send_header("Allow", "GET, HEAD")
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_PUT = do_DELETE = do_PATCH = _not_allowed  # noqa: N815

    def _serve(self, body: bool) -> None:
        url = urlsplit(self.path)
        path = url.path
        if path == "/config.js":
            self._send(HTTPStatus.OK, self.server.config_body, CONTENT_TYPES[".js"], body)
            return
        if path == "/idle.jpg":
            jpeg = self._idle_for(url.query)
            if jpeg is None:
                self._send(HTTPStatus.NOT_FOUND, b"no idle frame yet\n", "text/plain", body)
            else:
                self._send(HTTPStatus.OK, jpeg, CONTENT_TYPES[".jpg"], body)
            return
        file = resolve_static(self.server.root, path)
        if file is None:
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8", body)
            return
        ctype = CONTENT_TYPES.get(file.suffix) or (
            mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        )
        try:
            data = file.read_bytes()
        except OSError:
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8", body)
            return
        if file == self.server.root / "index.html":
            data = with_idle_face(data, self._idle_for(url.query))
        self._send(HTTPStatus.OK, data, ctype, body)

    def _idle_for(self, query: str) -> bytes | None:
        """The idle JPEG of the channel the page shows (``?channel=``, else the default one);
        None when the page asks for another topic prefix than the server's."""
        q = parse_qs(query)
        defaults = self.server.owner.defaults
        prefix = q.get("prefix", [None])[0]
        if prefix is not None and prefix != defaults.get("prefix", prefix):
            return None
        channel = q.get("channel", [None])[0] or str(defaults.get("channel", "default"))
        return self.server.owner.idle_jpeg(channel)

    def _send(self, status: HTTPStatus, data: bytes, ctype: str, body: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.end_headers()
        if body:
            self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        log.debug("web %s - %s", self.address_string(), format % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], owner: WebServer, config_body: bytes):
        self.root = owner.root
        self.owner = owner
        self.config_body = config_body
        if ":" in addr[0]:
            self.address_family = socket.AF_INET6
        super().__init__(addr, _Handler)


class WebServer:
    """Serves the kiosk page on ``host:port`` (port 0 picks a free port; see :attr:`port`).

    ``defaults`` become the page's defaults: ``ws`` (broker WebSocket URL), ``channel``,
    ``prefix``, ``lead_ms`` (frames buffered before playback starts, ms), ``status`` and
    ``input`` (show the status corner / the say box).

    ``idle_source(channel)`` returns a channel's resting frame (JPEG bytes) or None; the node can
    instead push it with :meth:`set_idle` whenever it publishes ``AvatarInfo``.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8080,
        defaults: dict[str, Any] | None = None,
        static_dir: Path | None = None,
        idle_source: Callable[[str], bytes | None] | None = None,
    ):
        self.host = host
        self._requested_port = port
        self.defaults = dict(defaults or {})
        self.root = (static_dir or STATIC_DIR).resolve()
        self.idle_source = idle_source
        self._idle: dict[str, bytes] = {}
        self._idle_lock = threading.Lock()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    def set_idle(self, channel: str, jpeg: bytes | None) -> None:
        """Sets (None: forgets) ``channel``'s resting frame, served inline with the page."""
        with self._idle_lock:
            if jpeg and len(jpeg) <= MAX_IDLE_BYTES:
                self._idle[channel] = bytes(jpeg)
            else:
                self._idle.pop(channel, None)

    def idle_jpeg(self, channel: str) -> bytes | None:
        """``channel``'s resting frame: the one set last, else ``idle_source``'s, else None."""
        with self._idle_lock:
            jpeg = self._idle.get(channel)
        if jpeg is None and self.idle_source is not None:
            try:
                jpeg = self.idle_source(channel)
            except Exception:  # a failing hook must never break serving the page
                log.exception("idle_source failed")
                jpeg = None
        return jpeg

    def start(self) -> None:
        """Binds and serves in a daemon thread; raises OSError when the port is taken."""
        if self._httpd is not None:
            return
        body = config_js(self.defaults)
        self._httpd = _Server((self.host, self._requested_port), self, body)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            name="avatar-web",
            kwargs={"poll_interval": 0.2},
            daemon=True,
        )
        self._thread.start()
        log.info("kiosk page at %s", self.url)

    def stop(self) -> None:
        """Stops serving and closes the socket (idempotent)."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    @property
    def port(self) -> int:
        """The bound port (the real one when 0 was asked for)."""
        if self._httpd is not None:
            return int(self._httpd.server_address[1])
        return self._requested_port

    @property
    def url(self) -> str:
        """``http://host:port/``; a wildcard bind address is shown as 127.0.0.1."""
        host = self.host
        if host in ("", "0.0.0.0"):
            host = "127.0.0.1"
        elif host == "::":
            host = "[::1]"
        elif ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/"

    def __enter__(self) -> WebServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
