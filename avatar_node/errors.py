"""One error family. Every error carries the contract's ``code`` that becomes the event's ``code``.

Library errors are converted at the edge (``raise SomeAvatarError(...) from exc``) so that the
pipeline only ever sees :class:`AvatarError`.
"""

from __future__ import annotations


class AvatarError(Exception):
    """Base of all errors the node reports; ``code`` is one of CONTRACT.md's error codes."""

    code: str = "engine_error"
    retryable: bool = False

    def __init__(self, message: str, *, code: str | None = None, retryable: bool | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if retryable is not None:
            self.retryable = retryable


class BadRequest(AvatarError):
    code = "bad_request"


class TextTooLong(AvatarError):
    code = "text_too_long"


class PayloadTooLarge(AvatarError):
    code = "payload_too_large"


class UnknownVoice(AvatarError):
    code = "unknown_voice"


class UnknownSpeaker(AvatarError):
    code = "unknown_speaker"


class UnknownAvatar(AvatarError):
    code = "unknown_avatar"


class QueueFull(AvatarError):
    code = "queue_full"
    retryable = True


class EngineError(AvatarError):
    """A model failed while running (TTS or lip sync)."""

    code = "engine_error"


class CheckpointError(EngineError):
    """A model file is missing, truncated, of another model or does not match its config."""


class MissingDependency(EngineError):
    """An optional dependency (e.g. a text front-end's package) is not installed."""


class ConfigError(AvatarError):
    """Invalid configuration; raised at start, never at run time."""

    code = "bad_request"
