"""Opt-in integrations wired into a :class:`~avatar_node.app.Node` by its configuration.

* :mod:`.homeassistant` — HA MQTT device discovery (``homeassistant.enabled``)
* :mod:`.hermes` — Rhasspy Hermes TTS (``hermes.enabled``)

Each integration sees the node only through :class:`.port.NodePort` (submit, reject, publish,
subscribe, on_connected, set_channel_avatar) and must be installed before ``start()``.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .port import NodePort

_installed: weakref.WeakKeyDictionary[Any, list[Any]] = weakref.WeakKeyDictionary()


def install(node: NodePort) -> list[Any]:
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


def installed(node: NodePort) -> list[Any]:
    """The integrations installed on ``node`` (empty before :func:`install`)."""
    return _installed.get(node, [])
