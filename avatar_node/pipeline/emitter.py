"""Builds the contract's outbound messages and publishes them (the pipeline's only way out)."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .. import __version__
from ..messages import AudioChunk, AvatarInfo, ChannelState, Event, Metrics, VideoFrame
from ..transport.topics import Topics
from .channel import Utterance

Publish = Callable[[str, bytes, int, bool], bool]


@dataclass
class ChannelMetrics:
    """Figures of a channel's last utterance plus counters since start."""

    first_audio_ms: float | None = None
    first_frame_ms: float | None = None
    lipsync_fps: float | None = None
    rtf: float | None = None
    utterances: int = 0
    errors: int = 0
    cache_hits: int = 0
    cache_misses: int = 0

    def to_message(self) -> Metrics:
        return Metrics(**self.__dict__)


@dataclass
class ChannelStatus:
    """What the retained ``state`` message says about one channel."""

    voices: list[str]
    avatars: list[str]
    fps: float
    queued: Callable[[], int]
    active: list[str] = field(default_factory=list)
    metrics: ChannelMetrics = field(default_factory=ChannelMetrics)


class Emitter:
    """Publishes events, audio, frames, state and avatar for every channel of a node."""

    def __init__(self, publish: Publish, topics: Topics):
        self._publish = publish
        self.topics = topics
        self.node_id = topics.node_id
        self.status: dict[str, ChannelStatus] = {}
        self._state_lock = threading.Lock()
        self.on_event: list[Callable[[Event], None]] = []

    # ---------------------------------------------------------------- events

    def event(
        self,
        channel: str,
        type_: str,
        utt: Utterance | None = None,
        *,
        utt_id: str | None = None,
        code: str | None = None,
        message: str | None = None,
        detail: dict[str, object] | None = None,
    ) -> Event:
        ev = Event(
            id=utt.id if utt is not None else utt_id,
            type=type_,  # type: ignore[arg-type]
            ts=time.time(),
            node=self.node_id,
            channel=channel,
            code=code,  # type: ignore[arg-type]
            message=message,
            meta=utt.meta if utt is not None else None,
            detail=detail,
        )
        self._publish(self.topics.channel(channel, "events"), ev.to_json(), 1, False)
        if type_ in ("error", "rejected") and channel in self.status:
            self.status[channel].metrics.errors += 1
        for hook in self.on_event:
            hook(ev)
        return ev

    # ---------------------------------------------------------------- media

    def audio(self, channel: str, chunk: AudioChunk) -> None:
        self._publish(self.topics.channel(channel, "audio"), chunk.to_json(), 1, False)

    def frame(self, channel: str, frame: VideoFrame) -> None:
        self._publish(self.topics.channel(channel, "frames"), frame.to_json(), 0, False)

    def snapshot(self, channel: str, jpeg: bytes) -> None:
        self._publish(self.topics.channel(channel, "snapshot"), jpeg, 0, False)

    def avatar(self, channel: str, name: str, width: int, height: int, fps: float,
               idle_jpeg: bytes, lipsync: str,
               face: list[int] | None = None) -> None:  # fmt: skip
        info = AvatarInfo(
            name=name,
            width=width,
            height=height,
            fps=fps,
            idle=base64.b64encode(idle_jpeg).decode("ascii"),
            lipsync=lipsync,  # type: ignore[arg-type]
            face=face,
        )
        self._publish(self.topics.channel(channel, "avatar"), info.to_json(), 1, True)

    # ---------------------------------------------------------------- state

    def state(self, channel: str) -> None:
        st = self.status[channel]
        with self._state_lock:
            msg = ChannelState(
                channel=channel,
                node=self.node_id,
                state="speaking" if st.active else "idle",
                current=st.active[0] if st.active else None,
                queued=st.queued(),
                voices=st.voices,
                avatars=st.avatars,
                fps=st.fps,
                version=__version__,
                metrics=st.metrics.to_message(),
            )
            self._publish(self.topics.channel(channel, "state"), msg.to_json(), 1, True)
