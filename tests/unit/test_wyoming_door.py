"""The Wyoming door's protocol with the real wyoming client, in front of a scripted fake pipeline.

The fake speaks each sentence as a tone and reports through the command's sinks, as the real
pipeline does; the integration tests run the same sequences against the real one.
"""

from __future__ import annotations

import asyncio
import re
import threading
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Describe, Info
from wyoming.snd import Played
from wyoming.tts import (
    Synthesize,
    SynthesizeChunk,
    SynthesizeStart,
    SynthesizeStop,
    SynthesizeVoice,
)

from avatar_node.errors import UnknownVoice
from avatar_node.media.wav import encode_wav
from avatar_node.pipeline.items import AudioOut, EventKind, PipelineEvent, PlayCommand, SayCommand
from avatar_node.wyoming import Door, WyomingServer, WyomingSettings
from avatar_node.wyoming.info import voices_of
from tests.conftest import free_port
from tests.run_async import run_async

RATE = 16000


@dataclass
class FakeVoice:
    name: str = "fake"
    sample_rate: int = RATE
    languages: list[str] = field(default_factory=lambda: ["en_US"])
    speakers: dict[str, int] = field(default_factory=lambda: {"amy": 0, "bob": 1})


@dataclass
class Loaded:
    voice: FakeVoice
    settings: Any = None


class Registry:
    names = ["default", "other"]
    voices = {"default": Loaded(FakeVoice()), "other": Loaded(FakeVoice("o", 22050))}
    failures: dict[str, str] = {}


class FakePipeline:
    voices = Registry()

    def __init__(self) -> None:
        self.commands: list[Any] = []
        self.texts: dict[str, str] = {}
        self.stopped: list[str] = []
        self.started = threading.Event()
        self.gate = threading.Event()
        self.gate.set()

    def submit(self, cmd: Any) -> None:
        if (
            cmd.voice not in (None, "default", "other", "broken")
            if isinstance(cmd, SayCommand)
            else False
        ):
            raise UnknownVoice(f"unknown voice {cmd.voice!r}; configured: default, other")
        self.commands.append(cmd)
        if isinstance(cmd, SayCommand) and not cmd.streaming:
            threading.Thread(target=self._speak, args=(cmd, cmd.text), daemon=True).start()
        elif isinstance(cmd, PlayCommand):
            threading.Thread(target=self._play, args=(cmd,), daemon=True).start()
        else:
            self.texts[cmd.id] = ""

    def push(self, cmd: SayCommand, final: bool) -> None:
        id = cmd.id
        self.texts[id] += cmd.text
        if final:
            cmd = next(c for c in self.commands if c.id == id)
            threading.Thread(target=self._speak, args=(cmd, self.texts[id]), daemon=True).start()

    def stop(self, channel: str, id: str | None) -> bool:
        self.stopped.append(id or "")
        return True

    def _emit(self, cmd: Any, kind: EventKind) -> None:
        for sink in cmd.sinks:
            sink.event(PipelineEvent(cmd.channel, kind, cmd.id))

    def _speak(self, cmd: SayCommand, text: str) -> None:
        rate = 22050 if cmd.voice == "other" else RATE
        self.started.set()
        if cmd.voice == "broken":
            for sink in cmd.sinks:
                sink.event(
                    PipelineEvent(
                        cmd.channel, EventKind.ERROR, cmd.id, "engine_error", "the voice failed"
                    )
                )
            return
        self.gate.wait(30)
        pos = 0.0
        for seq, sentence in enumerate(s for s in re.split(r"(?<=[.!?])\s+", text) if s):
            if cmd.id in self.stopped:
                return self._emit(cmd, EventKind.CANCELLED)
            n = 40 * rate // 1000 * len(sentence)
            audio = (0.2 * np.sin(np.arange(n) * 0.1)).astype(np.float32)
            out = AudioOut(
                cmd.channel,
                cmd.id,
                seq,
                sentence,
                pos,
                n * 1000 / rate,
                rate,
                "pcm_s16le",
                1,
                False,
                None,
            )
            for sink in cmd.sinks:
                sink.audio(out, encode_wav(audio, rate))
            pos += out.duration_ms
        self._emit(cmd, EventKind.FINISHED)

    def _play(self, cmd: PlayCommand) -> None:
        assert cmd.audio is not None
        while cmd.audio.next(threading.Event()) is not None:
            pass
        self._emit(cmd, EventKind.FINISHED)


@pytest.fixture
def door():
    pipe = FakePipeline()
    server = WyomingServer(Door(pipe, WyomingSettings(host="127.0.0.1", port=free_port())))
    server.start()
    yield pipe, server
    server.stop()


async def exchange(port: int, events: list[Event], until: tuple[str, ...]) -> list[Event]:
    got: list[Event] = []
    async with AsyncTcpClient("127.0.0.1", port) as client:
        for e in events:
            await client.write_event(e)
        while True:
            event = await asyncio.wait_for(client.read_event(), 30)
            if event is None:
                break
            got.append(event)
            if event.type in until:
                break
    return got


def blocks(events: list[Event]) -> list[list[Event]]:
    out: list[list[Event]] = []
    for e in events:
        if AudioStart.is_type(e.type):
            out.append([])
        elif AudioChunk.is_type(e.type):
            out[-1].append(e)
    return out


