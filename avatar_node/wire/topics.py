"""Topic names of the contract, built in one place."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topics:
    prefix: str
    node_id: str

    @property
    def status(self) -> str:
        return f"{self.prefix}/{self.node_id}/status"

    def channel(self, channel: str, leaf: str) -> str:
        """``{prefix}/{channel}/{leaf}``: leaf is say, say/stream, control, audio, frames, ..."""
        return f"{self.prefix}/{channel}/{leaf}"

    def inbound(self, shared_group: str | None = None) -> list[tuple[str, int]]:
        """Subscriptions for every channel (wildcard), optionally as MQTT 5 shared subscriptions."""
        share = f"$share/{shared_group}/" if shared_group else ""
        return [
            (f"{share}{self.prefix}/+/say", 1),
            (f"{share}{self.prefix}/+/say/stream", 1),
            # Control must reach every node that might be speaking the utterance: never shared.
            (f"{self.prefix}/+/control", 1),
        ]

    def split(self, topic: str) -> tuple[str, str] | None:
        """(channel, leaf) of an inbound channel topic, or None if it is not one."""
        head = self.prefix + "/"
        if not topic.startswith(head):
            return None
        rest = topic[len(head) :]
        channel, _, leaf = rest.partition("/")
        if not channel or not leaf:
            return None
        return channel, leaf
