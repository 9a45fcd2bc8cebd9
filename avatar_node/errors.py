"""One error family. Every error carries the contract's ``code`` that becomes the event's ``code``.

Library errors are converted at the edge (``raise SomeAvatarError(...) from exc``) so that the
pipeline only ever sees :class:`AvatarError`.
"""

from __future__ import annotations


class AvatarError(Exception):
    """Base of all errors the node reports; ``code`` is one of docs/contract.md's error codes."""

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
    """A model file is missing, truncated, of another model or does not match its config.

    ``path``: the file at fault, when known (the CLI maps it back to the option naming it).
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        code: str | None = None,
        retryable: bool | None = None,
    ):
        super().__init__(message, code=code, retryable=retryable)
        self.path = path


class MissingDependency(EngineError):
    """An optional dependency (e.g. a text front-end's package) is not installed."""


class ConfigError(AvatarError):
    """Invalid configuration; raised at start, never at run time.

    ``option``: the setting at fault (``mqtt.port``, ``--config``), when known; ``fix``: what to
    do about it. The CLI prints both on one line (:class:`StartupError`).
    """

    code = "bad_request"

    def __init__(self, message: str, *, option: str | None = None, fix: str | None = None):
        super().__init__(message)
        self.option, self.fix = option, fix


class BrokerUnavailable(ConnectionError):
    """A client could not connect to the broker (refused, unreachable, or CONNACK refusal)."""

    def __init__(self, host: str, port: int, reason: str):
        super().__init__(f"cannot connect to the broker at {host}:{port}: {reason}")
        self.host, self.port, self.reason = host, port, reason


# Exit codes of the ``avatar-node`` command (documented in the README and ``--help``).
EXIT_OK = 0
EXIT_FAILED = 1
"""The request did not finish, a ``doctor`` check failed, or a wait timed out."""
EXIT_CONFIG = 2
"""Invalid command line or configuration (YAML syntax, option value, missing file)."""
EXIT_MODEL = 3
"""A model file (voice, lip-sync checkpoint, avatar image) cannot be loaded."""
EXIT_BROKER = 4
"""The MQTT broker refused the connection or cannot be reached."""
EXIT_PORT = 5
"""A port the command must listen on (``web.port``, the demo's broker) is taken."""


class StartupError(Exception):
    """A failure before the node serves anything; the CLI prints it as ONE line and exits.

    ``option`` names the setting or command-line flag at fault, ``problem`` what is wrong (with
    the file), ``fix`` what to do about it.
    """

    def __init__(self, option: str, problem: str, fix: str, exit_code: int = EXIT_CONFIG):
        super().__init__(f"{option}: {problem}; {fix}")
        self.option, self.problem, self.fix, self.exit_code = option, problem, fix, exit_code

    def line(self) -> str:
        text = f"avatar-node: {self.option}: {self.problem}; {self.fix}"
        return " ".join(text.split())  # one line, whatever the parts held


class BadAudio(BadRequest):
    """Audio handed in (``play``, ``play/stream``, Wyoming) is not usable: not RIFF/WAVE, truncated,
    a stream chunk without its start. Reported with the contract's ``bad_request`` code."""


class UnsupportedAudio(BadRequest):
    """Well-formed audio in a format the node does not take (rate outside 8-48 kHz, more than two
    channels, 8-bit or compressed samples). Reported with the contract's ``bad_request`` code."""
