"""Security: password + TLS broker, topic ACLs (docker/mosquitto.acl), checkpoint pickles, paths.

The CA and the broker certificate are made in the test with the ``openssl`` CLI (the
``cryptography`` package is not a dependency). Path traversal of the web server is covered by
``tests/unit/test_web_server.py``; the VITS malicious pickle by ``test_vits_checkpoint_errors``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
import torch
from paho.mqtt.enums import CallbackAPIVersion

from avatar_node.app import Node
from avatar_node.client import AvatarClient
from avatar_node.errors import CheckpointError
from avatar_node.lipsync import load_wav2lip
from avatar_node.settings import Settings, TlsSettings
from tests.conftest import REPO, Broker, free_port, wait_port
from tests.integration.conftest import node_settings

USERS = {"node": "node-secret", "display": "display-secret", "chatbot": "chatbot-secret"}


def _run(*cmd: str | Path) -> None:
    if shutil.which(str(cmd[0])) is None:
        pytest.fail(f"{cmd[0]} is not installed (apt-get install openssl mosquitto-clients)")
    subprocess.run([str(c) for c in cmd], check=True, capture_output=True)


def make_certs(d: Path) -> None:
    """A self-signed CA and a broker certificate for 127.0.0.1 signed by it (EC P-256)."""
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _run("openssl", "req", "-x509", *ec, "-keyout", d / "ca.key", "-out", d / "ca.crt",
         "-days", "2", "-subj", "/CN=avatar-test-ca")  # fmt: skip
    _run("openssl", "req", *ec, "-keyout", d / "server.key", "-out", d / "server.csr",
         "-subj", "/CN=127.0.0.1")  # fmt: skip
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _run("openssl", "x509", "-req", "-in", d / "server.csr", "-CA", d / "ca.crt",
         "-CAkey", d / "ca.key", "-CAcreateserial", "-out", d / "server.crt", "-days", "2",
         "-extfile", d / "ext.cnf")  # fmt: skip
    for f in d.iterdir():
        f.chmod(0o644)  # mosquitto drops to its own user


class SecureBroker(Broker):
    """Private broker: no anonymous access, a password file, the shipped ACL, a TLS listener."""

    def __init__(self, workdir: Path, prefix: str):
        make_certs(workdir)
        pw = workdir / "passwd"
        for i, (user, password) in enumerate(USERS.items()):
            _run("mosquitto_passwd", "-b", *(["-c"] if i == 0 else []), pw, user, password)
        pw.chmod(0o644)
        acl = (REPO / "docker" / "mosquitto.acl").read_text().replace("avatar/", f"{prefix}/")
        (workdir / "acl").write_text(acl)
        (workdir / "acl").chmod(0o644)
        self.tls_port = free_port()
        super().__init__(workdir, extra_conf=(
            f"allow_anonymous false\npassword_file {pw}\nacl_file {workdir / 'acl'}\n"
            f"listener {self.tls_port} 127.0.0.1\nprotocol mqtt\n"
            f"cafile {workdir / 'ca.crt'}\ncertfile {workdir / 'server.crt'}\n"
            f"keyfile {workdir / 'server.key'}\n"
        ))  # fmt: skip

    def start(self) -> None:
        super().start()
        wait_port(self.tls_port)


@pytest.fixture
def secure(prefix: str) -> Iterator[SecureBroker]:
    with tempfile.TemporaryDirectory(prefix="avatar-secure-") as tmp:
        b = SecureBroker(Path(tmp), prefix)
        yield b
        b.stop()


def _tls(b: SecureBroker) -> TlsSettings:
    return TlsSettings(enabled=True, ca_certs=str(b.workdir / "ca.crt"))


def _client(b: SecureBroker, prefix: str, user: str, password: str | None = None) -> AvatarClient:
    return AvatarClient(b.host, b.tls_port, prefix, username=user,
                        password=password or USERS[user], tls=_tls(b))  # fmt: skip


def _node(b: SecureBroker, prefix: str, voices: Any, password: str) -> Node:
    settings = node_settings(b, prefix, mqtt={
        "port": b.tls_port, "username": "node", "password": password,
        "tls": {"enabled": True, "ca_certs": str(b.workdir / "ca.crt")},
    })  # fmt: skip
    node = Node(settings, load_avatars=False, voices=voices)
    node.start(connect_timeout=10)
    return node


def test_tls_password_and_acls(secure: SecureBroker, prefix: str, bundled_voices: Any) -> None:
    node = _node(secure, prefix, bundled_voices, USERS["node"])
    try:
        assert node.transport.connected.is_set(), "node did not connect with TLS + password"
        with _client(secure, prefix, "display") as display, \
                _client(secure, prefix, "chatbot") as chatbot:  # fmt: skip
            seen: list[tuple[str, bytes]] = []
            display.subscribe(f"{prefix}/#", lambda t, p: seen.append((t, p)))
            chat_seen: list[str] = []
            chatbot.subscribe(f"{prefix}/#", lambda t, p: chat_seen.append(t))

            # The chatbot may write a request; the display sees everything the node publishes.
            col = display.collector(frames=False)
            chatbot.say("Secure hello.", id="sec1")
            assert col.wait_end("sec1", 30).end["type"] == "finished"
            assert col.get("sec1").audio, "display got no audio"
            # The display may not write: its request never reaches the node.
            display.say("Display trying to talk.", id="sec2")
            display.publish(f"{prefix}/default/control", json.dumps({"action": "clear"}))
            time.sleep(1.0)
            assert "sec2" not in {e["id"] for e in col.all_events}
            assert not any(t.endswith("/say") for t, _ in seen), "display could read requests"
            # The chatbot may not read: nothing was delivered to it.
            assert chat_seen == [], chat_seen[:3]
        # Anonymous clients and wrong passwords are refused (mosquitto: 0x87 not authorized).
        assert _connack(secure.port, None, None) == 0x87
        assert _connack(secure.port, "display", "wrong") == 0x87
        assert _connack(secure.port, "display", USERS["display"]) == 0
    finally:
        node.stop()


def _connack(port: int, user: str | None, password: str | None) -> int:
    """The CONNACK reason code a plain MQTT 5 client gets on ``port``."""
    got: list[int] = []
    c = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
    if user is not None:
        c.username_pw_set(user, password)
    c.on_connect = lambda _c, _u, _f, rc, _p=None: got.append(int(rc.value))
    c.connect("127.0.0.1", port)
    deadline = time.monotonic() + 5
    while not got and time.monotonic() < deadline:
        c.loop(0.1)
    c.disconnect()
    return got[0] if got else -1


def test_wrong_password_keeps_retrying_without_crashing(
    secure: SecureBroker, prefix: str, bundled_voices: Any
) -> None:
    node = _node(secure, prefix, bundled_voices, "not-the-password")
    refusals: list[int] = []
    on_connect = node.transport.client.on_connect

    def counting(client: Any, userdata: Any, flags: Any, rc: Any, props: Any = None) -> None:
        refusals.append(int(getattr(rc, "value", rc)))
        on_connect(client, userdata, flags, rc, props)

    node.transport.client.on_connect = counting
    try:
        deadline = time.monotonic() + 15
        while len(refusals) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(refusals) >= 2 and all(r != 0 for r in refusals), refusals
        assert not node.transport.connected.is_set()
        assert node.transport.protocol == 5, "bad credentials must not trigger the 3.1.1 fallback"
        assert all(r.is_alive() for runner in node.channels.values() for r in runner._threads)
    finally:
        t0 = time.monotonic()
        node.stop()
        assert time.monotonic() - t0 < 5, "stop() hung while the broker refused us"


class _Payload:
    """Unpickling this would create a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (Path.touch, (str(self.marker),))  # type: ignore[return-value]


