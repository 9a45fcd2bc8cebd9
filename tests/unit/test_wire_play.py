"""play / play/stream wire models and the door in front of them (a recording fake pipeline)."""

from __future__ import annotations

import base64
import json
import threading
from typing import Any

import numpy as np
import pytest

from avatar_node.errors import AvatarError, BadAudio, BadRequest, PayloadTooLarge, UnsupportedAudio
from avatar_node.media.pcm import PcmFormat, float_to_s16, parse_wav, wrap_pcm
from avatar_node.pipeline.items import Mode, PlayCommand
from avatar_node.settings import NodeSettings
from avatar_node.transport.play_door import PlayStreams, handle_play
from avatar_node.wire.play import (
    AudioStreamChunk,
    AudioStreamStart,
    AudioStreamStop,
    parse_play,
    parse_stream_part,
)

WAV = wrap_pcm(float_to_s16(np.zeros(1600, dtype=np.float32)), PcmFormat(16000, 2, 1))


def js(**obj: Any) -> bytes:
    return json.dumps(obj).encode()


def test_raw_riff_and_json_play():
    raw = parse_play(WAV, 1 << 20)
    assert raw.wav == WAV and raw.request.mode == "queue" and len(raw.request.id) == 32
    msg = parse_play(
        js(
            wav=base64.b64encode(WAV).decode(),
            id="p-1",
            text="hi",
            mode="replace",
            priority=8,
            meta={"k": 1},
            avatar="a",
            future_key=True,
        ),
        1 << 20,
    )
    assert msg.wav == WAV
    r = msg.request
    assert (r.id, r.text, r.mode, r.priority, r.meta, r.avatar) == (
        "p-1",
        "hi",
        "replace",
        8,
        {"k": 1},
        "a",
    )


@pytest.mark.parametrize(
    ("payload", "error", "words"),
    [
        (b"hello there", BadRequest, "WAV file .RIFF bytes. or a JSON object"),
        (b"\xff\xfe\x00garbage", BadRequest, "not valid UTF-8"),
        (js(wav="!!notbase64!!"), BadRequest, "wav: not valid base64"),
        (js(id="x"), BadRequest, "wav: Field required"),
        (js(wav="", priority="5"), BadRequest, "priority: Input should be a valid integer"),
        (js(wav="", priority=5.0), BadRequest, "priority"),
        (js(wav="", mode="shout"), BadRequest, "mode"),
        (js(wav="", id="bad id!"), BadRequest, "id: String should match"),
        (js(wav="", meta={"x": "y" * 5000}), BadRequest, "meta is larger"),
        (js(wav="", text=5), BadRequest, "text: Input should be a valid string"),
    ],
)
def test_play_errors(payload, error, words):
    with pytest.raises(error, match=words):
        parse_play(payload, 1 << 20)


def test_play_size_limit_names_its_setting():
    with pytest.raises(PayloadTooLarge, match="max_play_bytes 100") as info:
        parse_play(WAV, 100)
    assert info.value.code == "payload_too_large"


def test_stream_parts():
    obj = js(type="start", id="s", rate=44100, width=4, channels=2, sample_format="f32le")
    start = parse_stream_part(obj, 4096)
    assert isinstance(start, AudioStreamStart) and start.resolved_format() == "f32le"
    assert (
        parse_stream_part(
            js(type="start", id="s", rate=16000, width=3, channels=1), 4096
        ).resolved_format()
        == "pcm_s24le"
    )  # type: ignore[union-attr]
    chunk = parse_stream_part(js(type="chunk", id="s", pcm="AAA="), 4096)
    assert isinstance(chunk, AudioStreamChunk)
    assert isinstance(parse_stream_part(js(type="stop", id="s"), 4096), AudioStreamStop)


@pytest.mark.parametrize(
    ("obj", "words"),
    [
        ({"type": "start", "id": "s", "rate": "16000", "width": 2, "channels": 1}, "rate"),
        ({"type": "start", "id": "s", "rate": 96000, "width": 2, "channels": 1}, "rate"),
        ({"type": "start", "id": "s", "rate": 16000, "width": 1, "channels": 1}, "width"),
        ({"type": "start", "id": "s", "rate": 16000, "width": 2, "channels": 6}, "channels"),
        ({"type": "start", "rate": 16000, "width": 2, "channels": 1}, "id: Field required"),
        ({"type": "chunk", "id": "s"}, "pcm: Field required"),
        ({"type": "pause", "id": "s"}, "does not match any of the expected tags"),
        ({"id": "s"}, "type"),
    ],
)
def test_stream_part_errors(obj, words):
    with pytest.raises(BadRequest, match=words):
        parse_stream_part(json.dumps(obj).encode(), 4096)


def test_stream_format_and_width_must_agree():
    part = parse_stream_part(
        js(type="start", id="s", rate=16000, width=2, channels=1, sample_format="f32le"), 4096
    )
    with pytest.raises(BadRequest, match="needs width 4, got 2"):
        part.resolved_format()  # type: ignore[union-attr]