def test_describe_lists_every_voice(door):
    _, server = door
    (info_event,) = run_async(exchange(server.port, [Describe().event()], ("info",)))
    info = Info.from_event(info_event)
    (tts,) = info.tts
    assert tts.supports_synthesize_streaming and tts.installed
    assert [v.name for v in tts.voices] == ["default", "other"]
    assert tts.voices[0].languages == ["en_US"]
    assert [s.name for s in tts.voices[0].speakers or []] == ["amy", "bob"]
    assert info.snd and info.snd[0].snd_format.rate == 22050



def test_info_gives_attribution_and_a_voice_that_failed_to_load_as_not_installed():
    class WithFailure:
        names = ["default", "checkpoint", "broken"]
        voices = {
            "default": Loaded(FakeVoice()),  # bundled: no model path
            "checkpoint": Loaded(FakeVoice("ckpt"), SimpleNamespace(model="G_100.pth")),
        }
        failures = {"broken": "voices.broken.model: file not found: x.onnx"}

    default, checkpoint, broken = voices_of(WithFailure())
    assert default.installed and default.attribution.name == "Piper"
    assert checkpoint.installed and checkpoint.attribution.name == "VITS"
    assert not broken.installed and "file not found" in (broken.description or "")
    assert broken.languages == [] and broken.speakers is None


def test_legacy_synthesize_is_one_block(door):
    _, server = door
    text = "Hello there. How are you today? Fine."
    events = run_async(exchange(server.port, [Synthesize(text=text).event()], ("audio-stop",)))
    types = [e.type for e in events]
    assert types[0] == "audio-start" and types[-1] == "audio-stop"
    assert types.count("audio-start") == 1
    start = AudioStart.from_event(events[0])
    assert (start.rate, start.width, start.channels) == (RATE, 2, 1)
    pcm = b"".join(AudioChunk.from_event(e).audio for e in events if e.type == "audio-chunk")
    assert len(pcm) == 2 * 40 * 16 * (len(text) - 2)  # every sentence, without the gaps


def test_streaming_exactly_as_home_assistant_drives_it(door):
    pipe, server = door
    parts = ["Hello ", "there. How are", " you today? ", "Fine."]
    voice = SynthesizeVoice(name="other")
    seq = [SynthesizeStart(voice=voice).event()]
    seq += [SynthesizeChunk(text=p).event() for p in parts]
    seq += [Synthesize(text="".join(parts), voice=voice).event(), SynthesizeStop().event()]
    events = run_async(exchange(server.port, seq, ("synthesize-stopped",)))
    assert events[-1].type == "synthesize-stopped"
    got = blocks(events)
    assert len(got) == 3  # one block per sentence; the repeated synthesize was ignored
    starts = [AudioStart.from_event(e) for e in events if e.type == "audio-start"]
    assert {(s.rate, s.width, s.channels) for s in starts} == {(22050, 2, 1)}
    assert sum(e.type == "audio-stop" for e in events) == 3
    (cmd,) = pipe.commands
    assert cmd.streaming and cmd.voice == "other" and pipe.texts[cmd.id] == "".join(parts)
    assert cmd.idle_timeout_s == WyomingSettings().idle_timeout_s  # HA's pauses, not the node's


def test_unknown_voice_is_a_wyoming_error(door):
    _, server = door
    syn = Synthesize(text="Hi.", voice=SynthesizeVoice(name="nobody"))
    events = run_async(exchange(server.port, [syn.event()], ("error",)))
    err = Error.from_event(events[-1])
    assert err.code == "unknown_voice" and "nobody" in err.text
    # the server keeps serving
    again = run_async(exchange(server.port, [Synthesize(text="Hi.").event()], ("audio-stop",)))
    assert again[-1].type == "audio-stop"


def test_disconnect_mid_stream_cancels(door):
    pipe, server = door

    async def go() -> None:
        async with AsyncTcpClient("127.0.0.1", server.port) as client:
            await client.write_event(SynthesizeStart().event())
            await client.write_event(SynthesizeChunk(text="Half a sentence").event())
            for _ in range(100):
                if pipe.commands:
                    break
                await asyncio.sleep(0.05)

    run_async(go())
    for _ in range(200):
        if pipe.stopped:
            break
        threading.Event().wait(0.05)
    assert pipe.stopped == [pipe.commands[0].id]


def test_snd_audio_is_shown_then_played(door):
    pipe, server = door
    pcm = (np.zeros(8000, dtype="<i2")).tobytes()
    seq = [AudioStart(rate=RATE, width=2, channels=1).event()]
    seq += [
        AudioChunk(rate=RATE, width=2, channels=1, audio=pcm[i : i + 2048]).event()
        for i in range(0, len(pcm), 2048)
    ]
    seq.append(AudioStop().event())
    events = run_async(exchange(server.port, seq, ("played", "error")))
    assert [e.type for e in events] == [Played().event().type]
    (cmd,) = pipe.commands
    assert isinstance(cmd, PlayCommand)


def test_an_utterance_that_fails_is_an_error_then_the_connection_closes(door):
    _, server = door
    syn = Synthesize(text="Hi.", voice=SynthesizeVoice(name="broken"))

    async def go() -> list[Event | None]:
        async with AsyncTcpClient("127.0.0.1", server.port) as client:
            await client.write_event(syn.event())
            first = await asyncio.wait_for(client.read_event(), 30)
            return [first, await asyncio.wait_for(client.read_event(), 30)]

    err, after = run_async(go())
    assert err is not None and Error.from_event(err).code == "engine_error"
    assert after is None  # closed: Home Assistant stops waiting for audio
