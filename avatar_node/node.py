"""The node: MQTT in, channel pipelines, MQTT out.

Inbound messages are decoded once at the edge (``messages``), turned into :class:`Utterance`
objects and queued; nothing slow runs on paho's thread. Each channel has its own runner with a TTS
thread and a frame thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from .errors import AvatarError, BadRequest, ConfigError, TextTooLong, UnknownAvatar
from .log import get_logger
from .messages import (
    Control,
    SayOptions,
    TextDelta,
    parse_json_object,
    parse_model,
    parse_say,
    peek_id,
    strip_control,
)
from .pipeline.cache import PhraseCache
from .pipeline.channel import ChannelQueue, SentenceSource, Utterance
from .pipeline.emitter import ChannelStatus, Emitter
from .pipeline.registry import AvatarRegistry, VoiceRegistry
from .pipeline.runner import ChannelRunner
from .settings import Settings
from .transport.mqtt import MqttTransport
from .transport.topics import Topics

if TYPE_CHECKING:
    from .metrics import NodeMetrics

log = get_logger(__name__)

TopicHandler = Callable[[str, bytes], None]


class Node:
    """A running avatar node. ``start()`` loads models and connects; ``stop()`` goes offline."""

    def __init__(
        self,
        settings: Settings,
        *,
        load_avatars: bool = True,
        voices: VoiceRegistry | None = None,
    ):
        """``voices``: an already loaded registry to share (tests, several nodes in a process)."""
        self.settings = settings
        node = settings.node
        self.node_id = node.node_id
        self.topics = Topics(settings.mqtt.topic_prefix, self.node_id)
        self._voices_preloaded = voices is not None
        self.voices = voices if voices is not None else VoiceRegistry(settings.voices)
        self.avatars: AvatarRegistry | None = (
            AvatarRegistry(settings.avatars, settings.lipsync) if load_avatars else None
        )
        self.transport = MqttTransport(
            settings.mqtt,
            self.topics,
            self._on_message,
            self.topics.inbound(settings.mqtt.shared_group),
            on_connected=self._on_connected,
        )
        self.emitter = Emitter(self.transport.publish, self.topics)
        self.extra_handlers: dict[str, TopicHandler] = {}
        self.on_connected_hooks: list[Callable[[], None]] = []
        self.channel_avatar: dict[str, str] = dict.fromkeys(node.channels, node.default_avatar)
        """The avatar each channel shows by default (changeable at run time, e.g. from HA)."""
        self.channels: dict[str, ChannelRunner] = {}
        self.phrase_cache = PhraseCache(int(node.phrase_cache_mb * 1024 * 1024))
        self._streams: dict[tuple[str, str], Utterance] = {}
        # Re-entrant: submitting a stream with mode replace cancels queued streams, whose end hook
        # (_forget_stream) takes this lock again on the same thread.
        self._streams_lock = threading.RLock()
        self._started = False
        self.metrics: NodeMetrics | None = None
        """Prometheus metrics while ``metrics.enabled`` and started."""

    # ---------------------------------------------------------------- life cycle

    def load(self) -> None:
        """Load voices and enrol avatars (slow; before connecting)."""
        if not self._voices_preloaded:
            self.voices.load_all()
        default = self.settings.node.default_voice
        if default in self.voices.failures:
            raise ConfigError(
                f"default voice {default!r} cannot load: {self.voices.failures[default]}"
            )
        if self.avatars is not None:
            self.avatars.load_all()
        fps = self._channel_fps()
        for name in self.settings.node.channels:
            q = ChannelQueue(
                name,
                self.settings.node.queue_depth,
                on_cancelled=partial(self._cancelled_in_queue, name),
                on_queued=partial(self._queued, name),
            )
            self.emitter.status[name] = ChannelStatus(
                voices=self.voices.names,
                avatars=self.avatars.names if self.avatars else [],
                fps=fps,
                queued=q.__len__,
            )
            self.channels[name] = ChannelRunner(
                name, q, self.emitter, self.voices, self.avatars,
                self.settings.node.sample_format, self.phrase_cache,
                self.settings.node.frame_lead_s,
            )  # fmt: skip
        from .integrations import install as install_integrations

        install_integrations(self)  # Home Assistant / Hermes, when enabled (subscribe before start)

    def start(self, connect_timeout: float | None = 10.0) -> None:
        if not self.channels:
            self.load()
        if self.settings.metrics.enabled and self.metrics is None:
            from .metrics import NodeMetrics

            self.metrics = NodeMetrics(self)
            self.metrics.serve(self.settings.metrics.host, self.settings.metrics.port)
        for runner in self.channels.values():
            runner.start()
        self.transport.start()
        self._started = True
        if connect_timeout and not self.transport.wait_connected(connect_timeout):
            log.warning("broker not reachable yet; retrying in the background")

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        for runner in self.channels.values():
            runner.stop()
        self.transport.stop()
        if self.metrics is not None:
            self.metrics.close()
            self.metrics = None
        log.info("node stopped")

    def add_handler(self, topic: str, handler: TopicHandler, qos: int = 1) -> None:
        """Subscribe ``topic`` (exact) and route its messages to ``handler`` (integrations).

        Call before :meth:`start`; the subscription is renewed on every reconnect.
        """
        self.extra_handlers[topic] = handler
        self.transport.subscriptions.append((topic, qos))

    def set_channel_avatar(self, channel: str, avatar: str) -> None:
        """Switch a channel's default avatar; re-publishes its retained ``avatar`` message."""
        if self.avatars is not None:
            self.avatars.get(avatar)  # raises UnknownAvatar / EngineError
        self.channel_avatar[channel] = avatar
        self._publish_avatar(channel)

    def _channel_fps(self) -> float:
        return float(self.settings.avatars[self.settings.node.default_avatar].fps)

    def _on_connected(self) -> None:
        """(Re-)publish the retained state and avatar of every channel, then run hooks."""
        for name in self.channels:
            self.emitter.state(name)
            self._publish_avatar(name)
        for hook in self.on_connected_hooks:
            hook()

    def idle_jpeg(self, channel: str) -> bytes | None:
        """The resting frame the channel shows now (for the web page's first paint)."""
        if self.avatars is None or channel not in self.channel_avatar:
            return None
        try:
            avatar = self.avatars.get(self.channel_avatar[channel])
        except AvatarError:
            return None
        from .media.jpeg import encode_jpeg

        return encode_jpeg(avatar.idle_frame, avatar.jpeg_quality)

    def _publish_avatar(self, channel: str) -> None:
        if self.avatars is None or self.avatars.engine is None:
            return
        name = self.channel_avatar[channel]
        try:
            avatar = self.avatars.get(name)
        except AvatarError:
            return
        from .media.jpeg import encode_jpeg

        idle = encode_jpeg(avatar.idle_frame, avatar.jpeg_quality)
        face = None if avatar.face is None else [int(v) for v in avatar.face]
        self.emitter.avatar(channel, name, avatar.width, avatar.height, avatar.fps, idle,
                            self.avatars.engine.name, face)  # fmt: skip

    # ---------------------------------------------------------------- inbound

    def _on_message(self, topic: str, payload: bytes) -> None:
        handler = self.extra_handlers.get(topic)
        if handler is not None:
            handler(topic, payload)
            return
        parts = self.topics.split(topic)
        if parts is None or parts[0] not in self.channels:
            return  # another node's channel
        channel, leaf = parts
        try:
            if leaf == "say":
                self.say(channel, payload)
            elif leaf == "say/stream":
                self._on_delta(channel, payload)
            elif leaf == "control":
                self._on_control(channel, payload)
        except AvatarError as exc:
            obj = parse_json_object(payload.decode("utf-8", "replace")) if len(payload) <= (
                self.settings.node.max_payload_bytes
            ) else None
            self.emitter.event(channel, "rejected", utt_id=peek_id(obj), code=exc.code,
                               message=exc.message)  # fmt: skip

    def say(self, channel: str, payload: bytes, *, on_end=None, gain: float = 1.0,  # noqa: ANN001
            utt_id: str | None = None, language: str | None = None) -> Utterance:  # fmt: skip
        """Accept a ``say`` payload (plain text or JSON) on ``channel``; raises AvatarError."""
        n = self.settings.node
        req = parse_say(payload, n.max_payload_bytes, n.max_text_chars)
        if utt_id is not None:
            req.id = utt_id
        if language is not None and req.language is None:
            req.language = language
        source = SentenceSource(req.text, max_chars=n.sentence_max_chars,
                                first_max_chars=n.first_chunk_max_chars)  # fmt: skip
        utt = self._utterance(channel, req.id, source, req)
        utt.gain = gain
        if on_end is not None:
            utt.on_end.append(on_end)
        self.channels[channel].submit(utt)
        return utt

    def _utterance(self, channel: str, utt_id: str, source: SentenceSource,
                   opts: SayOptions) -> Utterance:  # fmt: skip
        n = self.settings.node
        voice = opts.voice or n.default_voice
        avatar = opts.avatar or self.channel_avatar[channel]
        self.voices.check_request(voice, opts.speaker)
        if avatar not in self.settings.avatars:
            names = ", ".join(self.settings.avatars)
            raise UnknownAvatar(f"unknown avatar {avatar!r}; configured: {names}")
        return Utterance(
            id=utt_id, channel=channel, source=source, voice=voice, avatar=avatar,
            speaker=opts.speaker, language=opts.language, speed=opts.speed, mode=opts.mode,
            priority=opts.priority, meta=opts.meta,
        )  # fmt: skip

    def _on_delta(self, channel: str, payload: bytes) -> None:
        n = self.settings.node
        delta = parse_model(payload, n.max_payload_bytes, TextDelta)
        assert isinstance(delta, TextDelta)
        key = (channel, delta.id)
        with self._streams_lock:
            utt = self._streams.get(key)
            if utt is not None and (utt.cancel.is_set() or utt.source.exhausted()):
                self._streams.pop(key, None)
                utt = None
            if utt is None:
                if not delta.delta.strip() and delta.final:
                    raise BadRequest("stream ended without any text")
                source = SentenceSource(
                    streaming=True, max_chars=n.sentence_max_chars,
                    first_max_chars=n.first_chunk_max_chars,
                    idle_timeout_s=n.stream_idle_timeout_s,
                )  # fmt: skip
                utt = self._utterance(channel, delta.id, source, delta)
                utt.on_end.append(partial(self._forget_stream, key))
                self._streams[key] = utt
                try:
                    self.channels[channel].submit(utt)
                except AvatarError:
                    self._streams.pop(key, None)
                    raise
            room = n.max_text_chars - len(utt.source.text)
            if len(delta.delta) > room:
                utt.source.push(delta.delta[: max(room, 0)], final=True)
                raise TextTooLong(
                    f"stream {delta.id} exceeds max_text_chars {n.max_text_chars}; "
                    "the text up to the limit is spoken"
                )
        utt.source.push(strip_control(delta.delta), delta.final)

    def _forget_stream(self, key: tuple[str, str], utt: Utterance, _end: str) -> None:
        with self._streams_lock:
            if self._streams.get(key) is utt:
                del self._streams[key]

    def _on_control(self, channel: str, payload: bytes) -> None:
        ctl = parse_model(payload, self.settings.node.max_payload_bytes, Control)
        assert isinstance(ctl, Control)
        runner = self.channels[channel]
        if ctl.action == "clear":
            runner.queue.clear()
            self.emitter.state(channel)
            return
        stopped = runner.queue.stop(ctl.id)
        stopped = runner.cancel_active(ctl.id) or stopped
        self.emitter.state(channel)
        log.info("stop", channel=channel, id=ctl.id, found=stopped)

    def _queued(self, channel: str, utt: Utterance) -> None:
        self.emitter.event(channel, "queued", utt)

    def _cancelled_in_queue(self, channel: str, utt: Utterance) -> None:
        """A queued (never started) utterance was dropped: it still ends with `cancelled`."""
        utt.source.finish()
        self.emitter.event(channel, "cancelled", utt, detail={"while": "queued"})
        for hook in utt.on_end:
            hook(utt, "cancelled")
