"""The talking node end to end: real mosquitto, real bundled VITS voice, MQTT in, WAV out."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from avatar_node.client import AvatarClient
from avatar_node.media.wav import decode_wav_base64
from avatar_node.models import LoadedVoice, VoiceRegistry
from avatar_node.settings import VoiceSettings


def types(utt):
    return [e["type"] for e in utt.events]


def test_plain_text_say_gives_events_and_playable_audio(make_node, client, collector, prefix):
    make_node()
    client.publish(f"{prefix}/default/say", "Hello world. This is a test of the avatar node.")
    collector.wait_for(lambda c: any(e["type"] == "finished" for e in c.all_events), 60)
    utt_id = collector.all_events[0]["id"]
    utt = collector.wait_end(utt_id)
    assert types(utt) == ["queued", "started", "sentence", "sentence", "finished"]
    chunks = sorted(utt.audio, key=lambda c: c["seq"])
    # The first sentence goes out in decoder windows (its first carries the text), the second
    # whole; only the last chunk is final.
    assert [c["seq"] for c in chunks] == list(range(len(chunks)))
    assert len(chunks) >= 3
    assert [c["final"] for c in chunks] == [False] * (len(chunks) - 1) + [True]
    texts = [c["text"] for c in chunks]
    assert texts == ["Hello world."] + [""] * (len(chunks) - 2) + [texts[-1]]
    assert texts[-1] == "This is a test of the avatar node."
    position = 0.0
    for c in chunks:
        samples, rate = decode_wav_base64(c["wav"])
        assert rate == c["sample_rate"] == 22050 and c["channels"] == 1
        assert c["sample_format"] == "pcm_s16le"
        assert float(np.sqrt(np.mean(samples**2))) > 0.01, "audio is silent"
        assert c["duration_ms"] == pytest.approx(samples.size * 1000 / rate, abs=0.01)
        assert c["start_ms"] == pytest.approx(position, abs=0.01)
        position += c["duration_ms"]
    sentence_texts = [e["detail"]["text"] for e in utt.events if e["type"] == "sentence"]
    assert sentence_texts == ["Hello world.", "This is a test of the avatar node."]
    collector.wait_for(lambda c: c.retained.get("state", {}).get("state") == "idle", 10)
    assert collector.retained["state"]["metrics"]["first_audio_ms"] > 0


def test_json_say_with_every_option(make_node, client, collector, bundled_voices):
    # Durations without noise (noise_scale_w 0), so the speed ratio is not a draw of two
    # random durations (with noise a single sentence's length varies by +-25 %).
    loaded = bundled_voices.get("default")
    cfg = VoiceSettings(noise_scale_w=0.0)
    voices = VoiceRegistry({"default": cfg})
    voices.voices["default"] = LoadedVoice("default", loaded.voice, cfg, loaded.lock)
    make_node(voices=voices)
    base = collector.wait_end(client.say("Testing the speed option.", id="slow1"))
    utt_id = client.say("Testing the speed option.", id="fast:1", voice="default", speaker=0,
                        language="en", speed=2.0, avatar="default", mode="queue", priority=7,
                        meta={"origin": "test", "n": 1})  # fmt: skip
    utt = collector.wait_end(utt_id)
    assert utt.end["type"] == "finished"
    assert all(e["meta"] == {"origin": "test", "n": 1} for e in utt.events)
    slow = sum(c["duration_ms"] for c in base.audio)
    fast = sum(c["duration_ms"] for c in utt.audio)
    assert 0.5 < fast / slow < 0.62, (fast, slow)  # 0.58: ceil() of each halved duration


def test_status_is_retained_online_then_offline(make_node, broker, prefix):
    node = make_node()
    seen: list[bytes] = []
    with AvatarClient(broker.host, broker.port, prefix) as c:
        c.subscribe(f"{prefix}/default/status", lambda t, p: seen.append(p))
        deadline = time.monotonic() + 5
        while not seen and time.monotonic() < deadline:
            time.sleep(0.02)
        assert seen[:1] == [b"online"]
        node.stop()
        deadline = time.monotonic() + 5
        while seen[-1] != b"offline" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert seen[-1] == b"offline"


def test_priority_interrupt_replace_stop_clear(make_node, client, collector):
    make_node()
    long_text = "This is a rather long sentence that keeps the voice busy for a while. " * 4
    client.say(long_text, id="busy")
    collector.wait_for(lambda c: any(e["type"] == "started" for e in c.all_events))
    client.say("Low priority.", id="low", priority=1)
    client.say("High priority.", id="high", priority=9)
    client.say("Interrupting now.", id="int", mode="interrupt")
    assert collector.wait_end("busy").end["type"] == "cancelled"
    for u in ("int", "high", "low"):
        assert collector.wait_end(u).end["type"] == "finished"
    started = [e["id"] for e in collector.all_events if e["type"] == "started"]
    assert started == ["busy", "int", "high", "low"]

    client.say(long_text, id="busy2")
    collector.wait_for(lambda c: any(e["type"] == "started" and e["id"] == "busy2"
                                     for e in c.all_events))  # fmt: skip
    client.say("Queued A.", id="qa")
    client.say("Queued B.", id="qb")
    client.control("stop", "qa")
    assert collector.wait_end("qa").end["type"] == "cancelled"
    client.control("clear")
    assert collector.wait_end("qb").end["type"] == "cancelled"
    client.control("stop")
    busy2 = collector.wait_end("busy2")
    assert busy2.end["type"] == "cancelled"
    assert not any(c["final"] for c in busy2.audio)

    client.say(long_text, id="busy3")
    collector.wait_for(lambda c: any(e["type"] == "started" and e["id"] == "busy3"
                                     for e in c.all_events))  # fmt: skip
    client.say("Waiting here.", id="wait")
    client.say("Replacing everything.", id="rep", mode="replace")
    assert collector.wait_end("busy3").end["type"] == "cancelled"
    assert collector.wait_end("wait").end["type"] == "cancelled"
    assert collector.wait_end("rep").end["type"] == "finished"
    assert "started" not in types(collector.get("wait"))


def test_streaming_deltas(make_node, client, collector):
    make_node()
    reply = "Sure thing. The weather today is sunny, with a light breeze. Enjoy your day!"
    for i in range(0, len(reply), 7):
        client.stream("st1", reply[i : i + 7])
    client.stream("st1", "", final=True)
    utt = collector.wait_end("st1")
    assert utt.end["type"] == "finished"
    texts = [c["text"] for c in sorted(utt.audio, key=lambda c: c["seq"]) if c["text"]]
    assert texts == ["Sure thing.", "The weather today is sunny, with a light breeze.",
                     "Enjoy your day!"]  # fmt: skip
    assert sorted(utt.audio, key=lambda c: c["seq"])[-1]["final"] is True
    assert types(utt)[:2] == ["queued", "started"] and types(utt).count("queued") == 1


def test_stream_idle_timeout_flushes(make_node, client, collector):
    make_node(node={"stream_idle_timeout_s": 0.5})
    client.stream("idle1", "No final flag comes for this one")
    utt = collector.wait_end("idle1", timeout=30)
    assert utt.end["type"] == "finished"
    assert "".join(c["text"] for c in utt.audio) == "No final flag comes for this one"


BAD = [
    (b'{"text": "x", "speed": 5}', "bad_request", None),
    (b'{"text": "x", "id": "ok-id", "priority": "high"}', "bad_request", "ok-id"),
    (b"   \n ", "bad_request", None),
    (b'{"text": "   "}', "bad_request", None),
    (b"\xc3\x28 invalid utf8", "bad_request", None),
    (b"w" * 201, "text_too_long", None),
    (b"z" * 5000, "payload_too_large", None),
    (b'{"text": "x", "id": "v1", "voice": "nobody"}', "unknown_voice", "v1"),
    (b'{"text": "x", "id": "s1", "speaker": "nobody"}', "unknown_speaker", "s1"),
    (b'{"text": "x", "id": "a1", "avatar": "nobody"}', "unknown_avatar", "a1"),
]


def test_bad_input_is_rejected_and_node_keeps_serving(make_node, client, collector, prefix):
    make_node(node={"max_text_chars": 200, "max_payload_bytes": 4096})
    for payload, code, utt_id in BAD:
        n = len(collector.all_events)
        client.publish(f"{prefix}/default/say", payload)
        collector.wait_for(lambda c, n=n: len(c.all_events) > n, 10)
        ev = collector.all_events[n]
        assert (ev["type"], ev["code"], ev["id"]) == ("rejected", code, utt_id), ev
        assert ev["message"]
    for topic, payload in [("control", b"not json"), ("control", b'{"action": "dance"}'),
                           ("say/stream", b'{"delta": "no id"}'), ("say/stream", b"[]")]:
        n = len(collector.all_events)
        client.publish(f"{prefix}/default/{topic}", payload)
        collector.wait_for(lambda c, n=n: len(c.all_events) > n, 10)
        assert collector.all_events[n]["code"] == "bad_request"
    assert collector.wait_end(client.say("Still here.", id="after")).end["type"] == "finished"


def test_queue_full_over_mqtt(make_node, client, collector):
    make_node(node={"queue_depth": 1})
    client.say("One sentence to keep the voice busy for a moment or two.", id="q0")
    collector.wait_for(lambda c: any(e["type"] == "started" for e in c.all_events))
    client.say("Two.", id="q1")
    client.say("Three.", id="q2")
    assert collector.wait_end("q2").end["code"] == "queue_full"
    assert collector.wait_end("q1").end["type"] == "finished"


def test_mqtt_311_selectable(make_node, client, collector):
    node = make_node(mqtt={"protocol": 311})
    assert node.transport.protocol == 311
    assert collector.wait_end(client.say("Old protocol.", id="v311")).end["type"] == "finished"


def test_broken_voice_files(tmp_path, broker, prefix, bundled_voices):
    from avatar_node.app import Node
    from avatar_node.errors import ConfigError
    from avatar_node.models import VoiceRegistry
    from avatar_node.settings import VoiceSettings
    from tests.integration.conftest import node_settings

    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"this is not an onnx file")
    (tmp_path / "broken.onnx.json").write_text("{}")
    settings = node_settings(broker, prefix, voices={"default": {"model": str(broken)}})
    with pytest.raises(ConfigError, match="default voice 'default' cannot load"):
        Node(settings, load_avatars=False).load()

    missing = node_settings(broker, prefix, voices={"default": {"model": str(tmp_path / "x.onnx")}})
    with pytest.raises(ConfigError, match="not found"):
        Node(missing, load_avatars=False).load()

    # A broken extra voice leaves the node running: requests for it get a clear error.
    configs = {"default": VoiceSettings(), "bad": VoiceSettings(model=str(broken))}
    reg = VoiceRegistry(configs)
    reg.voices["default"] = bundled_voices.voices["default"]
    reg.load_all()
    assert list(reg.failures) == ["bad"]
    settings = node_settings(broker, prefix, voices={"default": {}, "bad": {"model": str(broken)}})
    node = Node(settings, load_avatars=False, voices=reg)
    node.start()
    try:
        with AvatarClient(broker.host, broker.port, prefix) as c:
            col = c.collector()
            end = col.wait_end(c.say("Try the bad voice.", id="bv", voice="bad")).end
            assert end["type"] == "error" and end["code"] == "engine_error"
            assert "bad" in end["message"]
            assert col.wait_end(c.say("Default works.", id="dv")).end["type"] == "finished"
    finally:
        node.stop()


def test_cli_say_saves_wav(make_node, broker, prefix, tmp_path, capsys):
    from avatar_node.cli import main
    from avatar_node.media.wav import decode_wav

    make_node()
    out = tmp_path / "said.wav"
    code = main(["say", "Saved to a file.", "--port", str(broker.port), "--prefix", prefix,
                 "--out", str(out)])  # fmt: skip
    assert code == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith('{"id"')]
    result = json.loads(lines[0])
    assert result["end"] == "finished"
    samples, rate = decode_wav(out.read_bytes())
    assert rate == 22050 and samples.size > rate * 0.5
