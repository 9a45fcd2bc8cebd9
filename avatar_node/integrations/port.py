"""What an integration may use of the node: a small port, so integrations never see its insides."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..errors import AvatarError
    from ..pipeline.channel import Utterance
    from ..pipeline.items import PlayCommand, SayCommand
    from ..pipeline.sink import PipelineSink
    from ..settings import Settings
    from ..wire.topics import Topics

TopicHandler = Callable[[str, bytes], None]


class NodePort(Protocol):
    settings: Settings
    topics: Topics

    def submit(self, cmd: SayCommand | PlayCommand) -> Utterance:
        """Queue a command on its channel; raises AvatarError when it cannot be served."""
        ...

    def reject(
        self,
        channel: str,
        utt_id: str | None,
        exc: AvatarError,
        sinks: tuple[PipelineSink, ...] = (),
    ) -> None:
        """Answer a request that was not accepted (a ``rejected`` event)."""
        ...

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> bool:
        """Publish on any topic (the integration's own protocol)."""
        ...

    def subscribe(self, topic: str, handler: TopicHandler, qos: int = 1) -> None:
        """Route ``topic`` (exact) to ``handler``; renewed on every reconnect. Before start."""
        ...

    def on_connected(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` after every (re)connect, once the subscriptions are active."""
        ...

    def set_channel_avatar(self, channel: str, avatar: str) -> None:
        """Switch a channel's default avatar (raises UnknownAvatar / EngineError)."""
        ...
