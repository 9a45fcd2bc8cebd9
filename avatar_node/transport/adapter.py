"""The MQTT door: inbound topics → pipeline commands, pipeline sink → contract messages.

:class:`MqttSink` is the pipeline's MQTT outlet: it builds the wire models, base64-encodes media and
publishes each message with its flow-control :class:`~.flow.Priority`. :class:`MqttDoor` decodes
every inbound payload once; whatever happens, each payload on an inbound topic ends in exactly
one outcome: a command, or a ``rejected`` event (a catch-all turns any unexpected failure into
``bad_request`` and logs it once).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable

from .. import __version__
from ..errors import AvatarError, BadRequest
from ..log import get_logger
from ..pipeline.items import (
    END_KINDS,
    AudioOut,
    AvatarOut,
    ChannelView,
    EventKind,
    FrameOut,
    Mode,
    PipelineEvent,
    SayCommand,
)
from ..pipeline.service import Pipeline
from ..settings import Settings
from ..wire import (
    AudioChunk,
    AvatarInfo,
    ChannelState,
    Control,
    Event,
    Metrics,
    PhoneSpan,
    SayOptions,
    TextDelta,
    VideoFrame,
)
from ..wire.parse import (
    decode_text,
    model_from,
    parse_json_object,
    peek_id,
    say_from,
    strip_control,
)
from ..wire.topics import Topics
from .flow import Priority

log = get_logger(__name__)

Publish = Callable[..., bool]
SNAPSHOT_INTERVAL_S = 0.5


class MqttSink:
    """Publishes what the pipeline produces on the contract's topics."""

    def __init__(self, publish: Publish, topics: Topics):
        self._publish = publish
        self.topics = topics
        self._last_snapshot: dict[str, float] = {}

    def event(self, event: PipelineEvent) -> None:
        # Validated against the contract's closed lists (event type, error code) as it is built.
        ev = Event.model_validate(
            {
                "id": event.id,
                "type": event.kind.value,
                "ts": time.time(),
                "node": self.topics.node_id,
                "channel": event.channel,
                "code": event.code,
                "message": event.message,
                "meta": event.meta,
                "detail": event.detail,
            }
        )
        last = event.kind in END_KINDS or event.kind is EventKind.REJECTED
        self._publish(
            self.topics.channel(event.channel, "events"),
            ev.to_json(),
            1,
            False,
            priority=Priority.END if last else Priority.EVENT,
        )

    def audio(self, chunk: AudioOut, wav: bytes) -> None:
        spans = (
            None
            if chunk.alignment is None
            else [
                PhoneSpan(
                    p=p.phoneme,
                    v=p.viseme,
                    start_ms=round(max(p.start_ms, 0.0), 3),
                    end_ms=round(max(p.end_ms, 0.0), 3),
                )
                for p in chunk.alignment
            ]
        )
        msg = AudioChunk.model_validate(
            {
                "id": chunk.id,
                "seq": chunk.seq,
                "text": chunk.text,
                "start_ms": chunk.start_ms,
                "duration_ms": chunk.duration_ms,
                "sample_rate": chunk.sample_rate,
                "channels": chunk.channels,
                "sample_format": chunk.sample_format,
                "wav": base64.b64encode(wav).decode("ascii"),
                "final": chunk.final,
                "alignment": spans,
            }
        )
        self._publish(
            self.topics.channel(chunk.channel, "audio"),
            msg.to_json(),
            1,
            False,
            priority=Priority.MEDIA,
        )

    def frame(self, frame: FrameOut, jpeg: bytes) -> None:
        self._publish(
            self.topics.channel(frame.channel, "frames"), _frame_json(frame, jpeg), 0, False
        )
        now = time.monotonic()
        if now - self._last_snapshot.get(frame.channel, 0.0) >= SNAPSHOT_INTERVAL_S:
            self._last_snapshot[frame.channel] = now
            self._publish(self.topics.channel(frame.channel, "snapshot"), jpeg, 0, False)

    def state(self, view: ChannelView) -> None:
        msg = ChannelState(
            channel=view.channel,
            node=self.topics.node_id,
            state="speaking" if view.speaking else "idle",
            current=view.current,
            queued=view.queued,
            voices=list(view.voices),
            avatars=list(view.avatars),
            fps=view.fps,
            version=__version__,
            metrics=Metrics(**view.metrics.__dict__),
        )
        self._publish(
            self.topics.channel(view.channel, "state"),
            msg.to_json(),
            1,
            True,
            priority=Priority.EVENT,
        )

    def avatar(self, info: AvatarOut, idle_jpeg: bytes) -> None:
        msg = AvatarInfo.model_validate(
            {
                "name": info.name,
                "width": info.width,
                "height": info.height,
                "fps": info.fps,
                "idle": base64.b64encode(idle_jpeg).decode("ascii"),
                "lipsync": info.lipsync,
                "face": None if info.face is None else list(info.face),
            }
        )
        self._publish(
            self.topics.channel(info.channel, "avatar"),
            msg.to_json(),
            1,
            True,
            priority=Priority.EVENT,
        )

    def idle(self, frame: FrameOut, jpeg: bytes) -> None:
        self._publish(
            self.topics.channel(frame.channel, "idle"), _frame_json(frame, jpeg), 0, False
        )


