"""Fixtures of the audio doors: a real node (``avatar_node.app``) with ``play`` / ``play/stream``
installed and, when asked, the Wyoming server on the same pipeline; checks shared by their tests."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from avatar_node.app import Node
from avatar_node.media.pcm import parse_wav
from avatar_node.wyoming import WyomingServer, WyomingSettings
from tests.conftest import free_port
from tests.integration.conftest import node_settings, wait_subscribed
from tests.integration.espeak_wav import espeak_wav_16k

FPS = 25.0
ESPEAK_TEXT = "The garage door is open. Please close it before you leave the house."


class AudioNode:
    def __init__(self, node: Node, wyoming: WyomingServer | None):
        self.node = node
        self.wyoming = wyoming

    @property
    def wyoming_port(self) -> int:
        assert self.wyoming is not None and self.wyoming.port is not None
        return self.wyoming.port


@pytest.fixture
def audio_node(
    broker, prefix, bundled_voices, client, tmp_path
) -> Iterator[Callable[..., AudioNode]]:
    made: list[AudioNode] = []

    def make(wyoming: dict[str, Any] | None = None, **sections: Any) -> AudioNode:
        sections.setdefault("lipsync", {"engine": "energy", "cache_dir": str(tmp_path / "faces")})
        node_section = {"phrase_cache_mb": 0, **sections.pop("node", {})}
        settings = node_settings(broker, prefix, node=node_section, **sections)
        if wyoming is not None:
            settings.wyoming = WyomingSettings(
                enabled=True, host="127.0.0.1", port=free_port(), **wyoming
            )
        node = Node(settings, load_avatars=True, voices=bundled_voices)
        node.start(connect_timeout=10)
        server = node.wyoming
        made.append(AudioNode(node, server))
        wait_subscribed(client, prefix)
        return made[-1]

    yield make
    for n in made:
        n.node.stop()  # stops its Wyoming server too


@pytest.fixture(scope="session")
def espeak_16k(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real espeak-ng recording, 16 kHz 16-bit mono."""
    return espeak_wav_16k(
        tmp_path_factory.mktemp("espeak") / "espeak16k.wav", ESPEAK_TEXT
    ).read_bytes()


def check_media(utt: Any, wav_pcm: bytes | None = None, fps: float = FPS) -> float:
    """The utterance's audio is the input re-published unchanged and its frames cover it
    (±1 frame per audio chunk, pts on the audio clock). Returns the audio's duration in ms."""
    chunks = sorted(utt.audio, key=lambda c: c["seq"])
    assert [c["seq"] for c in chunks] == list(range(len(chunks)))
    position = 0.0
    pcm = b""
    for c in chunks:
        assert abs(c["start_ms"] - position) < 0.01, "chunks are not contiguous"
        position += c["duration_ms"]
        if c["duration_ms"] > 0:
            pcm += parse_wav(base64.b64decode(c["wav"])).pcm
    if wav_pcm is not None:
        assert pcm == wav_pcm, "the audio was not re-published unchanged"
    frames = sorted(utt.frames, key=lambda f: f["seq"])
    assert [f["seq"] for f in frames] == list(range(len(frames)))
    for f in frames:
        assert abs(f["pts_ms"] - f["seq"] * 1000.0 / fps) < 0.01
    spoken = [c for c in chunks if c["duration_ms"] > 0]
    assert abs(len(frames) - position * fps / 1000.0) <= len(spoken), (len(frames), position)
    assert frames and frames[-1]["pts_ms"] <= position
    return position
