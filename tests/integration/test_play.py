"""Audio in through a real broker: ``play`` and ``play/stream`` lip-synced and re-published."""

from __future__ import annotations

import base64
import io
import json
import uuid

import numpy as np
import pytest
import soundfile as sf

from avatar_node.media.pcm import parse_wav, wrap_pcm
from tests.integration import audio_doors
from tests.integration.audio_doors import check_media

pytestmark = pytest.mark.integration
audio_node, espeak_16k = audio_doors.audio_node, audio_doors.espeak_16k  # the fixtures


def stereo_f32_44k(mono16k: bytes) -> bytes:
    """The espeak recording as a 44.1 kHz stereo float WAV (right channel at half level)."""
    from avatar_node.media.pcm import to_float_mono
    from avatar_node.media.resample import resample

    src = parse_wav(mono16k)
    left = resample(to_float_mono(src.pcm, src.fmt), 16000, 44100)
    buf = io.BytesIO()
    sf.write(buf, np.stack([left, 0.5 * left], axis=1), 44100, subtype="FLOAT", format="WAV")
    return buf.getvalue()


def play_json(client, wav: bytes, **fields) -> str:
    uid = fields.pop("id", None) or uuid.uuid4().hex
    msg = {"wav": base64.b64encode(wav).decode(), "id": uid, **fields}
    client.publish(client.topic("default", "play"), json.dumps(msg))
    return uid


def stream(
    client,
    uid: str,
    wav: bytes,
    chunk_ms: float = 100,
    stop: bool = True,
    sample_format: str | None = None,
    upto: float = 1.0,
) -> None:
    parsed = parse_wav(wav)
    f = parsed.fmt
    start = {"type": "start", "id": uid, "rate": f.rate, "width": f.width, "channels": f.channels}
    if sample_format:
        start["sample_format"] = sample_format
    topic = client.topic("default", "play/stream")
    client.publish(topic, json.dumps(start))
    step = int(f.rate * chunk_ms / 1000) * f.frame_bytes + 1  # odd: frames split across chunks
    end = int(len(parsed.pcm) * upto)
    for i in range(0, end, step):
        pcm = parsed.pcm[i : min(i + step, end)]
        client.publish(
            topic, json.dumps({"type": "chunk", "id": uid, "pcm": base64.b64encode(pcm).decode()})
        )
    if stop:
        client.publish(topic, json.dumps({"type": "stop", "id": uid}))


def test_play_espeak_16k_raw_and_json(audio_node, client, collector, espeak_16k):
    audio_node()
    pcm = parse_wav(espeak_16k).pcm
    uid = play_json(client, espeak_16k, text="The garage door is open.", meta={"n": 1})
    utt = collector.wait_end(uid, 120)
    assert utt.end["type"] == "finished"
    assert [e["type"] for e in utt.events if e["type"] != "sentence"][:2] == ["queued", "started"]
    assert all(c["sample_rate"] == 16000 for c in utt.audio)
    assert utt.audio[0]["text"] == "The garage door is open."
    duration = check_media(utt, pcm)
    assert duration == pytest.approx(len(pcm) / 2 / 16, abs=0.1)
    assert all(e.get("meta") == {"n": 1} for e in utt.events)

    client.publish(client.topic("default", "play"), espeak_16k)  # raw RIFF bytes
    collector.wait_for(lambda c: sum(e["type"] == "finished" for e in c.all_events) >= 2, 120)
    raw_id = [e["id"] for e in collector.all_events if e["type"] == "finished"][-1]
    check_media(collector.get(raw_id), pcm)


def test_play_and_stream_44k_stereo_f32(audio_node, client, collector, espeak_16k):
    audio_node()
    wav = stereo_f32_44k(espeak_16k)
    pcm = parse_wav(wav).pcm
    uid = play_json(client, wav)
    utt = collector.wait_end(uid, 120)
    assert utt.end["type"] == "finished"
    spoken = [c for c in utt.audio if c["duration_ms"] > 0]
    assert {(c["sample_rate"], c["channels"], c["sample_format"]) for c in spoken} == {
        (44100, 2, "f32le")
    }
    check_media(utt, pcm)

    sid = "st-" + uuid.uuid4().hex[:8]
    stream(client, sid, wav, sample_format="f32le")
    streamed = collector.wait_end(sid, 120)
    assert streamed.end["type"] == "finished"
    check_media(streamed, pcm)


def test_stream_lip_sync_starts_before_stop(audio_node, client, collector, espeak_16k):
    audio_node()
    sid = "early-" + uuid.uuid4().hex[:8]
    stream(client, sid, espeak_16k, stop=False, upto=0.5)
    collector.wait_for(lambda c: len(c.utterances[sid].frames) > 0, 60)  # no stop sent yet
    assert collector.get(sid).end is None
    parsed = parse_wav(espeak_16k)
    half = int(len(parsed.pcm) * 0.5)
    topic = client.topic("default", "play/stream")
    for i in range(half, len(parsed.pcm), 8000):
        pcm = base64.b64encode(parsed.pcm[i : i + 8000]).decode()
        client.publish(topic, json.dumps({"type": "chunk", "id": sid, "pcm": pcm}))
    client.publish(topic, json.dumps({"type": "stop", "id": sid}))
    utt = collector.wait_end(sid, 120)
    assert utt.end["type"] == "finished", [
        (e["type"], e.get("code"), e.get("message")) for e in utt.events if e["type"] != "sentence"
    ]
    check_media(utt, parsed.pcm)