def test_wav2lip_loader_refuses_a_pickle_with_a_payload(tmp_path: Path) -> None:
    marker = tmp_path / "payload-ran"
    evil = tmp_path / "wav2lip_evil.pth"
    torch.save({"state_dict": {}, "x": _Payload(marker)}, evil)
    with pytest.raises(CheckpointError, match="contains code objects; refused"):
        load_wav2lip(evil)
    assert not marker.exists()


def test_file_paths_as_voice_or_avatar_are_rejected(make_node, client, collector) -> None:
    """Voices and avatars are configured names only; paths (even of real files) are refused."""
    node = make_node()
    collector.wait_for(lambda c: "state" in c.retained, 10)
    voice_file = str(node.voices.get("default").voice.__class__.__module__)
    real = [p for p in Path(torch.__file__).parent.glob("*.py")][:1]
    paths = ["/etc/passwd", "../default", "default/../default", "C:\\voices\\x.onnx",
             "~/.cache/avatar-node", voice_file, *(str(p) for p in real)]  # fmt: skip
    for i, path in enumerate(paths):
        v = collector.wait_end(client.say("x", id=f"v{i}", voice=path), 10).end
        a = collector.wait_end(client.say("x", id=f"a{i}", avatar=path), 10).end
        assert (v["type"], v["code"]) == ("rejected", "unknown_voice"), (path, v)
        assert (a["type"], a["code"]) == ("rejected", "unknown_avatar"), (path, a)


def test_servers_bind_to_localhost_by_default() -> None:
    s = Settings()
    assert s.web.host == "127.0.0.1" and s.metrics.host == "127.0.0.1"
    assert s.mqtt.tls.insecure is False
