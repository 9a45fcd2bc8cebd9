"""Optional Prometheus metrics of a running node (``metrics.enabled``), served over HTTP.

Counters come from the pipeline events it receives as a sink; gauges are
read when Prometheus scrapes: queue depth and state per channel, the last utterance's time to first
audio / first frame, lip-sync fps and real-time factor (the same figures as the retained
``state``), and the transport's reconnect count. Each :class:`NodeMetrics` has its own registry,
so several nodes in one process (tests) do not collide.

Exposed names (``avatar_`` prefix):

- ``avatar_utterances_total{channel,end}``: accepted utterances by end (finished/cancelled/error)
- ``avatar_requests_total{channel}``: accepted requests (``queued`` events)
- ``avatar_errors_total{channel,code}``: ``rejected`` and ``error`` events by contract code
- ``avatar_time_to_first_audio_seconds{channel}``: histogram, ``queued`` → first audio chunk
- ``avatar_queue_depth{channel}``, ``avatar_speaking{channel}``
- ``avatar_first_audio_ms{channel}``, ``avatar_first_frame_ms{channel}``,
  ``avatar_lipsync_fps{channel}``, ``avatar_rtf{channel}``: last utterance
- ``avatar_mqtt_reconnects_total``, ``avatar_mqtt_connected``
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import start_http_server
from prometheus_client.registry import Collector

from ..log import get_logger
from ..pipeline.items import END_KINDS, EventKind, PipelineEvent
from ..pipeline.sink import NullSink

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from ..pipeline.service import Pipeline
    from ..transport.mqtt import MqttTransport

log = get_logger(__name__)

MAX_PENDING = 10_000
"""Utterances whose first audio is still awaited; beyond this the oldest are forgotten."""
FIRST_AUDIO_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 60.0)
"""Histogram buckets of time to first audio, in seconds."""


class _LiveGauges(Collector):
    """Gauges read from the node at scrape time (nothing to keep in step)."""

    def __init__(self, pipeline: Pipeline, transport: MqttTransport):
        self.pipeline = pipeline
        self.transport = transport

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        depth = GaugeMetricFamily("avatar_queue_depth", "Requests waiting", labels=["channel"])
        speaking = GaugeMetricFamily(
            "avatar_speaking", "1 while the channel speaks", labels=["channel"]
        )
        last = {
            "first_audio_ms": GaugeMetricFamily(
                "avatar_first_audio_ms", "Last utterance: ms to first audio", labels=["channel"]
            ),
            "first_frame_ms": GaugeMetricFamily(
                "avatar_first_frame_ms", "Last utterance: ms to first frame", labels=["channel"]
            ),
            "lipsync_fps": GaugeMetricFamily(
                "avatar_lipsync_fps",
                "Last utterance: lip-sync frames per second",
                labels=["channel"],
            ),
            "rtf": GaugeMetricFamily(
                "avatar_rtf", "Last utterance: TTS real-time factor", labels=["channel"]
            ),
        }
        for name, runner in self.pipeline.runners.items():
            depth.add_metric([name], len(runner.queue))
            status = runner.status
            speaking.add_metric([name], 1.0 if status.current is not None else 0.0)
            for field, family in last.items():
                value = getattr(status.metrics, field)
                if value is not None:
                    family.add_metric([name], float(value))
        yield depth
        yield speaking
        yield from last.values()
        reconnects = CounterMetricFamily(
            "avatar_mqtt_reconnects", "Reconnections to the broker since start"
        )
        reconnects.add_metric([], self.transport.reconnects)
        yield reconnects
        connected = GaugeMetricFamily("avatar_mqtt_connected", "1 while connected to the broker")
        connected.add_metric([], 1.0 if self.transport.connected.is_set() else 0.0)
        yield connected


class NodeMetrics(NullSink):
    """Prometheus metrics of one node, a pipeline sink; :meth:`serve` exposes them over HTTP."""

    def __init__(
        self,
        pipeline: Pipeline,
        transport: MqttTransport,
        registry: CollectorRegistry | None = None,
    ):
        self.registry = registry if registry is not None else CollectorRegistry()
        self.utterances = Counter(
            "avatar_utterances",
            "Accepted utterances by end type",
            ["channel", "end"],
            registry=self.registry,
        )
        self.requests = Counter(
            "avatar_requests", "Accepted requests (queued)", ["channel"], registry=self.registry
        )
        self.errors = Counter(
            "avatar_errors",
            "Rejected requests and failed utterances by error code",
            ["channel", "code"],
            registry=self.registry,
        )
        self.first_audio = Histogram(
            "avatar_time_to_first_audio_seconds",
            "From queued to the first audio chunk",
            ["channel"],
            buckets=FIRST_AUDIO_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_LiveGauges(pipeline, transport))
        self._queued_at: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int | None:
        """The port the endpoint listens on (useful with port 0), None when not serving."""
        return int(self._server.server_port) if self._server is not None else None

    def event(self, event: PipelineEvent) -> None:
        """Count one event (called on the pipeline's thread; must be cheap)."""
        channel, kind = event.channel, event.kind
        key = (channel, str(event.id))
        if kind is EventKind.QUEUED:
            self.requests.labels(channel).inc()
            with self._lock:
                if len(self._queued_at) >= MAX_PENDING:
                    self._queued_at.pop(next(iter(self._queued_at)))
                self._queued_at[key] = time.monotonic()
        elif kind is EventKind.SENTENCE:
            with self._lock:
                t0 = self._queued_at.pop(key, None)
            if t0 is not None:
                self.first_audio.labels(channel).observe(time.monotonic() - t0)
        elif kind in END_KINDS:
            self.utterances.labels(channel, kind.value).inc()
            with self._lock:
                self._queued_at.pop(key, None)
        if kind in (EventKind.REJECTED, EventKind.ERROR):
            self.errors.labels(channel, event.code or "engine_error").inc()

    def serve(self, host: str = "127.0.0.1", port: int = 9464) -> None:
        """Start the HTTP endpoint on a daemon thread (``port`` 0: any free port)."""
        self._server, self._thread = start_http_server(port, addr=host, registry=self.registry)
        log.info("metrics endpoint", url=f"http://{host}:{self.port}/metrics")

    def close(self) -> None:
        """Stop the HTTP endpoint."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(2)
            self._thread = None
