"""Connection set-up shared by the node's transport and :class:`~avatar_node.client.AvatarClient`.

Written once here: the paho client (credentials, TLS, WebSockets), Nagle switched off once the
socket exists, and the rule for falling back from MQTT 5 to 3.1.1 (:class:`ProtocolFallback`).
A broker that refuses MQTT 5 in its CONNACK, drops an MQTT 5 CONNECT twice without answering, or
accepts TCP but stays silent for :data:`FALLBACK_AFTER_S` (amqtt) is spoken to in 3.1.1 instead.
A refusal for credentials or ACLs never triggers the fallback: that broker does speak MQTT 5.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

if TYPE_CHECKING:
    from ..settings import MqttSettings, TlsSettings

FALLBACK_AFTER_S = 3.0
"""How long an MQTT 5 CONNECT may go unanswered (TCP open) before 3.1.1 is tried."""
PROTOCOL_REFUSED = frozenset({1, 0x84})
"""CONNACK codes meaning "this broker does not speak MQTT 5" (3.1.1 code 1, MQTT 5 0x84)."""
AUTH_REFUSED = frozenset({4, 5, 0x86, 0x87, 0x8C})
"""CONNACK codes meaning "wrong credentials / not allowed": never a reason to fall back."""


@dataclass(frozen=True)
class BrokerOptions:
    """Where and how to connect: the part of ``mqtt.*`` both node and client need."""

    host: str = "127.0.0.1"
    port: int = 1883
    transport: str = "tcp"
    username: str | None = None
    password: str | None = None
    tls: TlsSettings | None = None
    keepalive_s: int = 30

    @classmethod
    def from_settings(cls, mqtt: MqttSettings) -> BrokerOptions:
        return cls(
            mqtt.host,
            mqtt.port,
            mqtt.transport,
            mqtt.username,
            mqtt.password,
            mqtt.tls,
            mqtt.keepalive_s,
        )


def build_client(
    opts: BrokerOptions, client_id: str, protocol: int, *, persistent: bool = False
) -> paho.Client:
    """A paho client for ``opts`` speaking MQTT ``protocol`` (5 or 311).

    ``persistent``: keep the session on the broker (3.1.1 ``clean_session=False``; with MQTT 5
    the caller sends ``clean_start=False`` and a session expiry on CONNECT).
    """
    v5 = protocol == 5
    client = paho.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=paho.MQTTv5 if v5 else paho.MQTTv311,
        clean_session=None if v5 else not persistent,
        transport="websockets" if opts.transport == "websockets" else "tcp",
    )
    if opts.username is not None:
        client.username_pw_set(opts.username, opts.password)
    tls = opts.tls
    if tls is not None and tls.enabled:
        client.tls_set(
            ca_certs=tls.ca_certs,
            certfile=tls.certfile,
            keyfile=tls.keyfile,
            cert_reqs=ssl.CERT_REQUIRED,
        )
        client.tls_insecure_set(tls.insecure)
    return client


def no_delay(client: paho.Client) -> None:
    """Disable Nagle's algorithm: small events must not wait for the ACK of the previous write."""
    sock = client.socket()
    if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass


def connack_code(reason_code: Any) -> int:
    """The numeric CONNACK code of paho's ``reason_code`` (a ReasonCode or an int)."""
    return reason_code.value if isinstance(reason_code, ReasonCode) else int(reason_code)


def tcp_accepts(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when something accepts a TCP connection on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class ProtocolFallback:
    """Decides, from what a broker did with an MQTT 5 CONNECT, whether to retry in 3.1.1.

    Each ``on_*`` method returns True when the caller should rebuild its client as 3.1.1 (and
    then calls :meth:`fall_back`). Used as is by the node's transport and by the client.
    """

    def __init__(self, protocol: int):
        self.protocol = protocol
        self.connected_once = False
        """A CONNACK accepted us: the protocol is settled for good."""
        self.refused = False
        """A credentials/ACL refusal was seen: the broker does speak this protocol."""
        self._drops = 0

    def _undecided(self) -> bool:
        return self.protocol == 5 and not self.connected_once and not self.refused

    def on_connack(self, code: int) -> bool:
        if code == 0:
            self.connected_once = True
            self._drops = 0
            return False
        if code in AUTH_REFUSED:
            self.refused = True
            return False
        return self._undecided() and code in PROTOCOL_REFUSED

    def on_dropped(self) -> bool:
        """The connection closed before any CONNACK (a 3.1.1-only broker may just hang up)."""
        if not self._undecided():
            return False
        self._drops += 1
        return self._drops >= 2

    def on_silence(self, host: str, port: int) -> bool:
        """No CONNACK after :data:`FALLBACK_AFTER_S`: fall back if the port does accept TCP."""
        return self._undecided() and tcp_accepts(host, port)

    def fall_back(self) -> None:
        self.protocol = 311
        self._drops = 0