def long_wav(wav: bytes, times: int = 6) -> bytes:
    parsed = parse_wav(wav)
    return wrap_pcm(parsed.pcm * times, parsed.fmt)


def test_stop_and_replace_interrupt_play(audio_node, client, collector, espeak_16k):
    audio_node()
    wav = long_wav(espeak_16k)
    uid = play_json(client, wav)
    collector.wait_for(lambda c: len(c.utterances[uid].frames) > 5, 60)
    client.control("stop", uid)
    assert collector.wait_end(uid, 60).end["type"] == "cancelled"

    sid = "long-" + uuid.uuid4().hex[:8]
    stream(client, sid, wav, stop=False)
    collector.wait_for(lambda c: len(c.utterances[sid].frames) > 5, 60)
    say = client.say("Replaced.", mode="replace")
    assert collector.wait_end(sid, 60).end["type"] == "cancelled"
    assert collector.wait_end(say, 60).end["type"] == "finished"
    # and the other way round: a play replaced by a say, a stream stopped
    uid2 = play_json(client, wav)
    collector.wait_for(lambda c: len(c.utterances[uid2].frames) > 5, 60)
    say2 = client.say("Replaced again.", mode="replace")
    assert collector.wait_end(uid2, 60).end["type"] == "cancelled"
    assert collector.wait_end(say2, 60).end["type"] == "finished"
    sid2 = "long2-" + uuid.uuid4().hex[:8]
    stream(client, sid2, wav, stop=False)
    collector.wait_for(lambda c: len(c.utterances[sid2].frames) > 5, 60)
    client.control("stop", sid2)
    assert collector.wait_end(sid2, 60).end["type"] == "cancelled"
    # chunks that still come for the cancelled stream are dropped without a word
    stream(client, sid, wav, upto=0.05)
    ok = play_json(client, espeak_16k)
    assert collector.wait_end(ok, 120).end["type"] == "finished"
    assert [e["type"] for e in collector.get(sid).events].count("rejected") == 0


def rejected(collector, predicate, timeout: float = 30) -> dict:
    found: list[dict] = []

    def match(c) -> bool:
        found[:] = [e for e in c.all_events if e["type"] == "rejected" and predicate(e)]
        return bool(found)

    collector.wait_for(match, timeout)
    return found[0]


def test_every_bad_input_gets_its_code(audio_node, client, collector, espeak_16k):
    audio_node(node={"max_play_bytes": 200_000, "stream_idle_timeout_s": 1.5})
    topic_play = client.topic("default", "play")
    topic_stream = client.topic("default", "play/stream")
    b64 = base64.b64encode

    client.publish(topic_play, b"\x00\x01 not a wav")
    e = rejected(collector, lambda e: "WAV file (RIFF bytes)" in e["message"])
    assert e["code"] == "bad_request" and e["id"] is None

    client.publish(topic_play, json.dumps({"id": "notriff", "wav": b64(b"ID3 mp3").decode()}))
    e = rejected(collector, lambda e: e["id"] == "notriff")
    assert e["code"] == "bad_request" and "not a RIFF/WAVE" in e["message"]

    play_json(client, espeak_16k[: len(espeak_16k) // 3], id="cut")
    e = rejected(collector, lambda e: e["id"] == "cut")
    assert e["code"] == "bad_request" and "truncated" in e["message"]

    fast = bytearray(espeak_16k[:4000])
    fast[24:28] = (96000).to_bytes(4, "little")
    play_json(client, bytes(fast), id="fast")
    e = rejected(collector, lambda e: e["id"] == "fast")
    assert e["code"] == "bad_request" and "96000 Hz is not supported" in e["message"]

    play_json(client, long_wav(espeak_16k, 3), id="big")
    e = rejected(collector, lambda e: e["id"] == "big")
    assert e["code"] == "payload_too_large" and "max_play_bytes 200000" in e["message"]

    client.publish(topic_stream, json.dumps({"type": "chunk", "id": "orphan", "pcm": "AAAA"}))
    e = rejected(collector, lambda e: e["id"] == "orphan")
    assert e["code"] == "bad_request" and "without a start" in e["message"]

    client.publish(
        topic_stream,
        json.dumps({"type": "start", "id": "w1", "rate": 16000, "width": 1, "channels": 1}),
    )
    e = rejected(collector, lambda e: e["id"] == "w1")
    assert e["code"] == "bad_request" and "width" in e["message"]

    # a stream that stalls ends by itself (finished: it was accepted), and the node serves on
    stream(client, "stall", espeak_16k, stop=False, upto=0.3)
    stalled = collector.wait_end("stall", 60)  # no stop was sent: only the stall ends it
    assert stalled.end["type"] == "finished"
    check_media(stalled)
    assert collector.wait_end(play_json(client, espeak_16k), 120).end["type"] == "finished"


@pytest.mark.parametrize("how", [[], ["--stream"], ["--raw"]])
def test_example_play_wav(audio_node, broker, prefix, espeak_16k, tmp_path, how):
    import subprocess
    import sys

    from tests.conftest import REPO

    audio_node()
    wav = tmp_path / "reply.wav"
    wav.write_bytes(espeak_16k)
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "examples" / "play_wav.py"),
            str(wav),
            "--text",
            "Hi.",
            "--port",
            str(broker.port),
            "--prefix",
            prefix,
            *how,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["type"] == "finished"
