"""Rhasspy Hermes TTS through a real broker; messages built and parsed by rhasspy-hermes."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import numpy as np
import pytest

try:
    from rhasspyhermes.tts import TtsError, TtsSay, TtsSayFinished
except ImportError:  # pragma: no cover
    pytest.fail("rhasspy-hermes is missing: .venv/bin/pip install --no-deps rhasspy-hermes "
                "dataclasses-json==0.5.6 'marshmallow<4' marshmallow-enum typing-inspect",
                pytrace=False)  # fmt: skip


class HermesBus:
    """Collects ``hermes/tts/sayFinished`` and ``hermes/error/tts`` as rhasspy-hermes objects."""

    def __init__(self, client: Any):
        self.client = client
        self.finished: list[TtsSayFinished] = []
        self.errors: list[TtsError] = []
        self._cond = threading.Condition()
        client.subscribe(TtsSayFinished.topic(), self._on_finished)
        client.subscribe(TtsError.topic(), self._on_error)

    def _on_finished(self, _topic: str, payload: bytes) -> None:
        with self._cond:
            self.finished.append(TtsSayFinished.from_json(payload))
            self._cond.notify_all()

    def _on_error(self, _topic: str, payload: bytes) -> None:
        with self._cond:
            self.errors.append(TtsError.from_json(payload))
            self._cond.notify_all()

    def say(self, msg: TtsSay) -> None:
        self.client.publish(TtsSay.topic(), msg.to_json())

    def wait(self, pred: Any, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not pred(self):
                remaining = deadline - time.monotonic()
                assert remaining > 0, "expected Hermes message did not arrive"
                self._cond.wait(remaining)

    def finished_for(self, site: str) -> list[TtsSayFinished]:
        return [f for f in self.finished if f.site_id == site]


def rms(utt: Any) -> float:
    audio, _ = utt.waveform()
    return float(np.sqrt(np.mean(audio**2)))


def test_say_speaks_with_volume_and_finishes_with_the_same_ids(start_node, client, collector,
                                                               prefix):  # fmt: skip
    start_node(hermes={"enabled": True, "site_id": prefix})
    bus = HermesBus(client)
    bus.say(TtsSay(text="Dinner is ready.", site_id="another-room", id=f"{prefix}-x"))
    bus.say(TtsSay(text="Dinner is ready.", site_id=prefix, id=f"{prefix}-1",
                   session_id="session-7", lang="en-US", volume=0.5))  # fmt: skip
    bus.wait(lambda b: b.finished_for(prefix))
    (done,) = bus.finished_for(prefix)
    assert (done.id, done.session_id) == (f"{prefix}-1", "session-7")
    utt = collector.wait_end(f"{prefix}-1", 10)
    assert utt.end["type"] == "finished" and utt.audio
    assert utt.t_first_audio is not None
    assert f"{prefix}-x" not in collector.utterances, "another site's request was spoken"

    full = client.say_and_wait("Dinner is ready.", id=f"{prefix}-ref", timeout=60)
    ratio = rms(utt) / rms(full)
    assert 0.35 < ratio < 0.7, f"volume 0.5 should halve the amplitude, ratio {ratio:.2f}"
    assert bus.errors == []


def test_malformed_and_rejected_requests_go_to_hermes_error_tts(start_node, client, prefix):
    start_node(hermes={"enabled": True, "site_id": prefix})
    bus = HermesBus(client)
    client.publish(TtsSay.topic(), '{"text": "unterminated", "siteId": ')
    bus.wait(lambda b: len(b.errors) >= 1, 10)
    assert bus.errors[0].site_id == prefix and bus.errors[0].error.startswith("bad_request")
    bus.say(TtsSay(text="   ", site_id=prefix, id=f"{prefix}-blank", session_id="s1"))
    bus.wait(lambda b: len(b.errors) >= 2 and b.finished_for(prefix), 10)
    err = bus.errors[1]
    assert (err.context, err.session_id) == (f"{prefix}-blank", "s1")
    assert bus.finished_for(prefix)[0].id == f"{prefix}-blank"


def test_a_stop_still_sends_say_finished(start_node, client, collector, prefix):
    start_node(hermes={"enabled": True, "site_id": prefix})
    bus = HermesBus(client)
    bus.say(TtsSay(text="This is a rather long announcement about nothing at all. " * 8,
                   site_id=prefix, id=f"{prefix}-long", session_id="s-long"))  # fmt: skip
    collector.wait_for(lambda c: any(e["type"] == "started" for e in c.all_events), 30)
    client.control("stop", f"{prefix}-long")
    bus.wait(lambda b: b.finished_for(prefix), 30)
    assert collector.wait_end(f"{prefix}-long", 10).end["type"] == "cancelled"
    done = bus.finished_for(prefix)[0]
    assert (done.id, done.session_id) == (f"{prefix}-long", "s-long")
    assert json.loads(done.to_json())["siteId"] == prefix
