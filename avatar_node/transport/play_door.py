"""(v1.1) The MQTT door for audio in: ``{prefix}/{channel}/play`` and ``.../play/stream``.

The MQTT adapter routes those topics here. ``play`` carries a whole WAV file and becomes one
:class:`~avatar_node.pipeline.items.PlayCommand` at once; ``play/stream`` opens a
:class:`~avatar_node.pipeline.audio_in.StreamSource` at ``start``, feeds it every ``chunk`` and
finishes it at ``stop``, so lip sync starts with the first ~200 ms. Everything unusable is
reported through ``pipeline.reject`` with its code and the node keeps serving.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import AvatarError, BadAudio, BadRequest
from ..log import get_logger
from ..media.pcm import PcmFormat
from ..pipeline.audio_in import StreamSource, WavSource
from ..pipeline.items import AudioSource, Mode, PlayCommand
from ..wire.parse import decode_text, parse_json_object, peek_id
from ..wire.play import (
    AudioStreamChunk,
    AudioStreamStart,
    PlayOptions,
    decode_base64,
    parse_play,
    parse_stream_part,
)

if TYPE_CHECKING:
    from ..settings import NodeSettings, Settings
    from ..wire.topics import Topics

log = get_logger(__name__)

PLAY_PIECE_MS = 1000.0
"""A ``play`` WAV goes out (and is lip-synced) in pieces of this length."""


class PlayPipeline(Protocol):
    """What this door needs of the pipeline."""

    def submit(self, cmd: PlayCommand) -> Any: ...

    def reject(self, channel: str, id: str | None, exc: AvatarError) -> None: ...


class PlayNode(PlayPipeline, Protocol):
    """The part of the node's port (``integrations.port.NodePort``) the installed door uses."""

    settings: Settings
    topics: Topics

    def subscribe(
        self, topic: str, handler: Callable[[str, bytes], None], qos: int = 1
    ) -> None: ...


def _command(channel: str, id: str, opts: PlayOptions, source: AudioSource) -> PlayCommand:
    return PlayCommand(
        channel=channel,
        id=id,
        avatar=opts.avatar,
        mode=Mode(opts.mode),
        priority=opts.priority,
        meta=opts.meta,
        audio=source,
    )


def _payload_id(payload: bytes) -> str | None:
    """The id of a JSON payload, for the rejection of one that failed (None when unreadable)."""
    if payload[:4] == b"RIFF":
        return None
    try:
        return peek_id(parse_json_object(decode_text(payload, len(payload))))
    except AvatarError:
        return None


def handle_play(
    pipeline: PlayPipeline, channel: str, payload: bytes, settings: NodeSettings
) -> None:
    """``{prefix}/{channel}/play``: a complete WAV file (raw RIFF or JSON ``PlayRequest``)."""
    try:
        msg = parse_play(payload, settings.max_play_bytes)
    except AvatarError as exc:
        pipeline.reject(channel, _payload_id(payload), exc)
        return
    req = msg.request
    try:
        source = WavSource.from_bytes(msg.wav, req.text or "", piece_ms=PLAY_PIECE_MS)
        pipeline.submit(_command(channel, req.id, req, source))
    except AvatarError as exc:
        # A raw WAV names no id: its rejection has none either (the contract's id: null).
        pipeline.reject(channel, None if payload[:4] == b"RIFF" else req.id, exc)


class _Open:
    __slots__ = ("fmt", "seen", "source")

    def __init__(self, source: StreamSource, fmt: PcmFormat):
        self.source, self.fmt, self.seen = source, fmt, time.monotonic()


