"""MQTT transport on paho-mqtt 2.x: will/birth, persistent session, reconnect, re-subscription.

MQTT 5 by default (3.1.1 selectable). A broker that refuses MQTT 5 makes the client fall back to
3.1.1 (logged; the rule is :class:`~.connection.ProtocolFallback`, shared with the client).
Callbacks run on paho's network thread: the handler given here must only decode and enqueue,
never run a model.

Outgoing flow control (``mqtt.max_outgoing``) is in :mod:`.flow`: the caller picks a message's
:class:`~.flow.Priority`. QoS 1 messages are kept by paho while the broker is away and re-sent
after reconnecting; retained messages published while offline are kept latest-per-topic and sent
on connect (never queued). QoS 0 messages are dropped while offline and counted in ``dropped``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ..log import get_logger
from ..settings import MqttSettings
from ..wire.topics import Topics
from .connection import (
    FALLBACK_AFTER_S,
    BrokerOptions,
    ProtocolFallback,
    build_client,
    connack_code,
    no_delay,
)
from .flow import QOS0_WAIT_S, OutgoingFlow, Priority

__all__ = ["FALLBACK_AFTER_S", "QOS0_WAIT_S", "MessageHandler", "MqttTransport", "Priority"]

log = get_logger(__name__)

MessageHandler = Callable[[str, bytes], None]


class MqttTransport:
    """One paho client with the node's session, will and subscriptions."""

    def __init__(
        self,
        settings: MqttSettings,
        topics: Topics,
        on_message: MessageHandler,
        subscriptions: list[tuple[str, int]],
        on_connected: Callable[[], None] | None = None,
        client_id: str | None = None,
    ):
        self.settings = settings
        self.options = BrokerOptions.from_settings(settings)
        self.topics = topics
        self.on_message = on_message
        self.subscriptions = list(subscriptions)
        self.on_connected = on_connected
        self.client_id = client_id or settings.client_id or f"avatar-node-{topics.node_id}"
        self._fallback = ProtocolFallback(settings.protocol)
        self.connected = threading.Event()
        """Set once connected *and* every subscription is acknowledged (requests can arrive)."""
        self._sub_pending: set[int] = set()
        self.reconnects = 0
        self._ever_connected = False
        self._failed_attempts = 0
        self._lock = threading.Lock()
        self._closing = False
        self.dropped = 0
        """Outgoing messages dropped by flow control since start."""
        self._flow = OutgoingFlow(settings.max_outgoing)
        self._retained_offline: dict[str, tuple[bytes, int]] = {}
        self._net_thread: int | None = None
        self.client = self._make_client()

    @property
    def protocol(self) -> int:
        """The MQTT protocol in use: 5, or 311 (configured, or after a fallback)."""
        return self._fallback.protocol

    # ------------------------------------------------------------------ set-up

    def _make_client(self) -> paho.Client:
        s = self.settings
        client = build_client(self.options, self.client_id, self.protocol, persistent=True)
        client.will_set(self.topics.status, b"offline", qos=1, retain=True)
        client.reconnect_delay_set(
            max(1, round(s.reconnect_min_s)), max(1, round(s.reconnect_max_s))
        )
        # Bounded by publish() (with a reserve for events); paho's own bound would not tell apart
        # an end event from an audio chunk.
        client.max_queued_messages_set(0)
        client.on_publish = self._on_publish
        client.on_subscribe = self._on_subscribe
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_connect_fail = self._on_connect_fail
        return client

    def _connect_kwargs(self) -> dict[str, object]:
        if self.protocol == 5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = self.settings.session_expiry_s
            return {"clean_start": False, "properties": props}
        return {}

    def start(self) -> None:
        """Connect in the background; reconnects forever with back-off until :meth:`stop`."""
        log.info(
            "mqtt connecting",
            host=self.settings.host,
            port=self.settings.port,
            protocol=self.protocol,
            client_id=self.client_id,
        )
        self.client.connect_async(
            self.settings.host,
            self.settings.port,
            keepalive=self.settings.keepalive_s,
            **self._connect_kwargs(),  # type: ignore[arg-type]
        )
        self.client.loop_start()
        if self.protocol == 5:
            timer = threading.Timer(FALLBACK_AFTER_S, self._check_silent_refusal)
            timer.daemon = True
            timer.start()

    def _check_silent_refusal(self) -> None:
        """Some 3.1.1-only brokers (amqtt) neither answer nor close an MQTT 5 CONNECT."""
        if not self._closing and self._fallback.on_silence(self.settings.host, self.settings.port):
            self._fall_back()

    def wait_connected(self, timeout: float) -> bool:
        return self.connected.wait(timeout)

    def stop(self, timeout: float = 3.0) -> None:
        """Publish a clean ``offline`` (retained) and disconnect."""
        self._closing = True
        client = self.client
        if self._flow.online:
            info = client.publish(self.topics.status, b"offline", qos=1, retain=True)
            self._flow.track(info.mid, 1)
            try:
                info.wait_for_publish(timeout)
            except (RuntimeError, ValueError):
                pass
        client.disconnect()
        client.loop_stop()
        with self._flow.cond:
            self._flow.online = False
        self.connected.clear()

    # ------------------------------------------------------------------ callbacks

    def _on_connect(self, client, userdata, flags, reason_code, properties=None) -> None:  # noqa: ANN001
        rc = connack_code(reason_code)
        self._net_thread = threading.get_ident()
        if self._fallback.on_connack(rc):
            self._fall_back()
            return
        if rc != 0:
            log.warning("mqtt connect refused", reason=str(reason_code), code=rc)
            return
        no_delay(client)
        if self._ever_connected:
            self.reconnects += 1
        self._ever_connected = True
        self._failed_attempts = 0
        session = bool(getattr(flags, "session_present", False))
        log.info("mqtt connected", protocol=self.protocol, session_present=session)
        with self._lock:
            self._sub_pending = set()
            for topic, qos in self.subscriptions:
                _, mid = client.subscribe(topic, qos=qos)
                if mid is not None:
                    self._sub_pending.add(mid)
        self._flow.forget_qos0()
        with self._flow.cond:
            retained, self._retained_offline = self._retained_offline, {}
            self._flow.online = True
        self.publish(self.topics.status, b"online", qos=1, retain=True, priority=Priority.EVENT)
        for topic, (payload, qos) in retained.items():
            self.publish(topic, payload, qos, retain=True, priority=Priority.EVENT)
        if not self._sub_pending:
            self._ready()

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties=None) -> None:  # noqa: ANN001
        for rc in reason_codes if isinstance(reason_codes, list) else [reason_codes]:
            if getattr(rc, "is_failure", False):
                log.warning("mqtt subscription refused (broker ACL?)", reason=str(rc))
        with self._lock:
            if mid not in self._sub_pending:
                return
            self._sub_pending.discard(mid)
            if self._sub_pending:
                return
        self._ready()

    def _ready(self) -> None:
        """Subscriptions are active: requests can arrive; re-publish state through the hook."""
        if self.on_connected is not None:
            try:
                self.on_connected()
            except Exception:  # a hook must never kill paho's thread
                log.exception("on_connected hook failed")
        self.connected.set()

    def _on_connect_fail(self, client, userdata) -> None:  # noqa: ANN001
        self._failed_attempts += 1
        log.warning("mqtt connect failed", attempts=self._failed_attempts)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties=None) -> None:  # noqa: ANN001
        was = self.connected.is_set()
        with self._flow.cond:
            self._flow.online = False
            self.connected.clear()
        self._flow.forget_qos0()
        if self._closing:
            return
        if self._fallback.on_dropped():  # a 3.1.1-only broker may just drop an MQTT 5 CONNECT
            self._fall_back()
            return
        if was:
            log.warning("mqtt disconnected; reconnecting with back-off", reason=str(reason_code))

    def _on_message(self, client, userdata, msg) -> None:  # noqa: ANN001
        try:
            self.on_message(msg.topic, msg.payload)
        except Exception:
            log.exception("inbound handler failed", topic=msg.topic)

    def _fall_back(self) -> None:
        """Rebuild the client as MQTT 3.1.1 (on another thread: paho's own thread is ours now)."""
        with self._lock:
            if self.protocol != 5 or self._closing:
                return
            self._fallback.fall_back()
        log.warning("broker refused MQTT 5; falling back to MQTT 3.1.1")

        def rebuild() -> None:
            old = self.client
            old.disconnect()
            old.loop_stop()
            self._flow.reset()  # the old client's queue is gone with it
            self.client = self._make_client()
            self._failed_attempts = 0
            self.start()

        threading.Thread(target=rebuild, name="mqtt-fallback", daemon=True).start()

    # ------------------------------------------------------------------ publishing

    def publish(
        self,
        topic: str,
        payload: bytes,
        qos: int = 1,
        retain: bool = False,
        priority: Priority = Priority.EVENT,
    ) -> bool:
        """Queue a message; False when flow control dropped it (``priority``: its QoS 1 tier)."""
        flow = self._flow
        if qos == 0:
            if not flow.wait_room_qos0(threading.get_ident() == self._net_thread):
                self._drop(topic, "qos0 backlog full" if flow.online else "offline")
                return False
        else:
            with flow.cond:
                if retain and not flow.online:
                    # Only the latest value matters; sent when the connection is back.
                    self._retained_offline[topic] = (payload, qos)
                    return True
                if not flow.room_qos1(priority):
                    self._drop(topic, "qos1 queue full")
                    return False
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc not in (paho.MQTT_ERR_SUCCESS, paho.MQTT_ERR_NO_CONN):
            self._drop(topic, paho.error_string(info.rc))
            return False
        if qos == 0 and info.rc == paho.MQTT_ERR_NO_CONN:
            return False  # QoS 0 is not kept while offline
        flow.track(info.mid, qos)
        return True

    def backlog(self) -> tuple[int, int]:
        """(QoS 0 messages waiting for the socket, QoS 1 messages not yet acknowledged)."""
        return self._flow.backlog()

    def _on_publish(self, client, userdata, mid, reason_code=None, properties=None) -> None:  # noqa: ANN001
        self._flow.written(mid)

    def _drop(self, topic: str, why: str) -> None:
        self.dropped += 1
        if self.dropped == 1 or self.dropped % 100 == 0:
            log.warning("mqtt outgoing message dropped", topic=topic, why=why, dropped=self.dropped)
