"""A small client of the contract: publish ``say`` / stream deltas / control, collect the results.

Used by the CLI (``say``, ``listen``, ``ha-remove``), the chatbot bridges and the tests. The
synchronous :class:`AvatarClient` runs one paho client on its own network thread; :class:`Collector`
gathers one channel's events and media. :class:`AsyncAvatarClient` offers the same for asyncio
code (each blocking call runs in a worker thread, so the event loop never waits on the broker).
"""

from __future__ import annotations

import asyncio
import base64
import json
import queue
import socket
import ssl
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from .media.wav import decode_wav_base64

if TYPE_CHECKING:
    from .settings import MqttSettings, TlsSettings

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


class AvatarClient:
    """Connects to the broker and talks to one node's channels."""

    def __init__(self, host: str = "127.0.0.1", port: int = 1883, prefix: str = "avatar", *,
                 username: str | None = None, password: str | None = None,
                 protocol: int = 5, transport: str = "tcp",
                 tls: TlsSettings | None = None):  # fmt: skip
        self.prefix = prefix
        self._client = paho.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"avatar-client-{uuid.uuid4().hex[:8]}",
            protocol=paho.MQTTv5 if protocol == 5 else paho.MQTTv311,
            transport=transport,  # type: ignore[arg-type]
        )
        if username is not None:
            self._client.username_pw_set(username, password)
        if tls is not None and tls.enabled:
            self._client.tls_set(ca_certs=tls.ca_certs, certfile=tls.certfile,
                                 keyfile=tls.keyfile, cert_reqs=ssl.CERT_REQUIRED)  # fmt: skip
            self._client.tls_insecure_set(tls.insecure)
        self._connected = threading.Event()
        self._subscribed: dict[int, threading.Event] = {}
        self._early_acks: set[int] = set()
        self._sub_lock = threading.Lock()
        self._handlers: list[Any] = []
        self._collectors: dict[str, Collector] = {}
        self._refused: str | None = None
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self._client.connect(host, port, keepalive=30)
        self._client.loop_start()
        if not self._connected.wait(10) or self._refused is not None:
            self._client.loop_stop()
            why = f": {self._refused}" if self._refused else ""
            raise ConnectionError(f"cannot connect to the broker at {host}:{port}{why}")

    @classmethod
    def from_settings(cls, mqtt: MqttSettings) -> AvatarClient:
        """A client for the broker, credentials, TLS and topic prefix of a node's configuration."""
        return cls(mqtt.host, mqtt.port, mqtt.topic_prefix, username=mqtt.username,
                   password=mqtt.password, protocol=mqtt.protocol, transport=mqtt.transport,
                   tls=mqtt.tls)  # fmt: skip

    def _on_connect(self, client, userdata, flags, reason_code, properties=None) -> None:  # noqa: ANN001
        if getattr(reason_code, "is_failure", False):
            self._refused = str(reason_code)
        sock = client.socket()
        if isinstance(sock, socket.socket):  # small requests go out at once (no Nagle delay)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._connected.set()

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def __enter__(self) -> AvatarClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- publishing

    def topic(self, channel: str, leaf: str) -> str:
        return f"{self.prefix}/{channel}/{leaf}"

    def publish(self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False) -> None:
        self._client.publish(topic, payload, qos=qos, retain=retain).wait_for_publish(10)

    def say(self, text: str, channel: str = "default", **options: Any) -> str:
        """Publish a SayRequest; returns its id."""
        req = {"text": text, "id": options.pop("id", None) or uuid.uuid4().hex, **options}
        self.publish(self.topic(channel, "say"), json.dumps(req))
        return str(req["id"])

    def stream(self, utt_id: str, delta: str, channel: str = "default", final: bool = False,
               **options: Any) -> None:  # fmt: skip
        msg = {"id": utt_id, "delta": delta, "final": final, **options}
        self.publish(self.topic(channel, "say/stream"), json.dumps(msg))

    def stream_text(self, deltas: Iterable[str], channel: str = "default",
                    utt_id: str | None = None, **options: Any) -> str:  # fmt: skip
        """Forward text pieces as they come (a chatbot's tokens), then ``final``; returns the id.

        ``options`` (SayRequest fields such as ``voice`` or ``priority``) go with the first delta.
        Empty pieces are skipped; the final message is sent even when the iterator raises.
        """
        utt_id = utt_id or uuid.uuid4().hex
        first = True
        try:
            for delta in deltas:
                if not delta:
                    continue
                self.stream(utt_id, delta, channel, **(options if first else {}))
                first = False
        finally:
            self.stream(utt_id, "", channel, final=True, **(options if first else {}))
        return utt_id

    def control(self, action: str, utt_id: str | None = None, channel: str = "default") -> None:
        self.publish(self.topic(channel, "control"), json.dumps({"action": action, "id": utt_id}))

    def say_and_wait(self, text: str, channel: str = "default", timeout: float = 120.0,
                     **options: Any) -> Utterance:  # fmt: skip
        """Publish a SayRequest and wait for its end event (audio collected, frames not)."""
        col = self._collector_for(channel)
        return col.wait_end(self.say(text, channel=channel, **options), timeout)

    def _collector_for(self, channel: str) -> Collector:
        """One shared collector per channel (subscribed once, reused by the helpers)."""
        if channel not in self._collectors:
            self._collectors[channel] = Collector(self, channel, frames=False)
        return self._collectors[channel]

    # ---------------------------------------------------------------- subscribing

    def subscribe(self, topic: str, handler: Any, qos: int = 1) -> None:
        """Call ``handler(topic, payload)`` for messages on ``topic``; waits for the SUBACK."""
        self._handlers.append((topic, handler))
        done = threading.Event()
        _, sub_mid = self._client.subscribe(topic, qos=qos)
        mid = int(sub_mid or 0)
        with self._sub_lock:  # the SUBACK may already have been handled on paho's thread
            if mid in self._early_acks:
                self._early_acks.discard(mid)
                done.set()
            else:
                self._subscribed[mid] = done
        done.wait(10)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties=None) -> None:  # noqa: ANN001
        with self._sub_lock:
            ev = self._subscribed.pop(mid, None) if mid is not None else None
            if ev is None:
                self._early_acks.add(mid)
        if ev is not None:
            ev.set()

    def _on_message(self, client, userdata, msg) -> None:  # noqa: ANN001
        for pattern, handler in list(self._handlers):
            if paho.topic_matches_sub(pattern, msg.topic):
                handler(msg.topic, msg.payload)

    def collector(self, channel: str = "default", frames: bool = True) -> Collector:
        return Collector(self, channel, frames)


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


