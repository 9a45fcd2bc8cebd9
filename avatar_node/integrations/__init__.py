"""Opt-in integrations wired into a :class:`~avatar_node.node.Node` by its configuration.

* :mod:`.homeassistant` — HA MQTT device discovery (``homeassistant.enabled``)
* :mod:`.hermes` — Rhasspy Hermes TTS (``hermes.enabled``)

Each integration only uses the node's public hooks (``add_handler``, ``on_connected_hooks``,
``say``, ``set_channel_avatar``, ``transport.publish``) and must be installed before ``start()``.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..node import Node

_installed: weakref.WeakKeyDictionary[Any, list[Any]] = weakref.WeakKeyDictionary()


def install(node: Node) -> list[Any]:
    """Install every integration the node's settings enable (once per node); returns them."""
    if node in _installed:
        return _installed[node]
    done: list[Any] = []
    if node.settings.homeassistant.enabled:
        from .homeassistant import HomeAssistant

        done.append(HomeAssistant(node))
    if node.settings.hermes.enabled:
        from .hermes import Hermes

        done.append(Hermes(node))
    for integration in done:
        integration.install()
    _installed[node] = done
    return done


def installed(node: Node) -> list[Any]:
    """The integrations installed on ``node`` (empty before :func:`install`)."""
    return _installed.get(node, [])
