"""The Wyoming door with the real ``wyoming`` client replaying Home Assistant's event sequences,
a real node and broker behind it (what the client hears is lip-synced on MQTT), a real
wyoming-piper upstream, and the ``snd`` service."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Describe, Info
from wyoming.tts import (
    Synthesize,
    SynthesizeChunk,
    SynthesizeStart,
    SynthesizeStop,
    SynthesizeVoice,
)

from avatar_node.media.pcm import parse_wav
from tests.integration import audio_doors, wyoming_piper
from tests.integration.audio_doors import check_media
from tests.run_async import run_async

pytestmark = pytest.mark.integration
audio_node, espeak_16k = audio_doors.audio_node, audio_doors.espeak_16k  # the fixtures
wyoming_piper_server = wyoming_piper.wyoming_piper

TEXT = "The garage door is open. The kitchen light is on. Good night."
PARTS = ["The garage door ", "is open. The kitchen", " light is on. Good", " night."]


async def read_until(client: AsyncTcpClient, *types: str, timeout: float = 120) -> list[Event]:
    got: list[Event] = []
    while True:
        event = await asyncio.wait_for(client.read_event(), timeout)
        assert event is not None, f"connection closed after {[e.type for e in got]}"
        got.append(event)
        if event.type in types:
            return got


def ha_legacy(port: int, text: str, voice: SynthesizeVoice | None = None) -> list[Event]:
    """Home Assistant's ``async_get_tts_audio``: synthesize, then read up to audio-stop."""

    async def go() -> list[Event]:
        async with AsyncTcpClient("127.0.0.1", port) as client:
            await client.write_event(Synthesize(text=text, voice=voice).event())
            return await read_until(client, "audio-stop", "error")

    return run_async(go())


async def ha_stream_writes(client: AsyncTcpClient, parts: list[str], voice, between=None) -> None:  # type: ignore[no-untyped-def]
    """Home Assistant's ``_write_tts_message``: start, chunks, the whole text again, stop."""
    await client.write_event(SynthesizeStart(voice=voice).event())
    for i, part in enumerate(parts):
        await client.write_event(SynthesizeChunk(text=part).event())
        if between is not None and i == 1:  # a whole sentence is out
            await between()
    await client.write_event(Synthesize(text="".join(parts), voice=voice).event())
    await client.write_event(SynthesizeStop().event())


async def ha_stream(port: int, between: Callable[[], Awaitable[None]]) -> list[Event]:
    """HA's streamed request for PARTS in the default voice (``between`` runs once a whole
    sentence is out), read up to ``synthesize-stopped`` or ``error``."""
    async with AsyncTcpClient("127.0.0.1", port) as client:
        writer = asyncio.create_task(
            ha_stream_writes(client, PARTS, SynthesizeVoice(name="default"), between)
        )
        events = await read_until(client, "synthesize-stopped", "error")
        await writer
        return events


def pcm_of(events: list[Event]) -> bytes:
    return b"".join(AudioChunk.from_event(e).audio for e in events if AudioChunk.is_type(e.type))


def blocks(events: list[Event]) -> list[tuple[AudioStart, bytes]]:
    out: list[tuple[AudioStart, bytes]] = []
    for e in events:
        if AudioStart.is_type(e.type):
            out.append((AudioStart.from_event(e), b""))
        elif AudioChunk.is_type(e.type):
            start, pcm = out[-1]
            out[-1] = (start, pcm + AudioChunk.from_event(e).audio)
    return out


def wyoming_utterance(collector: Any, n: int = 1, timeout: float = 120) -> Any:
    """The n-th utterance the Wyoming door queued on the channel, once it ended."""

    def ids(c: Any) -> list[str]:
        queued = [e for e in c.all_events if e["type"] == "queued"]
        return [e["id"] for e in queued if (e.get("meta") or {}).get("door") == "wyoming"]

    collector.wait_for(lambda c: len(ids(c)) >= n, timeout)
    return collector.wait_end(ids(collector)[n - 1], timeout)


def mqtt_pcm(utt: Any) -> bytes:
    chunks = sorted(utt.audio, key=lambda c: c["seq"])
    return b"".join(
        parse_wav(base64.b64decode(c["wav"])).pcm for c in chunks if c["duration_ms"] > 0
    )


def test_describe_lists_every_voice(audio_node):
    node = audio_node(wyoming={})

    async def go() -> Info:
        async with AsyncTcpClient("127.0.0.1", node.wyoming_port) as client:
            await client.write_event(Describe().event())
            return Info.from_event((await read_until(client, "info"))[-1])

    info = run_async(go())
    (tts,) = info.tts
    assert tts.supports_synthesize_streaming and tts.installed
    assert [v.name for v in tts.voices] == ["default"]
    assert tts.voices[0].installed and tts.voices[0].languages == ["en_US"]
    assert info.snd and info.snd[0].installed


def test_legacy_synthesize_as_home_assistant_sends_it(audio_node, collector):
    node = audio_node(wyoming={})
    events = ha_legacy(node.wyoming_port, TEXT, SynthesizeVoice(name="default"))
    (block,) = blocks(events)  # one block
    start, pcm = block
    assert (start.rate, start.width, start.channels) == (22050, 2, 1)
    assert events[-1].type == "audio-stop"
    utt = wyoming_utterance(collector)
    assert utt.end["type"] == "finished"
    assert pcm == mqtt_pcm(utt)  # what HA hears is what the kiosk shows
    duration = check_media(utt)
    assert len(pcm) / 2 / 22.05 == pytest.approx(duration, abs=1)


