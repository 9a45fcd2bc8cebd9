"""An in-memory pipeline sink: the second door of the tests (no broker, no wire).

It records what the pipeline sends as plain dicts shaped like the contract's messages (bytes
stay bytes), so pipeline tests read like the wire without any MQTT.
"""

from __future__ import annotations

import threading
from dataclasses import asdict
from typing import Any

from avatar_node.pipeline.items import AudioOut, AvatarOut, ChannelView, FrameOut, PipelineEvent


class MemorySink:
    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()

    def _add(self, leaf: str, msg: dict[str, Any]) -> None:
        with self.lock:
            self.messages.append((leaf, msg))

    def event(self, event: PipelineEvent) -> None:
        self._add("events", {"id": event.id, "type": event.kind.value, "code": event.code,
                             "message": event.message, "meta": event.meta,
                             "detail": event.detail, "channel": event.channel})  # fmt: skip

    def audio(self, chunk: AudioOut, wav: bytes) -> None:
        msg = asdict(chunk)
        msg["wav"] = wav
        msg["alignment"] = None if chunk.alignment is None else [
            {"p": p.phoneme, "v": p.viseme, "start_ms": p.start_ms, "end_ms": p.end_ms}
            for p in chunk.alignment
        ]  # fmt: skip
        self._add("audio", msg)

    def frame(self, frame: FrameOut, jpeg: bytes) -> None:
        self._add("frames", {**asdict(frame), "jpeg": jpeg})

    def state(self, view: ChannelView) -> None:
        self._add("state", asdict(view))

    def avatar(self, info: AvatarOut, idle_jpeg: bytes) -> None:
        self._add("avatar", {**asdict(info), "idle": idle_jpeg})

    def idle(self, frame: FrameOut, jpeg: bytes) -> None:
        self._add("idle", {**asdict(frame), "jpeg": jpeg})
