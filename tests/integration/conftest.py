"""Integration helpers: a real node on the private broker, sharing one loaded voice registry."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from avatar_node.app import Node
from avatar_node.client import AvatarClient, Collector
from avatar_node.models import VoiceRegistry
from avatar_node.settings import Settings, VoiceSettings
from tests.conftest import Broker, fixture_path


@pytest.fixture(scope="session")
def bundled_voices() -> VoiceRegistry:
    """The bundled en_US-joe-medium voice, loaded once per session."""
    reg = VoiceRegistry({"default": VoiceSettings()})
    reg.load_all()
    assert not reg.failures, reg.failures
    return reg


def node_settings(broker: Any, prefix: str, **sections: Any) -> Settings:
    mqtt = {"host": broker.host, "port": broker.port, "topic_prefix": prefix,
            "client_id": f"node-{prefix}", "reconnect_min_s": 0.5, "reconnect_max_s": 2,
            **sections.pop("mqtt", {})}  # fmt: skip
    return Settings(mqtt=mqtt, web={"enabled": False}, **sections)


@pytest.fixture(scope="module")
def private_broker() -> Iterator[Broker]:
    """A broker of the module's own (load and fuzz tests must not share the session's)."""
    with tempfile.TemporaryDirectory(prefix="avatar-module-broker-") as tmp:
        b = Broker(Path(tmp))
        yield b
        b.stop()


@pytest.fixture
def make_node(broker, prefix, bundled_voices) -> Iterator[Callable[..., Node]]:
    nodes: list[Node] = []

    def make(load_avatars: bool = False, voices: VoiceRegistry | None = None, **sections) -> Node:
        settings = node_settings(broker, prefix, **sections)
        node = Node(settings, load_avatars=load_avatars, voices=voices or bundled_voices)
        node.start(connect_timeout=10)
        assert node.transport.connected.is_set(), "node did not connect to the test broker"
        nodes.append(node)
        return node

    yield make
    for n in nodes:
        n.stop()


@pytest.fixture
def client(broker, prefix) -> Iterator[AvatarClient]:
    c = AvatarClient(broker.host, broker.port, prefix)
    yield c
    c.close()


@pytest.fixture
def collector(client) -> Collector:
    return client.collector("default", frames=True)


def wait_subscribed(client: Any, prefix: str, channel: str = "default") -> None:
    """Wait for the node's retained ``state``: it is published after the node's SUBSCRIBE on the
    same connection, so once it is here, messages published to the node are no longer lost."""
    got = threading.Event()
    client.subscribe(f"{prefix}/{channel}/state", lambda _t, _p: got.set())
    assert got.wait(10), "the node published no state"


@pytest.fixture
def start_node(make_node, client, prefix):
    def start(**kwargs: Any) -> Any:
        node = make_node(**kwargs)
        wait_subscribed(client, prefix)
        return node

    return start


def build_reference_checkpoint(factory: pytest.TempPathFactory, model: str, filename: str) -> Path:
    """Rebuild a reference checkpoint (``vits`` or ``wav2lip``) in its real format from the shared
    fixtures' pack with their ``build_checkpoints.py``; once per session."""
    out = factory.getbasetemp() / f"reference-{model}"
    path = out / model / filename
    if not path.is_file():
        ref = fixture_path("reference")
        pack = out / "pack"
        pack.mkdir(parents=True, exist_ok=True)
        if not (pack / model).exists():
            (pack / model).symlink_to(ref / model, target_is_directory=True)
        subprocess.run(
            [sys.executable, str(ref / "build_checkpoints.py"), str(out), str(pack)],
            check=True, capture_output=True, timeout=300,
        )  # fmt: skip
    assert path.is_file()
    return path


@pytest.fixture(scope="session")
def vits_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference VITS-fast-fine-tuning ``G_latest.pth``."""
    return build_reference_checkpoint(tmp_path_factory, "vits", "G_latest.pth")


@pytest.fixture(scope="session")
def vits_config() -> Path:
    return fixture_path("reference", "vits", "finetune_speaker.json")


@pytest.fixture(scope="session")
def wav2lip_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference ``wav2lip.pth`` (legacy torch format, ``module.`` keys)."""
    return build_reference_checkpoint(tmp_path_factory, "wav2lip", "wav2lip.pth")
