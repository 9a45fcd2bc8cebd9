"""Home Assistant MQTT device discovery: one HA device per node, five entities per channel.

The node publishes one retained *device discovery* message at
``{discovery_prefix}/device/{node_id}/config`` (HA 2024.11+). Its components, per channel:

===========  =========================================================================
``notify``   ``notify.send_message`` publishes the plain message to ``{prefix}/{ch}/say``
``button``   publishes ``{"action": "stop"}`` to ``{prefix}/{ch}/control``
``sensor``   ``idle`` / ``speaking`` from the retained ``state``; the whole state as attributes
``select``   the channel's avatar; command ``{prefix}/{ch}/avatar/set``, state from ``avatar``
``image``    the JPEGs on ``{prefix}/{ch}/snapshot``
===========  =========================================================================

Availability is the node's own status topic (its will makes HA show the entities unavailable).
Unique ids are derived from the topic prefix, node id and channel only, so they stay stable across
restarts. The message is re-published after every (re)connect and whenever HA's birth message
(``homeassistant/status`` = ``online``) arrives. An empty retained
payload on :func:`discovery_topic` deletes the device (``avatar-node ha-remove``).
"""

from __future__ import annotations

import functools
import json
import random
import re
import threading
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..errors import AvatarError, UnknownAvatar
from ..log import get_logger
from ..settings import Settings
from ..wire.topics import Topics

if TYPE_CHECKING:
    from .port import NodePort

log = get_logger(__name__)

ORIGIN_NAME = "avatar-node"
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
AVATAR_SET_LEAF = "avatar/set"
"""Leaf of the topic the ``select`` entity publishes the chosen avatar name to."""


def object_id(settings: Settings) -> str:
    """``<object_id>`` of the discovery topic: the node id, limited to HA's ``[A-Za-z0-9_-]``."""
    return _UNSAFE.sub("_", settings.node.node_id)


def discovery_topic(settings: Settings) -> str:
    return f"{settings.homeassistant.discovery_prefix}/device/{object_id(settings)}/config"


def _uid_base(settings: Settings) -> str:
    """Stable id of this node: topic prefix + node id (two nodes on one broker never collide)."""
    return _UNSAFE.sub("_", f"{settings.mqtt.topic_prefix}_{settings.node.node_id}")


def _channel_components(settings: Settings, channel: str, base: str) -> dict[str, dict[str, Any]]:
    topics = Topics(settings.mqtt.topic_prefix, settings.node.node_id)
    suffix = "" if len(settings.node.channels) == 1 else f" {channel}"
    uid = f"{base}_{channel}"
    return {
        f"{channel}_say": {
            "platform": "notify",
            "unique_id": f"{uid}_say",
            "name": f"Say{suffix}",
            "icon": "mdi:account-voice",
            "command_topic": topics.channel(channel, "say"),
            "qos": 1,
        },
        f"{channel}_stop": {
            "platform": "button",
            "unique_id": f"{uid}_stop",
            "name": f"Stop speaking{suffix}",
            "icon": "mdi:stop-circle-outline",
            "command_topic": topics.channel(channel, "control"),
            "payload_press": json.dumps({"action": "stop"}),
            "qos": 1,
        },
        f"{channel}_state": {
            "platform": "sensor",
            "unique_id": f"{uid}_state",
            "name": f"State{suffix}",
            "icon": "mdi:account-tie-voice",
            "device_class": "enum",
            "options": ["idle", "speaking"],
            "state_topic": topics.channel(channel, "state"),
            "value_template": "{{ value_json.state }}",
            "json_attributes_topic": topics.channel(channel, "state"),
            "qos": 1,
        },
        f"{channel}_avatar": {
            "platform": "select",
            "unique_id": f"{uid}_avatar",
            "name": f"Avatar{suffix}",
            "icon": "mdi:face-man-profile",
            "entity_category": "config",
            "options": list(settings.avatars),
            "command_topic": topics.channel(channel, AVATAR_SET_LEAF),
            "state_topic": topics.channel(channel, "avatar"),
            "value_template": "{{ value_json.name }}",
            "qos": 1,
        },
        f"{channel}_snapshot": {
            "platform": "image",
            "unique_id": f"{uid}_snapshot",
            "name": f"Face{suffix}",
            "image_topic": topics.channel(channel, "snapshot"),
            "content_type": "image/jpeg",
        },
    }


def discovery_payload(settings: Settings) -> dict[str, Any]:
    """The device discovery message (full key names; HA also accepts abbreviations)."""
    ha = settings.homeassistant
    node_id = settings.node.node_id
    base = _uid_base(settings)
    components: dict[str, dict[str, Any]] = {}
    for channel in settings.node.channels:
        components.update(_channel_components(settings, channel, base))
    return {
        "device": {
            "identifiers": [base],
            "name": ha.device_name or f"Avatar {node_id}",
            "manufacturer": "avatar-node",
            "model": "MQTT talking avatar (VITS + lip sync)",
            "sw_version": __version__,
            **({"suggested_area": ha.suggested_area} if ha.suggested_area else {}),
        },
        "origin": {"name": ORIGIN_NAME, "sw_version": __version__},
        "availability": [
            {
                "topic": Topics(settings.mqtt.topic_prefix, node_id).status,
                "payload_available": "online",
                "payload_not_available": "offline",
            }
        ],
        "components": components,
    }


class HomeAssistant:
    """Publishes discovery, answers HA's birth message and the ``select`` commands of a node."""

    def __init__(self, node: NodePort):
        self.node = node
        self.settings = node.settings
        self.topic = discovery_topic(node.settings)
        self.published = 0
        """How many times the discovery message was published (tests, diagnostics)."""
        self._timer: threading.Timer | None = None

    def install(self) -> None:
        """Subscribe HA's status topic and the avatar commands; publish on every (re)connect."""
        self.node.subscribe(self.settings.homeassistant.status_topic, self._on_ha_status)
        for channel in self.settings.node.channels:
            topic = self.node.topics.channel(channel, AVATAR_SET_LEAF)
            self.node.subscribe(topic, functools.partial(self._on_avatar_set, channel))
        self.node.on_connected(self.publish)
        log.info("home assistant discovery enabled", topic=self.topic)

    def publish(self) -> None:
        payload = json.dumps(discovery_payload(self.settings), separators=(",", ":"))
        self.node.publish(self.topic, payload.encode(), 1, True)
        self.published += 1

    def _on_ha_status(self, _topic: str, payload: bytes) -> None:
        if payload.strip().lower() != b"online":
            return
        delay = random.uniform(0, self.settings.homeassistant.republish_jitter_s)
        if delay <= 0:
            self.publish()
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer = threading.Timer(delay, self.publish)
        self._timer.daemon = True
        self._timer.start()

    def _on_avatar_set(self, channel: str, _topic: str, payload: bytes) -> None:
        name = payload.decode("utf-8", "replace").strip()
        try:
            if name not in self.settings.avatars:
                raise UnknownAvatar(f"avatar {name!r} is not configured")
            self.node.set_channel_avatar(channel, name)
        except AvatarError as exc:
            log.warning("avatar select rejected", channel=channel, avatar=name, code=exc.code)
            self.node.reject(channel, None, exc)
            return
        log.info("avatar selected", channel=channel, avatar=name)