def _frame_json(frame: FrameOut, jpeg: bytes) -> bytes:
    return VideoFrame(
        id=frame.id,
        seq=frame.seq,
        pts_ms=frame.pts_ms,
        width=frame.width,
        height=frame.height,
        jpeg=base64.b64encode(jpeg).decode("ascii"),
        final=frame.final,
    ).to_json()


def _command(
    channel: str, opts: SayOptions, utt_id: str, text: str, streaming: bool = False
) -> SayCommand:
    return SayCommand(
        channel=channel,
        id=utt_id,
        voice=opts.voice,
        avatar=opts.avatar,
        speaker=opts.speaker,
        language=opts.language,
        speed=opts.speed,
        mode=Mode(opts.mode),
        priority=opts.priority,
        meta=opts.meta,
        text=text,
        streaming=streaming,
    )


class MqttDoor:
    """Routes the node's inbound channel topics to the pipeline."""

    LEAVES = ("say", "say/stream", "control")

    def __init__(self, pipeline: Pipeline, settings: Settings, topics: Topics):
        self.pipeline = pipeline
        self.settings = settings
        self.topics = topics
        self.extra: dict[str, Callable[[str, bytes], None]] = {}
        """Exact topics of integrations and other doors (``play``) → their handlers."""
        self.leaves: dict[str, Callable[[str, bytes], None]] = {}
        """Further channel leaves (``play``, ``play/stream``) → handler(channel, payload)."""

    def on_message(self, topic: str, payload: bytes) -> None:
        handler = self.extra.get(topic)
        if handler is not None:
            self._guarded(None, payload, lambda: handler(topic, payload))
            return
        parts = self.topics.split(topic)
        if parts is None or parts[0] not in self.pipeline.runners:
            return  # another node's channel
        channel, leaf = parts
        if leaf in self.leaves:
            self._guarded(channel, payload, lambda: self.leaves[leaf](channel, payload))
        elif leaf in self.LEAVES:
            self._guarded(channel, payload, lambda: self._channel(channel, leaf, payload))

    def _guarded(self, channel: str | None, payload: bytes, call: Callable[[], None]) -> None:
        try:
            call()
        except Exception as exc:  # the catch-all: every payload gets an answer
            log.exception("inbound payload failed", channel=channel, size=len(payload))
            if channel is not None:
                err = BadRequest(f"payload could not be handled ({type(exc).__name__})")
                self.pipeline.reject(channel, None, err)

    def _channel(self, channel: str, leaf: str, payload: bytes) -> None:
        n = self.settings.node
        obj = None
        try:
            text = decode_text(payload, n.max_payload_bytes)
            obj = parse_json_object(text)
            if leaf == "say":
                req = say_from(text, obj, n.max_text_chars)
                self.pipeline.submit(_command(channel, req, req.id, req.text))
            elif leaf == "say/stream":
                delta = model_from(obj, TextDelta)
                cmd = _command(channel, delta, delta.id, strip_control(delta.delta), True)
                self.pipeline.push(cmd, delta.final)
            else:
                ctl = model_from(obj, Control)
                if ctl.action == "clear":
                    self.pipeline.clear(channel)
                else:
                    found = self.pipeline.stop(channel, ctl.id)
                    log.info("stop", channel=channel, id=ctl.id, found=found)
        except AvatarError as exc:
            self.pipeline.reject(channel, peek_id(obj), exc)
