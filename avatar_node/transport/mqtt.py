"""MQTT transport on paho-mqtt 2.x: will/birth, persistent session, reconnect, re-subscription.

MQTT 5 by default (3.1.1 selectable). A broker that refuses MQTT 5 makes the client fall back to
3.1.1 (logged). Callbacks run on paho's network thread: the handler given here must only decode
and enqueue, never run a model.

Outgoing flow control (``mqtt.max_outgoing`` = N messages):

- QoS 1 (events, audio, retained state): paho keeps them while the broker is away and re-sends them
  after reconnecting. Media (audio) is refused once N are unacknowledged, other events once 2N
  are, end events (finished/cancelled/error/rejected) only at 4N: an utterance's end is not lost
  to a queue full of audio or sentence events. Retained messages published while offline are kept
  latest-per-topic and sent on connect (never queued).
- QoS 0 (frames, snapshots): at most N wait for the socket; a publisher on another thread than
  paho's waits up to ``QOS0_WAIT_S`` for room (back-pressure on the frame stage), then the
  message is dropped and counted in ``dropped``. While offline they are dropped at once.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from ..log import get_logger
from ..settings import MqttSettings
from .topics import Topics

log = get_logger(__name__)

MessageHandler = Callable[[str, bytes], None]
# Reason codes meaning "this broker does not speak MQTT 5" (3.1.1 CONNACK 1, MQTT 5 0x84).
_PROTOCOL_REFUSED = {1, 0x84}
FALLBACK_AFTER_S = 3.0
QOS0_WAIT_S = 5.0
"""Longest wait of a QoS 0 publisher for room in the socket backlog, in seconds."""
# CONNACK codes that mean "wrong credentials / not allowed": retried, never a reason to fall back.
_AUTH_REFUSED = {4, 5, 0x86, 0x87, 0x8C}


_END_EVENT_MARKERS = tuple(
    f'"type":"{t}"'.encode() for t in ("finished", "cancelled", "error", "rejected")
)


def _tier(topic: str, payload: bytes, retain: bool) -> int:
    """How many times ``max_outgoing`` QoS 1 messages may wait before this one is refused."""
    if topic.endswith("/events"):
        head = payload[:200]  # Event JSON starts with id and type
        return 4 if any(m in head for m in _END_EVENT_MARKERS) else 2
    return 2 if retain else 1


def _no_delay(client: paho.Client) -> None:
    """Disable Nagle's algorithm: small events must not wait for the ACK of the previous write."""
    sock = client.socket()
    if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass


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
        self.topics = topics
        self.on_message = on_message
        self.subscriptions = list(subscriptions)
        self.on_connected = on_connected
        self.client_id = client_id or settings.client_id or f"avatar-node-{topics.node_id}"
        self.protocol = settings.protocol
        self.connected = threading.Event()
        """Set once connected *and* every subscription is acknowledged (requests can arrive)."""
        self._online = False
        """The broker accepted our CONNECT (publishing works); under ``_flow``."""
        self._sub_pending: set[int] = set()
        self.reconnects = 0
        self._ever_connected = False
        self._failed_attempts = 0
        self._lock = threading.Lock()
        self._closing = False
        self._refused = False
        """A CONNACK refusal was seen (credentials/ACL): the broker does speak our protocol."""
        self.dropped = 0
        """Outgoing messages dropped by flow control since start."""
        self._flow = threading.Condition()
        self._pending: dict[int, int] = {}
        """mid → QoS of messages paho has not yet written (QoS 0) or had acknowledged (QoS 1)."""
        self._n_pending = [0, 0]
        """How many of ``_pending`` are QoS 0 and QoS 1."""
        self._acked_early: set[int] = set()
        self._retained_offline: dict[str, tuple[bytes, int]] = {}
        self._net_thread: int | None = None
        self.client = self._make_client()

    # ------------------------------------------------------------------ set-up

    def _make_client(self) -> paho.Client:
        s = self.settings
        v5 = self.protocol == 5
        client = paho.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=paho.MQTTv5 if v5 else paho.MQTTv311,
            clean_session=None if v5 else False,
            transport="websockets" if s.transport == "websockets" else "tcp",
        )
        if s.username is not None:
            client.username_pw_set(s.username, s.password)
        if s.tls.enabled:
            client.tls_set(
                ca_certs=s.tls.ca_certs,
                certfile=s.tls.certfile,
                keyfile=s.tls.keyfile,
                cert_reqs=ssl.CERT_REQUIRED,
            )
            client.tls_insecure_set(s.tls.insecure)
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
        """Some 3.1.1-only brokers (amqtt) neither answer nor close an MQTT 5 CONNECT.

        If the broker's port accepts TCP but no CONNACK came, fall back to 3.1.1.
        """
        if self._ever_connected or self._refused or self._closing or self.protocol != 5:
            return  # a CONNACK came (even a refusal): the broker does speak MQTT 5
        try:
            with socket.create_connection((self.settings.host, self.settings.port), timeout=1):
                pass
        except OSError:
            return  # broker simply down: keep MQTT 5 and keep retrying
        self._fall_back()

    def wait_connected(self, timeout: float) -> bool:
        return self.connected.wait(timeout)

    def stop(self, timeout: float = 3.0) -> None:
        """Publish a clean ``offline`` (retained) and disconnect."""
        self._closing = True
        client = self.client
        if self._online:
            info = client.publish(self.topics.status, b"offline", qos=1, retain=True)
            self._track(info.mid, 1)
            try:
                info.wait_for_publish(timeout)
            except (RuntimeError, ValueError):
                pass
        client.disconnect()
        client.loop_stop()
        with self._flow:
            self._online = False
        self.connected.clear()

    # ------------------------------------------------------------------ callbacks

    def _on_connect(self, client, userdata, flags, reason_code, properties=None) -> None:  # noqa: ANN001
        rc = reason_code.value if isinstance(reason_code, ReasonCode) else int(reason_code)
        self._net_thread = threading.get_ident()
        if rc != 0:
            log.warning("mqtt connect refused", reason=str(reason_code), code=rc)
            if rc in _AUTH_REFUSED:
                self._refused = True
            elif self.protocol == 5 and rc in _PROTOCOL_REFUSED:
                self._fall_back()
            return
        _no_delay(client)
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
        self._drop_unwritten_qos0()
        with self._flow:
            retained, self._retained_offline = self._retained_offline, {}
            self._online = True
        self.publish(self.topics.status, b"online", qos=1, retain=True)
        for topic, (payload, qos) in retained.items():
            self.publish(topic, payload, qos, retain=True)
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
        with self._flow:
            self._online = False
            self.connected.clear()
        self._drop_unwritten_qos0()
        if self._closing:
            return
        if not self._ever_connected and self.protocol == 5 and not self._refused:
            # A 3.1.1-only broker may just drop an MQTT 5 CONNECT.
            self._failed_attempts += 1
            if self._failed_attempts >= 2:
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
            self.protocol = 311
        log.warning("broker refused MQTT 5; falling back to MQTT 3.1.1")

        def rebuild() -> None:
            old = self.client
            old.disconnect()
            old.loop_stop()
            with self._flow:  # the old client's queue is gone with it
                self._pending.clear()
                self._n_pending = [0, 0]
                self._acked_early.clear()
            self.client = self._make_client()
            self._failed_attempts = 0
            self.start()

        threading.Thread(target=rebuild, name="mqtt-fallback", daemon=True).start()

    # ------------------------------------------------------------------ publishing

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> bool:
        """Queue a message; False when flow control dropped it (see the module docstring)."""
        limit = self.settings.max_outgoing
        if qos == 0:
            if not self._wait_room_qos0(limit):
                self._drop(topic, "qos0 backlog full" if self._online else "offline")
                return False
        else:
            with self._flow:
                if retain and not self._online:
                    # Only the latest value matters; sent when the connection is back.
                    self._retained_offline[topic] = (payload, qos)
                    return True
                if self._n_pending[1] >= limit * _tier(topic, payload, retain):
                    self._drop(topic, "qos1 queue full")
                    return False
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc not in (paho.MQTT_ERR_SUCCESS, paho.MQTT_ERR_NO_CONN):
            self._drop(topic, paho.error_string(info.rc))
            return False
        if qos == 0 and info.rc == paho.MQTT_ERR_NO_CONN:
            return False  # QoS 0 is not kept while offline
        self._track(info.mid, qos)
        return True

    def backlog(self) -> tuple[int, int]:
        """(QoS 0 messages waiting for the socket, QoS 1 messages not yet acknowledged)."""
        with self._flow:
            return self._n_pending[0], self._n_pending[1]

    def _wait_room_qos0(self, limit: int) -> bool:
        """True when a QoS 0 message may go out now (waiting off paho's thread for room)."""
        on_net_thread = threading.get_ident() == self._net_thread
        with self._flow:
            if not self._online:
                return False
            if self._n_pending[0] < limit:
                return True
            if on_net_thread:
                return False
            self._flow.wait_for(lambda: not self._online or self._n_pending[0] < limit, QOS0_WAIT_S)
            return self._online and self._n_pending[0] < limit

    def _track(self, mid: int, qos: int) -> None:
        with self._flow:
            if mid in self._acked_early:
                self._acked_early.discard(mid)
            elif mid not in self._pending:
                self._pending[mid] = qos
                self._n_pending[min(qos, 1)] += 1

    def _on_publish(self, client, userdata, mid, reason_code=None, properties=None) -> None:  # noqa: ANN001
        with self._flow:
            qos = self._pending.pop(mid, None)
            if qos is None:
                self._acked_early.add(mid)  # written before publish() could record it
            else:
                self._n_pending[min(qos, 1)] -= 1
            self._flow.notify_all()

    def _drop_unwritten_qos0(self) -> None:
        """paho discards unwritten QoS 0 packets on reconnect: forget them (and wake waiters)."""
        with self._flow:
            for mid in [m for m, q in self._pending.items() if q == 0]:
                del self._pending[mid]
            self._n_pending[0] = 0
            self._flow.notify_all()

    def _drop(self, topic: str, why: str) -> None:
        self.dropped += 1
        if self.dropped == 1 or self.dropped % 100 == 0:
            log.warning("mqtt outgoing message dropped", topic=topic, why=why,
                        dropped=self.dropped)  # fmt: skip
