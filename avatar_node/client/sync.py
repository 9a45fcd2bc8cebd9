"""The synchronous client: one paho client on its own network thread."""

from __future__ import annotations

import json
import ssl
import threading
import time
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import paho.mqtt.client as paho

from ..errors import BrokerUnavailable
from ..transport.connection import (
    FALLBACK_AFTER_S,
    BrokerOptions,
    ProtocolFallback,
    build_client,
    connack_code,
    no_delay,
)
from ..wire.topics import Topics
from .collector import Collector, Utterance

if TYPE_CHECKING:
    from ..settings import MqttSettings, TlsSettings

CONNECT_TIMEOUT_S = 10.0


class _Attempt:
    """What became of one CONNECT: a CONNACK code, a drop before any CONNACK, or silence."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.code: int | None = None
        self.reason = ""

    def on_connect(self, client, userdata, flags, reason_code, properties=None) -> None:  # noqa: ANN001
        self.code, self.reason = connack_code(reason_code), str(reason_code)
        if self.code == 0:
            no_delay(client)  # small requests go out at once
        self.done.set()

    def on_disconnect(self, client, userdata, flags, reason_code, properties=None) -> None:  # noqa: ANN001
        self.done.set()  # code stays None if no CONNACK came


class AvatarClient:
    """Connects to the broker and talks to one node's channels.

    Raises :class:`~avatar_node.errors.BrokerUnavailable` (a ``ConnectionError``) when the
    broker cannot be reached or refuses us.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 1883,
        prefix: str = "avatar",
        *,
        username: str | None = None,
        password: str | None = None,
        protocol: int = 5,
        transport: str = "tcp",
        tls: TlsSettings | None = None,
    ):
        self.prefix = prefix
        self.topics = Topics(prefix, "")
        self._options = BrokerOptions(host, port, transport, username, password, tls)
        self._client_id = f"avatar-client-{uuid.uuid4().hex[:8]}"
        self._subscribed: dict[int, threading.Event] = {}
        self._early_acks: set[int] = set()
        self._sub_lock = threading.Lock()
        self._handlers: list[Any] = []
        self._collectors: dict[str, Collector] = {}
        self._client = self._connect(ProtocolFallback(protocol))
        self.protocol = 5 if self._client.protocol == paho.MQTTv5 else 311

    def _connect(self, fallback: ProtocolFallback) -> paho.Client:
        """CONNECT, retrying in 3.1.1 when the broker does not speak MQTT 5 (as the node does)."""
        o = self._options
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        while True:
            client = build_client(o, self._client_id, fallback.protocol)
            attempt = _Attempt()
            client.on_connect = attempt.on_connect
            client.on_disconnect = attempt.on_disconnect
            client.on_message = self._on_message
            client.on_subscribe = self._on_subscribe
            try:
                client.connect(o.host, o.port, keepalive=o.keepalive_s)
            except (OSError, ssl.SSLError) as exc:  # refused, unreachable, TLS, name lookup
                raise BrokerUnavailable(o.host, o.port, _describe(exc)) from exc
            client.loop_start()
            wait = deadline - time.monotonic()
            if fallback.protocol == 5:
                wait = min(wait, FALLBACK_AFTER_S)
            attempt.done.wait(max(wait, 0.1))
            if attempt.code == 0:
                client.on_disconnect = None
                return client
            client.loop_stop()
            client.disconnect()
            if attempt.code is not None:  # a CONNACK refusal
                switch, retry = fallback.on_connack(attempt.code), False
            elif attempt.done.is_set():  # dropped before any CONNACK: MQTT 5 is tried twice
                switch, retry = fallback.on_dropped(), fallback.protocol == 5
            else:  # no answer at all (amqtt and MQTT 5)
                switch, retry = fallback.on_silence(o.host, o.port), False
            if switch:
                fallback.fall_back()
            elif not retry or time.monotonic() >= deadline:
                why = attempt.reason or ("dropped" if attempt.done.is_set() else "no answer")
                raise BrokerUnavailable(o.host, o.port, why)

    @classmethod
    def from_settings(cls, mqtt: MqttSettings) -> AvatarClient:
        """A client for the broker, credentials, TLS and topic prefix of a node's configuration."""
        return cls(
            mqtt.host,
            mqtt.port,
            mqtt.topic_prefix,
            username=mqtt.username,
            password=mqtt.password,
            protocol=mqtt.protocol,
            transport=mqtt.transport,
            tls=mqtt.tls,
        )

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def __enter__(self) -> AvatarClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- publishing

    def topic(self, channel: str, leaf: str) -> str:
        return self.topics.channel(channel, leaf)

    def publish(self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False) -> None:
        self._client.publish(topic, payload, qos=qos, retain=retain).wait_for_publish(10)

    def say(self, text: str, channel: str = "default", **options: Any) -> str:
        """Publish a SayRequest; returns its id."""
        req = {"text": text, "id": options.pop("id", None) or uuid.uuid4().hex, **options}
        self.publish(self.topic(channel, "say"), json.dumps(req))
        return str(req["id"])

    def stream(
        self, utt_id: str, delta: str, channel: str = "default", final: bool = False, **options: Any
    ) -> None:
        msg = {"id": utt_id, "delta": delta, "final": final, **options}
        self.publish(self.topic(channel, "say/stream"), json.dumps(msg))

    def stream_text(
        self,
        deltas: Iterable[str],
        channel: str = "default",
        utt_id: str | None = None,
        **options: Any,
    ) -> str:
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

    def say_and_wait(
        self, text: str, channel: str = "default", timeout: float = 120.0, **options: Any
    ) -> Utterance:
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


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (no broker listens there)"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