class FakePipeline:
    def __init__(self, fail: AvatarError | None = None):
        self.commands: list[PlayCommand] = []
        self.rejections: list[tuple[str, str | None, AvatarError]] = []
        self.fail = fail

    def submit(self, cmd: PlayCommand) -> None:
        if self.fail is not None:
            raise self.fail
        self.commands.append(cmd)

    def reject(self, channel: str, id: str | None, exc: AvatarError) -> None:
        self.rejections.append((channel, id, exc))


def test_door_play_submits_one_command():
    pipe = FakePipeline()
    handle_play(
        pipe,
        "hall",
        js(wav=base64.b64encode(WAV).decode(), id="w1", mode="interrupt"),
        NodeSettings(),
    )
    (cmd,) = pipe.commands
    assert (cmd.channel, cmd.id, cmd.mode) == ("hall", "w1", Mode.INTERRUPT)
    assert cmd.audio is not None
    piece = cmd.audio.next(threading.Event())
    assert piece is not None and piece.wav == WAV


@pytest.mark.parametrize(
    ("payload", "error", "rid"),
    [
        (b"RIFF\x00\x00\x00\x00WAVEjunk", BadAudio, None),
        (js(wav=base64.b64encode(WAV[:60]).decode(), id="t1"), BadAudio, "t1"),
        (js(wav=base64.b64encode(b"ID3 mp3").decode(), id="t2"), BadAudio, "t2"),
        (js(wav="", id="t3", priority="high"), BadRequest, "t3"),
    ],
)
def test_door_play_rejections_carry_the_id(payload, error, rid):
    pipe = FakePipeline()
    handle_play(pipe, "default", payload, NodeSettings())
    ((channel, got_id, exc),) = pipe.rejections
    assert channel == "default" and got_id == rid and isinstance(exc, error)
    assert exc.code == "bad_request" and not pipe.commands


def test_door_play_unsupported_and_submit_errors():
    pipe = FakePipeline()
    wav96 = wrap_pcm(b"\0\0" * 100, PcmFormat(16000, 2, 1)).replace(
        (16000).to_bytes(4, "little"), (96000).to_bytes(4, "little"), 1
    )
    handle_play(pipe, "default", wav96, NodeSettings())
    assert isinstance(pipe.rejections[0][2], UnsupportedAudio)
    full = FakePipeline(fail=AvatarError("queue is full", code="queue_full"))
    handle_play(full, "default", WAV, NodeSettings())
    assert full.rejections[0][2].code == "queue_full"


def test_door_stream_start_chunks_stop():
    pipe = FakePipeline()
    streams = PlayStreams(pipe, NodeSettings())
    streams.handle("default", js(type="start", id="s1", rate=16000, width=2, channels=1))
    pcm = float_to_s16(np.full(4000, 0.1, dtype=np.float32))
    for i in range(0, len(pcm), 999):  # odd sizes: frames split across chunks
        streams.handle(
            "default", js(type="chunk", id="s1", pcm=base64.b64encode(pcm[i : i + 999]).decode())
        )
    streams.handle("default", js(type="stop", id="s1"))
    (cmd,) = pipe.commands
    assert cmd.audio is not None
    pieces = []
    while (p := cmd.audio.next(threading.Event())) is not None:
        pieces.append(p)
    assert b"".join(parse_wav(p.wav).pcm for p in pieces) == pcm
    assert not pipe.rejections


def test_door_stream_rejections():
    pipe = FakePipeline()
    streams = PlayStreams(pipe, NodeSettings())
    streams.handle("default", js(type="chunk", id="nope", pcm="AAAA"))
    streams.handle("default", js(type="stop", id="nope2"))
    streams.handle(
        "default",
        js(type="start", id="f", rate=16000, width=2, channels=1, sample_format="pcm_s32le"),
    )
    streams.handle("default", b"not json")
    streams.handle("default", js(type="start", id="s", rate=16000, width=2, channels=1))
    streams.handle("default", js(type="chunk", id="s", pcm="@@@"))
    streams.handle("default", js(type="start", id="s", rate=16000, width=2, channels=1))
    got = [(rid, type(exc).__name__, exc.message) for _, rid, exc in pipe.rejections]
    assert got[0][:2] == ("nope", "BadAudio") and "without a start" in got[0][2]
    assert got[1][:2] == ("nope2", "BadAudio")
    assert got[2][:2] == ("f", "BadRequest") and "needs width 4" in got[2][2]
    assert got[3][0] is None
    assert got[4][0] is None and "chunk for id 's' dropped" in got[4][2]
    assert got[5][0] is None and "still open" in got[5][2]
    assert len(pipe.commands) == 1  # the good stream is still open
    streams.close()
    assert pipe.commands[0].audio is not None
    assert pipe.commands[0].audio.next(threading.Event()) is None
