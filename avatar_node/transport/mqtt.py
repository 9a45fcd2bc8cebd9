"""MQTT transport on paho-mqtt 2.x: will/birth, persistent session, reconnect, re-subscription.

MQTT 5 by default (3.1.1 selectable). A broker that refuses MQTT 5 makes the client fall back to
3.1.1 (logged). Callbacks run on paho's network thread: the handler given here must only decode
and enqueue, never run a model.
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
        self.reconnects = 0
        self._ever_connected = False
        self._failed_attempts = 0
        self._lock = threading.Lock()
        self._closing = False
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
        client.max_queued_messages_set(s.max_outgoing)
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
        if self._ever_connected or self._closing or self.protocol != 5:
            return
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
        if self.connected.is_set():
            info = client.publish(self.topics.status, b"offline", qos=1, retain=True)
            try:
                info.wait_for_publish(timeout)
            except (RuntimeError, ValueError):
                pass
        client.disconnect()
        client.loop_stop()
        self.connected.clear()

    # ------------------------------------------------------------------ callbacks

    def _on_connect(self, client, userdata, flags, reason_code, properties=None) -> None:  # noqa: ANN001
        rc = reason_code.value if isinstance(reason_code, ReasonCode) else int(reason_code)
        if rc != 0:
            log.warning("mqtt connect refused", reason=str(reason_code), code=rc)
            if self.protocol == 5 and rc in _PROTOCOL_REFUSED:
                self._fall_back()
            return
        if self._ever_connected:
            self.reconnects += 1
        self._ever_connected = True
        self._failed_attempts = 0
        session = bool(getattr(flags, "session_present", False))
        log.info("mqtt connected", protocol=self.protocol, session_present=session)
        for topic, qos in self.subscriptions:
            client.subscribe(topic, qos=qos)
        client.publish(self.topics.status, b"online", qos=1, retain=True)
        self.connected.set()
        if self.on_connected is not None:
            try:
                self.on_connected()
            except Exception:  # a hook must never kill paho's thread
                log.exception("on_connected hook failed")

    def _on_connect_fail(self, client, userdata) -> None:  # noqa: ANN001
        self._failed_attempts += 1
        log.warning("mqtt connect failed", attempts=self._failed_attempts)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties=None) -> None:  # noqa: ANN001
        was = self.connected.is_set()
        self.connected.clear()
        if self._closing:
            return
        if not self._ever_connected and self.protocol == 5:
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
            self.client = self._make_client()
            self._failed_attempts = 0
            self.start()

        threading.Thread(target=rebuild, name="mqtt-fallback", daemon=True).start()

    # ------------------------------------------------------------------ publishing

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> bool:
        """Queue a message; False when paho's bounded outgoing queue is full."""
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc == paho.MQTT_ERR_QUEUE_SIZE:
            log.warning("mqtt outgoing queue full; message dropped", topic=topic)
            return False
        return True
