"""Contract holes an adversarial client found, each tested as a class through a real broker.

- One utterance in flight: ``state.current``, ``stop`` without id, ``interrupt`` and ``replace``
  all name the same utterance; the next one has not started while the current one shows.
- An id that ended stays ended: a late ``say/stream`` delta is ``rejected``, never a second life.
- Every inbound payload gets exactly one answer, even when parsing blows up in a library.
- Wrong JSON types are errors (strict models), never coerced.
- Text no encoder accepts (unpaired surrogates) is cleaned at the door and spoken.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

END = ("finished", "cancelled", "error")
WINDOW_S = 6.0  # how long the tests watch the window after an utterance's speech is made


class Events:
    """Every event and retained state of channel ``default``, as they arrive."""

    def __init__(self, client: Any, prefix: str):
        self.lock = threading.Lock()
        self.events: list[dict[str, Any]] = []
        self.states: list[dict[str, Any]] = []
        self.last_audio: set[str] = set()  # ids whose final audio chunk has arrived
        client.subscribe(f"{prefix}/default/events", self._event)
        client.subscribe(f"{prefix}/default/state", self._state)
        client.subscribe(f"{prefix}/default/audio", self._audio)

    def _audio(self, _topic: str, payload: bytes) -> None:
        chunk = json.loads(payload)
        if chunk.get("final"):
            with self.lock:
                self.last_audio.add(chunk["id"])

    def speech_made(self, utt_id: str, queued_id: str) -> None:
        """Wait until all of ``utt_id``'s audio is out while its frames still show, then watch
        that window for WINDOW_S: this is where the next utterance's synthesis used to start
        (once the handoff to the video stage had room), so that two ids looked started."""
        self.wait(lambda: utt_id in self.last_audio, f"the last audio chunk of {utt_id}")
        deadline = time.monotonic() + WINDOW_S
        while time.monotonic() < deadline and not any(t in END for t in self.of(utt_id)):
            assert "started" not in self.of(queued_id), f"{queued_id} started beside {utt_id}"
            time.sleep(0.02)
        # Frames are paced to the audio clock: 20 s of speech outlasts the window on any load.
        assert not any(t in END for t in self.of(utt_id)), f"{utt_id} ended within the window"

    def _event(self, _topic: str, payload: bytes) -> None:
        with self.lock:
            self.events.append(json.loads(payload))

    def _state(self, _topic: str, payload: bytes) -> None:
        with self.lock:
            self.states.append(json.loads(payload))

    def of(self, utt_id: str | None) -> list[str]:
        with self.lock:
            return [e["type"] for e in self.events if e["id"] == utt_id]

    def wait(self, pred: Callable[[], bool], what: str, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred():
                return
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}: {self.events[-12:]}")

    def wait_end(self, utt_id: str) -> str:
        self.wait(lambda: any(t in END for t in self.of(utt_id)), f"the end of {utt_id}")
        return next(t for t in self.of(utt_id) if t in END)

    def count(self) -> int:
        with self.lock:
            return len(self.events)


@pytest.fixture
def ev(start_node, client, prefix):
    # With the avatar, an utterance lasts as long as its frames play (paced to its audio clock),
    # well after its synthesis is done.
    start_node(load_avatars=True, node={"max_text_chars": 400})
    return Events(client, prefix)


LONG = "This is a long sentence that keeps the channel busy for a while. " * 5


def test_stop_without_id_cancels_only_the_utterance_state_current_names(ev, client):
    client.say(LONG, id="cur")
    client.say("Next in line.", id="next")
    ev.wait(lambda: "sentence" in ev.of("cur"), "cur speaking")
    assert "started" not in ev.of("next"), "two utterances in flight"
    ev.speech_made("cur", "next")
    with ev.lock:
        current = [s["current"] for s in ev.states if s["state"] == "speaking"]
    assert current and current[-1] == "cur"
    client.control("stop")
    assert ev.wait_end("cur") == "cancelled"
    assert ev.wait_end("next") == "finished", "stop without id must spare the queued one"
    assert ev.of("next")[:2] == ["queued", "started"]


def test_interrupt_stops_only_the_current_one_and_goes_first(ev, client):
    client.say(LONG, id="a")
    client.say("Bee waits.", id="b")
    ev.speech_made("a", "b")
    client.say("Urgent news.", id="c", mode="interrupt")
    assert ev.wait_end("a") == "cancelled"
    assert ev.wait_end("c") == "finished"
    assert ev.wait_end("b") == "finished"
    with ev.lock:
        started = [e["id"] for e in ev.events if e["type"] == "started"]
    assert started == ["a", "c", "b"]


def test_a_delta_after_final_is_rejected_not_a_second_utterance(ev, client):
    client.stream("s1", "Hello there.", final=True)
    assert ev.wait_end("s1") == "finished"
    client.stream("s1", " And more.", final=True)
    ev.wait(lambda: "rejected" in ev.of("s1"), "the late delta's answer")
    with ev.lock:
        late = [e for e in ev.events if e["id"] == "s1" and e["type"] == "rejected"][0]
    assert late["code"] == "bad_request" and "already ended" in late["message"]
    time.sleep(0.5)
    assert ev.of("s1").count("queued") == 1 and ev.of("s1").count("started") == 1


def test_a_delta_after_its_stream_was_stopped_is_rejected(ev, client):
    client.stream("s2", "Some words that start a stream. ")
    ev.wait(lambda: "started" in ev.of("s2"), "s2 started")
    client.control("stop", "s2")
    assert ev.wait_end("s2") == "cancelled"
    client.stream("s2", "More words after the stop.", final=True)
    ev.wait(lambda: "rejected" in ev.of("s2"), "the late delta's answer")
    assert ev.of("s2").count("queued") == 1


NESTED = [
    ("say", b'{"text": "hi", "meta": ' + b'{"a": ' * 280 + b"1" + b"}" * 281),
    ("say", b"[" * 600),
    ("say/stream", b'{"id": "deep", "delta": ' + b"[" * 290 + b"]" * 290 + b"}"),
    ("control", b'{"action": "stop", "id": ' + b'{"a":' * 200 + b"1" + b"}" * 201),
    ("say", b'{"text": "huge", "speed": 1e999, "priority": 1' + b"0" * 300 + b"}"),
]


@pytest.mark.parametrize(("leaf", "payload"), NESTED, ids=range(len(NESTED)))
def test_every_payload_gets_exactly_one_answer(ev, client, prefix, leaf, payload):
    before = ev.count()
    client.publish(f"{prefix}/default/{leaf}", payload)
    client.say("", id="sentinel")  # always rejected; the node answers in order
    ev.wait(lambda: "rejected" in ev.of("sentinel"), "the sentinel")
    with ev.lock:
        answers = [e for e in ev.events[before:] if e["id"] != "sentinel"
                   and e["type"] in ("queued", "rejected")]  # fmt: skip
    assert len(answers) == 1, answers
    if answers[0]["type"] == "rejected":
        assert answers[0]["code"] in ("bad_request", "payload_too_large", "text_too_long")
    else:
        assert ev.wait_end(answers[0]["id"]) == "finished"


WRONG_TYPES = [
    ("say", {"text": "x", "speed": "1.5"}, "speed"),
    ("say", {"text": "x", "priority": "5"}, "priority"),
    ("say", {"text": "x", "priority": 5.0}, "priority"),
    ("say", {"text": 5}, "text"),
    ("say", {"text": "x", "id": 7}, "id"),
    ("say", {"text": "x", "voice": 3}, "voice"),
    ("say", {"text": "x", "mode": 1}, "mode"),
    ("say", {"text": "x", "meta": "m"}, "meta"),
    ("say", {"text": "x", "speaker": 1.5}, "speaker"),
    ("say/stream", {"id": "t1", "delta": "x", "final": "true"}, "final"),
    ("say/stream", {"id": "t2", "delta": 3}, "delta"),
    ("control", {"action": "stop", "id": 9}, "id"),
    ("control", {"action": True}, "action"),
]


@pytest.mark.parametrize(("leaf", "body", "field"), WRONG_TYPES, ids=[w[2] for w in WRONG_TYPES])
def test_wrong_types_are_rejected_naming_the_field(ev, client, prefix, leaf, body, field):
    before = ev.count()
    client.publish(f"{prefix}/default/{leaf}", json.dumps(body))
    ev.wait(lambda: any(e["type"] == "rejected" for e in ev.events[before:]), "a rejection")
    with ev.lock:
        rejected = [e for e in ev.events[before:] if e["type"] == "rejected"]
    assert rejected[0]["code"] == "bad_request"
    assert field in rejected[0]["message"]
    assert not any(e["type"] == "queued" for e in ev.events[before:])


def test_unpaired_surrogates_are_cleaned_at_the_door_and_spoken(ev, client, prefix):
    raw = '{"text": "Hello \\ud800 world \\udfff again.", "id": "sur"}'
    client.publish(f"{prefix}/default/say", raw)
    assert ev.wait_end("sur") == "finished"
    raw_stream = '{"id": "sur3", "delta": "Stream \\udbff text.", "final": true}'
    client.publish(f"{prefix}/default/say/stream", raw_stream)
    assert ev.wait_end("sur3") == "finished"
