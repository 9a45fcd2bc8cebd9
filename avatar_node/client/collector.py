"""What a subscriber gathers: :class:`Utterance` (one id's events and media), :class:`Collector`."""

from __future__ import annotations

import base64
import json
import queue
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..media.wav import decode_wav_base64

if TYPE_CHECKING:
    from .sync import AvatarClient

END_TYPES = ("finished", "cancelled", "error", "rejected")


@dataclass
class Utterance:
    """What a subscriber received for one utterance id."""

    id: str
    events: list[dict[str, Any]] = field(default_factory=list)
    audio: list[dict[str, Any]] = field(default_factory=list)
    frames: list[dict[str, Any]] = field(default_factory=list)
    t_first_audio: float | None = None
    t_first_frame: float | None = None

    @property
    def end(self) -> dict[str, Any] | None:
        return next((e for e in self.events if e["type"] in END_TYPES), None)

    def waveform(self) -> tuple[np.ndarray, int]:
        """The whole utterance's audio, chunks concatenated in seq order."""
        parts, rate = [], 0
        for chunk in sorted(self.audio, key=lambda c: c["seq"]):
            samples, rate = decode_wav_base64(chunk["wav"])
            parts.append(samples)
        return (np.concatenate(parts) if parts else np.zeros(0, np.float32)), rate

    def jpegs(self) -> list[bytes]:
        return [base64.b64decode(f["jpeg"]) for f in sorted(self.frames, key=lambda f: f["seq"])]


class Collector:
    """Gathers events, audio and frames of one channel, by utterance id."""

    def __init__(self, client: AvatarClient, channel: str, frames: bool = True):
        self.channel = channel
        self.utterances: dict[str, Utterance] = defaultdict(lambda: Utterance(""))
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.all_events: list[dict[str, Any]] = []
        self.retained: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        leaves = ["events", "audio", "state", "avatar"] + (["frames"] if frames else [])
        for leaf in leaves:
            client.subscribe(client.topic(channel, leaf), self._on_message)

    def get(self, utt_id: str) -> Utterance:
        with self._lock:
            utt = self.utterances[utt_id]
            utt.id = utt_id
            return utt

    def _on_message(self, topic: str, payload: bytes) -> None:
        leaf = topic.rsplit("/", 1)[-1]
        now = time.monotonic()
        msg = json.loads(payload)
        with self._cond:
            if leaf in ("state", "avatar"):
                self.retained[leaf] = msg
            else:
                utt = self.utterances[str(msg.get("id"))]
                utt.id = str(msg.get("id"))
                if leaf == "events":
                    utt.events.append(msg)
                    self.all_events.append(msg)
                    self.events.put(msg)
                elif leaf == "audio":
                    utt.audio.append(msg)
                    utt.t_first_audio = utt.t_first_audio or now
                elif leaf == "frames":
                    utt.frames.append(msg)
                    utt.t_first_frame = utt.t_first_frame or now
            self._cond.notify_all()

    def wait_end(self, utt_id: str | None, timeout: float = 60.0) -> Utterance:
        """Wait for the end event (finished / cancelled / error / rejected) of ``utt_id``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                utt = self.utterances.get(str(utt_id))
                if utt is not None and utt.end is not None:
                    return utt
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no end event for {utt_id} within {timeout} s")
                self._cond.wait(remaining)

    def wait_for(self, predicate: Any, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("condition not met in time")
                self._cond.wait(remaining)
