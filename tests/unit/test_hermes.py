"""Rhasspy Hermes TTS mapping with a fake node; messages built and parsed by rhasspy-hermes."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from avatar_node.errors import QueueFull
from avatar_node.integrations.hermes import Hermes, language_mark
from avatar_node.pipeline.items import EventKind, PipelineEvent
from avatar_node.settings import Settings

try:
    from rhasspyhermes.tts import TtsError, TtsSay, TtsSayFinished
except ImportError:  # pragma: no cover - a clear failure instead of a silent skip
    pytest.fail(
        "rhasspy-hermes is missing: .venv/bin/pip install --no-deps rhasspy-hermes "
        "dataclasses-json==0.5.6 'marshmallow<4' marshmallow-enum typing-inspect "
        "(--no-deps keeps paho-mqtt 2)",
        pytrace=False,
    )


class FakeNode:
    """Records say() calls like the real node would accept them; can refuse on purpose."""

    def __init__(self, **hermes: Any):
        self.settings = Settings(hermes={"enabled": True, "site_id": "kitchen", **hermes})
        self.handlers: dict[str, Any] = {}
        self.published: list[tuple[str, dict[str, Any]]] = []
        self.events: list[dict[str, Any]] = []
        self.said: list[dict[str, Any]] = []
        self.refuse: Exception | None = None

    def subscribe(self, topic: str, handler: Any, qos: int = 1) -> None:
        self.handlers[topic] = handler

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> bool:
        self.published.append((topic, json.loads(payload)))
        return True

    def reject(self, channel: str, utt_id: str | None, exc: Any, sinks: Any = ()) -> None:
        self.events.append({"type": "rejected", "utt_id": utt_id, "code": exc.code,
                            "message": exc.message})  # fmt: skip

    def submit(self, cmd: Any) -> Any:
        if self.refuse is not None:
            raise self.refuse
        utt = SimpleNamespace(id=cmd.id, channel=cmd.channel, text=cmd.text)

        def on_end(utt: Any, end: str, sinks: Any = cmd.sinks) -> None:
            for sink in sinks:
                sink.event(PipelineEvent(cmd.channel, EventKind(end), utt.id))

        self.said.append({"channel": cmd.channel, "text": cmd.text, "utt": utt,
                          "utt_id": cmd.id, "language": cmd.language, "gain": cmd.gain,
                          "on_end": on_end})  # fmt: skip
        return utt

    def deliver(self, payload: bytes | str) -> None:
        data = payload.encode() if isinstance(payload, str) else payload
        self.handlers["hermes/tts/say"]("hermes/tts/say", data)


def make(**hermes: Any) -> FakeNode:
    node = FakeNode(**hermes)
    Hermes(node).install()  # type: ignore[arg-type]
    return node


def test_say_maps_id_lang_volume_and_finishes_with_the_same_ids():
    node = make(channel="default")
    msg = TtsSay(text="The garage door is open.", site_id="kitchen", id="abc-1",
                 session_id="sess-9", lang="en-US", volume=0.25)  # fmt: skip
    assert msg.topic() == "hermes/tts/say"
    node.deliver(msg.to_json())
    (call,) = node.said
    assert call["text"] == "The garage door is open." and call["channel"] == "default"
    assert (call["utt_id"], call["language"], call["gain"]) == ("abc-1", "en", 0.25)
    call["on_end"](call["utt"], "finished")
    ((topic, body),) = node.published
    assert topic == TtsSayFinished.topic()
    done = TtsSayFinished.from_dict(body)
    assert (done.id, done.site_id, done.session_id) == ("abc-1", "kitchen", "sess-9")


def test_other_sites_are_ignored_even_when_malformed():
    node = make()
    node.deliver(TtsSay(text="Not for us.", site_id="bedroom", id="x").to_json())
    node.deliver(json.dumps({"siteId": "bedroom", "text": 5}))
    assert node.said == [] and node.published == []


def test_missing_or_invalid_id_gets_a_generated_utterance_id_but_replies_echo_it():
    node = make()
    node.deliver(TtsSay(text="One.", site_id="kitchen").to_json())
    node.deliver(TtsSay(text="Two.", site_id="kitchen", id="has spaces/and slash").to_json())
    first, second = node.said
    assert first["utt_id"] and first["utt_id"] != second["utt_id"]
    assert second["utt_id"] != "has spaces/and slash"
    assert (first["gain"], first["language"]) == (1.0, None)
    second["on_end"](second["utt"], "cancelled")
    assert node.published[-1][1]["id"] == "has spaces/and slash"


def test_error_end_reports_then_finishes():
    node = make()
    node.deliver(TtsSay(text="Fails later.", site_id="kitchen", id="e1", session_id="s").to_json())
    call = node.said[0]
    call["on_end"](call["utt"], "error")
    (t1, err), (t2, fin) = node.published
    assert (t1, t2) == ("hermes/error/tts", "hermes/tts/sayFinished")
    parsed = TtsError.from_dict(err)
    assert parsed.error.startswith("engine_error") and parsed.context == "e1"
    assert (parsed.site_id, parsed.session_id) == ("kitchen", "s")
    assert fin == {"id": "e1", "siteId": "kitchen", "sessionId": "s"}


def test_rejected_request_reports_an_error_and_still_finishes():
    node = make()
    node.refuse = QueueFull("queue of channel default is full (32)")
    node.deliver(TtsSay(text="Too many.", site_id="kitchen", id="q1", session_id="s2").to_json())
    (t1, err), (t2, fin) = node.published
    assert t1 == TtsError.topic() and t2 == "hermes/tts/sayFinished"
    assert err["error"].startswith("queue_full") and err["sessionId"] == "s2"
    assert fin["id"] == "q1"
    assert node.events[0]["type"] == "rejected" and node.events[0]["code"] == "queue_full"


@pytest.mark.parametrize(
    "payload",
    [b"{not json", b"plain words", json.dumps({"siteId": "kitchen"}).encode(),
     json.dumps({"text": "", "siteId": "kitchen", "id": "w"}).encode(),
     json.dumps({"text": "Loud.", "siteId": "kitchen", "volume": 3}).encode(), b"\xff\xfe"],
)  # fmt: skip
def test_malformed_requests_go_to_hermes_error_tts(payload):
    node = make()
    node.deliver(payload)
    assert node.said == []
    topics = [t for t, _ in node.published]
    assert topics[0] == "hermes/error/tts"
    err = TtsError.from_dict(node.published[0][1])
    assert err.site_id == "kitchen" and err.error.startswith("bad_request")


def test_language_marks():
    assert language_mark("en-US") == "en"
    assert language_mark("de_DE.UTF-8") == "de"
    assert language_mark("ZH") == "zh"
    assert language_mark("") is None and language_mark(None) is None