class AsyncAvatarClient:
    """asyncio face of :class:`AvatarClient`: ``say``, ``stream``, ``control`` and ``wait_end``.

    >>> async with await AsyncAvatarClient.connect("127.0.0.1", 1883) as c:
    ...     utt = await c.wait_end(await c.say("Hello"))

    Events are collected from the moment a channel is first used, so ``wait_end`` after ``say``
    never misses the end event.
    """

    def __init__(self, client: AvatarClient):
        self.sync = client
        self._collectors: dict[str, Collector] = {}

    @classmethod
    async def connect(cls, host: str = "127.0.0.1", port: int = 1883, prefix: str = "avatar",
                      **kwargs: Any) -> AsyncAvatarClient:  # fmt: skip
        client = await asyncio.to_thread(AvatarClient, host, port, prefix, **kwargs)
        return cls(client)

    async def close(self) -> None:
        await asyncio.to_thread(self.sync.close)

    async def __aenter__(self) -> AsyncAvatarClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def collector(self, channel: str = "default", frames: bool = False) -> Collector:
        """The channel's collector (created and subscribed on first use)."""
        if channel not in self._collectors:
            self._collectors[channel] = await asyncio.to_thread(
                Collector, self.sync, channel, frames
            )
        return self._collectors[channel]

    async def say(self, text: str, channel: str = "default", **options: Any) -> str:
        await self.collector(channel)
        return await asyncio.to_thread(lambda: self.sync.say(text, channel=channel, **options))

    async def stream(self, utt_id: str, delta: str, channel: str = "default", final: bool = False,
                     **options: Any) -> None:  # fmt: skip
        await self.collector(channel)
        await asyncio.to_thread(
            lambda: self.sync.stream(utt_id, delta, channel, final=final, **options)
        )

    async def control(self, action: str, utt_id: str | None = None,
                      channel: str = "default") -> None:  # fmt: skip
        await asyncio.to_thread(self.sync.control, action, utt_id, channel)

    async def wait_end(self, utt_id: str, channel: str = "default",
                       timeout: float = 60.0) -> Utterance:  # fmt: skip
        """Wait (without blocking the loop) for the end event of ``utt_id`` on ``channel``."""
        col = await self.collector(channel)
        return await asyncio.to_thread(col.wait_end, utt_id, timeout)
