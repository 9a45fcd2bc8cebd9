"""What each channel shows when it is not speaking: its avatar, its resting face, and its life.

The channel's default avatar can change at run time (Home Assistant's select). Life (blinks,
breathing) is shared with the video stage, so speech and idle keep one blink schedule; the idle
animator sends idle frames to the sinks while the channel is silent.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import AvatarError
from ..lipsync.avatar_data import Avatar
from ..lipsync.life import Life
from ..media.jpeg import encode_jpeg
from ..models import AvatarRegistry
from ..settings import Settings
from .idle import IdleAnimator, Lives
from .items import AvatarOut, FrameOut
from .sink import Outlets


class ChannelFaces:
    def __init__(
        self,
        settings: Settings,
        avatars: AvatarRegistry | None,
        outlets: Outlets,
        is_speaking: Callable[[str], bool],
    ):
        self.avatars = avatars
        self.outlets = outlets
        self.channel_avatar: dict[str, str] = dict.fromkeys(
            settings.node.channels, settings.node.default_avatar
        )
        life = settings.life
        self.lives = Lives(life.blink, life.idle_motion) if life.blink or life.idle_motion else None
        self._idle_seq: dict[str, int] = {}
        self.idle = IdleAnimator(
            list(settings.node.channels), is_speaking, self._life_for, self._emit_idle
        )

    def start(self) -> None:
        if self.lives is not None and self.avatars is not None:
            self.idle.start()

    def stop(self) -> None:
        self.idle.stop()

    def avatar(self, channel: str) -> Avatar | None:
        """The enrolled avatar the channel shows now (None without avatars or if it failed)."""
        if self.avatars is None or channel not in self.channel_avatar:
            return None
        try:
            return self.avatars.get(self.channel_avatar[channel])
        except AvatarError:
            return None

    def set(self, channel: str, name: str) -> None:
        if self.avatars is not None:
            self.avatars.get(name)  # raises UnknownAvatar / EngineError
        self.channel_avatar[channel] = name
        self.publish(channel)
        self.idle.poke()

    def idle_jpeg(self, channel: str) -> bytes | None:
        avatar = self.avatar(channel)
        return None if avatar is None else encode_jpeg(avatar.idle_frame, avatar.jpeg_quality)

    def publish(self, channel: str) -> None:
        """Announce the channel's avatar (with its resting face) to the sinks."""
        avatar = self.avatar(channel)
        if avatar is None or self.avatars is None or self.avatars.engine is None:
            return
        face = None
        if avatar.face is not None:
            x1, y1, x2, y2 = (int(v) for v in avatar.face)
            face = (x1, y1, x2, y2)
        info = AvatarOut(
            channel,
            self.channel_avatar[channel],
            avatar.width,
            avatar.height,
            avatar.fps,
            self.avatars.engine.name,
            face,
        )
        self.outlets.avatar(info, encode_jpeg(avatar.idle_frame, avatar.jpeg_quality))

    def _life_for(self, channel: str) -> Life | None:
        avatar = self.avatar(channel)
        if self.lives is None or avatar is None or self.avatars is None:
            return None
        return self.lives.get(channel, avatar) if self.avatars.engine is not None else None

    def _emit_idle(self, channel: str, pts_ms: float, jpeg: bytes) -> None:
        """An idle frame for the displays (``{channel}/idle``: id ``idle``, QoS 0)."""
        avatar = self.avatar(channel)
        if avatar is not None:
            seq = self._idle_seq[channel] = self._idle_seq.get(channel, -1) + 1  # displays order
            frame = FrameOut(
                channel, "idle", seq, round(pts_ms, 3), avatar.width, avatar.height, False
            )
            self.outlets.idle(frame, jpeg)