def test_streaming_as_home_assistant_drives_it(audio_node, collector):
    node = audio_node(wyoming={})
    seen_frame_while_streaming: list[bool] = []

    async def wait_first_frame() -> None:
        # HA's LLM is slow: the rest of the text comes once the face already moves
        for _ in range(1200):
            ids = [u for u in collector.utterances.values() if u.frames]
            if ids:
                seen_frame_while_streaming.append(True)
                return
            await asyncio.sleep(0.05)

    events = run_async(ha_stream(node.wyoming_port, wait_first_frame))
    assert events[-1].type == "synthesize-stopped"
    got = blocks(events)
    assert len(got) == 3  # one block per sentence, the repeated whole text ignored
    assert {(s.rate, s.width, s.channels) for s, _ in got} == {(22050, 2, 1)}
    assert [e.type for e in events].count("audio-stop") == 3
    assert seen_frame_while_streaming == [True]
    utt = wyoming_utterance(collector)
    sentences = [e["detail"]["text"] for e in utt.events if e["type"] == "sentence"]
    assert len([s for s in sentences if s]) == 3 and "".join(sentences).count("garage") == 1
    assert b"".join(p for _, p in got) == mqtt_pcm(utt)
    check_media(utt)
    queued = [e for e in collector.all_events if e["type"] == "queued"]
    assert len(queued) == 1  # the ignored synthesize made no second utterance


def test_a_pause_in_home_assistants_text_does_not_end_the_answer(audio_node, collector):
    """HA's LLM may stop for a tool call mid-reply: the Wyoming stream waits for
    ``wyoming.idle_timeout_s``, not the node's shorter ``stream_idle_timeout_s``."""
    node = audio_node(wyoming={"idle_timeout_s": 60}, node={"stream_idle_timeout_s": 0.5})

    async def pause() -> None:
        await asyncio.sleep(2.0)  # four of the node's own idle timeouts

    events = run_async(ha_stream(node.wyoming_port, pause))
    assert [e.type for e in events if e.type in ("error", "synthesize-stopped")] == [
        "synthesize-stopped"
    ]
    assert len(blocks(events)) == 3  # the sentences after the pause are in the same answer
    utt = wyoming_utterance(collector)
    spoken = "".join(e["detail"]["text"] for e in utt.events if e["type"] == "sentence")
    assert "night" in spoken and utt.end is not None and utt.end["type"] == "finished"


def test_unknown_voice_is_an_error_and_the_node_serves_on(audio_node, collector):
    node = audio_node(wyoming={})
    events = ha_legacy(node.wyoming_port, "Hello.", SynthesizeVoice(name="nobody"))
    err = Error.from_event(events[-1])
    assert err.code == "unknown_voice" and "nobody" in err.text
    again = ha_legacy(node.wyoming_port, "Hello there.")
    assert again[-1].type == "audio-stop" and pcm_of(again)


def test_disconnect_mid_stream_cancels_the_utterance(audio_node, collector):
    node = audio_node(wyoming={})

    async def go() -> None:
        async with AsyncTcpClient("127.0.0.1", node.wyoming_port) as client:
            await client.write_event(SynthesizeStart().event())
            await client.write_event(SynthesizeChunk(text=TEXT * 4).event())
            await read_until(client, "audio-start")  # speaking; then HA goes away

    run_async(go())
    utt = wyoming_utterance(collector)
    assert utt.end["type"] == "cancelled"
    again = ha_legacy(node.wyoming_port, "Still here.")
    assert again[-1].type == "audio-stop"
    assert wyoming_utterance(collector, 2).end["type"] == "finished"


def test_snd_audio_is_lip_synced_then_played(audio_node, collector, espeak_16k):
    node = audio_node(wyoming={})
    parsed = parse_wav(espeak_16k)

    async def go() -> list[Event]:
        async with AsyncTcpClient("127.0.0.1", node.wyoming_port) as client:
            fmt = {"rate": 16000, "width": 2, "channels": 1}
            await client.write_event(AudioStart(**fmt).event())
            for i in range(0, len(parsed.pcm), 2048):
                chunk = AudioChunk(audio=parsed.pcm[i : i + 2048], **fmt)
                await client.write_event(chunk.event())
            await client.write_event(AudioStop().event())
            return await read_until(client, "played", "error")

    events = run_async(go())
    assert [e.type for e in events] == ["played"]
    ids = [
        e["id"] for e in collector.all_events if (e.get("meta") or {}).get("door") == "wyoming-snd"
    ]
    utt = collector.wait_end(ids[0], 60)
    assert utt.end["type"] == "finished"
    check_media(utt, parsed.pcm)


def test_upstream_wyoming_piper_byte_for_byte(audio_node, collector, wyoming_piper_server):
    node = audio_node(wyoming={"upstream_tts": wyoming_piper_server.uri})
    direct = ha_legacy(wyoming_piper_server.port, TEXT)
    proxied = ha_legacy(node.wyoming_port, TEXT)
    assert [e.type for e in proxied] == [e.type for e in direct]
    assert pcm_of(proxied) == pcm_of(direct) and pcm_of(direct)
    utt = collector.wait_end(
        next(e["id"] for e in collector.all_events if (e.get("meta") or {}).get("upstream")), 120
    )
    assert utt.end["type"] == "finished"
    assert mqtt_pcm(utt) == pcm_of(direct)  # the face moves to exactly what HA heard
    check_media(utt)

    async def stream(port: int) -> list[Event]:
        async with AsyncTcpClient("127.0.0.1", port) as client:
            await ha_stream_writes(client, PARTS, None)
            return await read_until(client, "synthesize-stopped", "error")

    direct_s = run_async(stream(wyoming_piper_server.port))
    proxied_s = run_async(stream(node.wyoming_port))
    assert [e.type for e in proxied_s] == [e.type for e in direct_s]
    assert pcm_of(proxied_s) == pcm_of(direct_s)
