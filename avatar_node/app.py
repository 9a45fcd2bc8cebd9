"""The composition root: settings → registries → pipeline → doors.

:class:`Node` wires a running avatar node: it loads the voice and avatar registries, builds the
:class:`~.pipeline.service.Pipeline`, connects the MQTT door (:mod:`.transport.adapter`), installs
the integrations through their :class:`~.integrations.port.NodePort` and serves metrics. It is
the only module that knows every layer; nothing imports it but the CLI, tests and benchmarks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .errors import AvatarError
from .log import get_logger
from .models import AvatarRegistry, VoiceRegistry
from .pipeline.channel import Utterance
from .pipeline.items import PipelineEvent, PlayCommand, SayCommand
from .pipeline.service import Pipeline
from .pipeline.sink import NullSink, PipelineSink
from .settings import Settings
from .transport.adapter import MqttDoor, MqttSink
from .transport.mqtt import MqttTransport
from .wire.topics import Topics

if TYPE_CHECKING:
    from .integrations.prometheus import NodeMetrics
    from .wyoming import WyomingServer

log = get_logger(__name__)

TopicHandler = Callable[[str, bytes], None]


class _EventHooks(NullSink):
    """Calls plain functions with every pipeline event (tests, benchmarks, diagnostics)."""

    def __init__(self) -> None:
        self.hooks: list[Callable[[PipelineEvent], None]] = []

    def event(self, event: PipelineEvent) -> None:
        for hook in list(self.hooks):
            hook(event)


class Node:
    """A running avatar node. ``start()`` loads models and connects; ``stop()`` goes offline."""

    def __init__(
        self, settings: Settings, *, load_avatars: bool = True, voices: VoiceRegistry | None = None
    ):
        """``voices``: an already loaded registry to share (tests, several nodes in a process)."""
        self.settings = settings
        self.node_id = settings.node.node_id
        self.topics = Topics(settings.mqtt.topic_prefix, self.node_id)
        self._voices_preloaded = voices is not None
        self.voices = voices if voices is not None else VoiceRegistry(settings.voices)
        self.avatars = AvatarRegistry(settings.avatars, settings.lipsync) if load_avatars else None
        self.pipeline = Pipeline(settings, self.voices, self.avatars)
        self.door = MqttDoor(self.pipeline, settings, self.topics)
        self.transport = MqttTransport(
            settings.mqtt,
            self.topics,
            self.door.on_message,
            self.topics.inbound(settings.mqtt.shared_group),
            on_connected=self._on_connected,
        )
        self.pipeline.add_sink(MqttSink(self.transport.publish, self.topics))
        self._hooks = _EventHooks()
        self.pipeline.add_sink(self._hooks)
        self._on_connected_hooks: list[Callable[[], None]] = []
        self._started = False
        self.metrics: NodeMetrics | None = None
        """Prometheus metrics while ``metrics.enabled`` and started."""
        self.wyoming: WyomingServer | None = None
        """The Wyoming door while ``wyoming.enabled`` and started."""

    @property
    def on_event(self) -> list[Callable[[PipelineEvent], None]]:
        """Functions called with every pipeline event (append to listen)."""
        return self._hooks.hooks

    @property
    def channels(self) -> dict[str, object]:
        return dict(self.pipeline.runners)

    # ---------------------------------------------------------------- life cycle

    def load(self) -> None:
        """Load voices and enrol avatars (slow; before connecting)."""
        if not self._voices_preloaded:
            self.voices.load_all()
        if self.avatars is not None:
            self.avatars.load_all()
        self.pipeline.build()
        from .integrations import install as install_integrations

        install_integrations(self)  # Home Assistant / Hermes, when enabled (subscribe before start)
        from .transport.play_door import PlayDoor

        PlayDoor(self).install()  # audio in: {channel}/play and play/stream

    def start(self, connect_timeout: float | None = 10.0) -> None:
        if not self.pipeline.runners:
            self.load()
        if self.settings.metrics.enabled and self.metrics is None:
            from .integrations.prometheus import NodeMetrics

            self.metrics = NodeMetrics(self.pipeline, self.transport)
            self.pipeline.add_sink(self.metrics)
            self.metrics.serve(self.settings.metrics.host, self.settings.metrics.port)
        self.pipeline.start()
        self.transport.start()
        self._started = True
        if self.settings.wyoming.enabled and self.wyoming is None:
            from .wyoming import serve

            self.wyoming = serve(self.pipeline, self.settings.wyoming, self.settings.node)
        if connect_timeout and not self.transport.wait_connected(connect_timeout):
            log.warning("broker not reachable yet; retrying in the background")

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        if self.wyoming is not None:
            self.wyoming.stop()
            self.wyoming = None
        self.pipeline.close()
        self.transport.stop()
        if self.metrics is not None:
            self.metrics.close()
            self.pipeline.outlets.sinks.remove(self.metrics)
            self.metrics = None
        log.info("node stopped")

    def _on_connected(self) -> None:
        """(Re-)publish the retained state and avatar of every channel, then run hooks."""
        self.pipeline.announce()
        for hook in self._on_connected_hooks:
            hook()

    # ---------------------------------------------------------------- the NodePort

    def submit(self, cmd: SayCommand | PlayCommand) -> Utterance:
        return self.pipeline.submit(cmd)

    def reject(
        self,
        channel: str,
        utt_id: str | None,
        exc: AvatarError,
        sinks: tuple[PipelineSink, ...] = (),
    ) -> None:
        self.pipeline.reject(channel, utt_id, exc, sinks)

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> bool:
        return self.transport.publish(topic, payload, qos, retain)

    def subscribe(self, topic: str, handler: TopicHandler, qos: int = 1) -> None:
        """Route ``topic`` (exact) to ``handler``; call before :meth:`start`."""
        self.door.extra[topic] = handler
        self.transport.subscriptions.append((topic, qos))

    def on_connected(self, hook: Callable[[], None]) -> None:
        self._on_connected_hooks.append(hook)

    def set_channel_avatar(self, channel: str, avatar: str) -> None:
        self.pipeline.set_channel_avatar(channel, avatar)

    def idle_jpeg(self, channel: str) -> bytes | None:
        """The resting frame the channel shows now (for the web page's first paint)."""
        return self.pipeline.idle_jpeg(channel)
