"""The kiosk page's HTTP server: serves the static files and the defaults, nothing else."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from avatar_node.web.server import STATIC_DIR, WebServer, config_js, resolve_static

DEFAULTS = {"ws": "ws://127.0.0.1:9001", "channel": "lobby", "prefix": "avatar", "lead_ms": 250}


@pytest.fixture
def server() -> Iterator[WebServer]:
    with WebServer("127.0.0.1", 0, DEFAULTS) as srv:
        yield srv


def raw_get(srv: WebServer, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """A request with the path sent exactly as given (no client-side normalisation)."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def test_ephemeral_port_and_url(server: WebServer) -> None:
    assert server.port > 0
    assert server.url == f"http://127.0.0.1:{server.port}/"


def test_serves_the_page(server: WebServer) -> None:
    status, headers, body = raw_get(server, "/")
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    assert b'<canvas id="avatar"' in body
    assert b'src="config.js"' in body
    assert body == (STATIC_DIR / "index.html").read_bytes()


def test_modules_are_served_as_javascript(server: WebServer) -> None:
    for path in ("/js/main.js", "/vendor/mqtt.esm.js"):
        status, headers, body = raw_get(server, path)
        assert status == 200, path
        assert headers["content-type"].startswith("text/javascript"), path
        assert headers["x-content-type-options"] == "nosniff"
        assert len(body) > 100
    status, headers, _ = raw_get(server, "/css/kiosk.css")
    assert status == 200 and headers["content-type"].startswith("text/css")


def test_vendored_mqtt_js_carries_its_license() -> None:
    vendor = STATIC_DIR / "vendor"
    assert (vendor / "mqtt.esm.js").stat().st_size > 100_000
    assert "MIT" in (vendor / "mqtt.LICENSE.md").read_text()


def test_injects_defaults(server: WebServer) -> None:
    status, headers, body = raw_get(server, "/config.js?cache=1")
    assert status == 200
    assert headers["content-type"].startswith("text/javascript")
    text = body.decode()
    prefix = "window.AVATAR_KIOSK_DEFAULTS = "
    assert text.startswith(prefix)
    assert json.loads(text[len(prefix) :].rstrip().rstrip(";")) == DEFAULTS


def test_defaults_cannot_break_out_of_a_script() -> None:
    body = config_js({"channel": "</script><script>alert(1)</script>"}).decode()
    assert "</script>" not in body and "<" not in body
    # Still the same value once parsed.
    value = json.loads(body.split(" = ", 1)[1].rstrip().rstrip(";"))
    assert value["channel"] == "</script><script>alert(1)</script>"


@pytest.mark.parametrize(
    "path",
    [
        "/../server.py",
        "/js/../../server.py",
        "/%2e%2e/server.py",
        "/js/%2E%2E/%2e%2e/server.py",
        "/..%2fserver.py",
        "/..%5cserver.py",
        "/js/..\\..\\server.py",
        "/%00index.html",
        "//etc/passwd",
        "/../../../../../../etc/passwd",
        "/..%2f..%2f..%2f..%2fetc%2fpasswd",
    ],
)
def test_rejects_traversal(server: WebServer, path: str) -> None:
    status, _, body = raw_get(server, path)
    assert status == 404, path
    assert b"WebServer" not in body and b"root:" not in body


def test_symlink_out_of_the_static_dir_is_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "static"
    root.mkdir()
    (root / "index.html").write_text("<p>hi</p>")
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    (root / "link.txt").symlink_to(secret)
    assert resolve_static(root.resolve(), "/link.txt") is None
    assert resolve_static(root.resolve(), "/index.html") == (root / "index.html").resolve()
    assert resolve_static(root.resolve(), "/") == (root / "index.html").resolve()


def test_missing_files_are_404(server: WebServer) -> None:
    for path in ("/nope.js", "/js/", "/vendor/nothing", "/index.html/x"):
        status, _, _ = raw_get(server, path)
        assert status == 404, path


def test_head_and_other_methods(server: WebServer) -> None:
    status, headers, body = raw_get(server, "/", method="HEAD")
    assert status == 200 and body == b"" and int(headers["content-length"]) > 0
    status, headers, _ = raw_get(server, "/", method="POST")
    assert status == 405 and headers["allow"] == "GET, HEAD"


def test_stop_releases_the_port() -> None:
    srv = WebServer("127.0.0.1", 0, {})
    srv.start()
    port = srv.port
    srv.stop()
    srv.stop()  # idempotent
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))


def test_port_taken_raises() -> None:
    with WebServer("127.0.0.1", 0, {}) as first:
        second = WebServer("127.0.0.1", first.port, {})
        with pytest.raises(OSError):
            second.start()