class PlayStreams:
    """``{prefix}/{channel}/play/stream``: the open streams of every channel (thread-safe)."""

    def __init__(self, pipeline: PlayPipeline, settings: NodeSettings):
        self.pipeline = pipeline
        self.settings = settings
        self._open: dict[tuple[str, str], _Open] = {}
        self._lock = threading.Lock()

    def handle(self, channel: str, payload: bytes) -> None:
        try:
            part = parse_stream_part(payload, self.settings.max_payload_bytes)
        except AvatarError as exc:
            pid = _payload_id(payload)
            with self._lock:
                if pid is not None and (channel, pid) in self._open:
                    # The id is an accepted utterance: only this message is rejected.
                    msg = f"play/stream message for id {pid!r} dropped: {exc.message}"
                    exc, pid = AvatarError(msg, code=exc.code), None
            self.pipeline.reject(channel, pid, exc)
            return
        key = (channel, part.id)
        with self._lock:
            self._prune()
            entry = self._open.get(key)
            if isinstance(part, AudioStreamStart):
                self._start(channel, part, entry)
            elif entry is None:
                what = "chunk" if isinstance(part, AudioStreamChunk) else "stop"
                self.pipeline.reject(
                    channel,
                    part.id,
                    BadAudio(
                        f"play/stream {what} for id {part.id!r} without a start (or after its "
                        "stream ended)"
                    ),
                )
            elif isinstance(part, AudioStreamChunk):
                self._chunk(channel, part, entry)
            else:  # stop
                entry.source.finish()
                del self._open[key]

    def _start(self, channel: str, part: AudioStreamStart, entry: _Open | None) -> None:
        if entry is not None and not entry.source.ended:
            # The id is already an utterance: its life must not end in a late `rejected`.
            self.pipeline.reject(
                channel,
                None,
                BadRequest(
                    f"play/stream start for id {part.id!r}, whose stream is still open; ignored"
                ),
            )
            return
        try:
            fmt = PcmFormat.named(part.resolved_format(), part.rate, part.channels)
            source = StreamSource(
                part.text or "", idle_timeout_s=self.settings.stream_idle_timeout_s
            )
            self.pipeline.submit(_command(channel, part.id, part, source))
        except AvatarError as exc:
            self.pipeline.reject(channel, part.id, exc)
            return
        self._open[(channel, part.id)] = _Open(source, fmt)

    def _chunk(self, channel: str, part: AudioStreamChunk, entry: _Open) -> None:
        entry.seen = time.monotonic()
        try:
            pcm = decode_base64(part.pcm, "pcm")
        except AvatarError as exc:
            # The stream is queued already: the bad message is rejected, the stream goes on.
            msg = f"play/stream chunk for id {part.id!r} dropped: {exc.message}"
            self.pipeline.reject(channel, None, BadRequest(msg))
            return
        if not entry.source.push(pcm, entry.fmt):
            log.debug("play/stream chunk after its stream ended; dropped", id=part.id)

    def _prune(self) -> None:
        """Forget streams that ended (stall, stop, cancel) and have been quiet for a while;
        until then their late chunks are dropped quietly instead of rejected."""
        keep_s = 2 * self.settings.stream_idle_timeout_s
        now = time.monotonic()
        for key in [k for k, e in self._open.items() if e.source.finished]:
            if now - self._open[key].seen > keep_s:
                del self._open[key]

    def close(self) -> None:
        """Finish every open stream (the node is stopping)."""
        with self._lock:
            for entry in self._open.values():
                entry.source.finish()
            self._open.clear()


class PlayDoor:
    """Both topics of every channel, installed on a node through its port (before start)."""

    def __init__(self, node: PlayNode):
        self.node = node
        self.streams = PlayStreams(node, node.settings.node)

    def install(self) -> None:
        for channel in self.node.settings.node.channels:
            self.node.subscribe(self.node.topics.channel(channel, "play"), self._play)
            self.node.subscribe(self.node.topics.channel(channel, "play/stream"), self._stream)

    def _channel(self, topic: str) -> str:
        parts = self.node.topics.split(topic)
        assert parts is not None  # only our own exact topics are routed here
        return parts[0]

    def _play(self, topic: str, payload: bytes) -> None:
        handle_play(self.node, self._channel(topic), payload, self.node.settings.node)

    def _stream(self, topic: str, payload: bytes) -> None:
        self.streams.handle(self._channel(topic), payload)
