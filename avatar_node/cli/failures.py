"""Start-up failures as ONE line: which option, which file, what to do; then a documented exit code.

Every error a command can meet before it serves anything is turned into a
:class:`~avatar_node.errors.StartupError` here: configuration (YAML syntax, values, missing files),
model files (voice, Wav2Lip checkpoint, avatar image), the broker, and ports to listen on.
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import (
    EXIT_BROKER,
    EXIT_CONFIG,
    EXIT_MODEL,
    EXIT_PORT,
    BrokerUnavailable,
    CheckpointError,
    ConfigError,
    StartupError,
)

if TYPE_CHECKING:
    from ..settings import Settings

FIXES = {
    "model": "correct the path, or remove the option to use the bundled voice",
    "config": "give the voice's config.json (VITS G_*.pth checkpoints need one)",
    "checkpoint": "correct the path or download wav2lip.pth again; without the option the "
    "viseme engine is used",
    "source": "point it at an image or short video with one frontal face, or remove the "
    "option to use the bundled portrait",
}


def model_files(settings: Settings) -> list[tuple[str, str]]:
    """Every model file the settings name: ``(option, path)``, in the order ``run`` loads them."""
    files: list[tuple[str, str]] = []
    for name, voice in settings.voices.items():
        files += [
            (f"voices.{name}.{k}", p)
            for k in ("model", "config")
            if (p := getattr(voice, k)) is not None
        ]
    if settings.lipsync.checkpoint is not None:
        files.append(("lipsync.checkpoint", settings.lipsync.checkpoint))
    files += [
        (f"avatars.{name}.source", a.source)
        for name, a in settings.avatars.items()
        if a.source is not None
    ]
    return files


def option_for_path(settings: Settings | None, path: str | None) -> str | None:
    """The option naming ``path`` (compared as resolved paths), or None."""
    if settings is None or path is None:
        return None
    want = Path(path).expanduser().resolve()
    for option, value in model_files(settings):
        if Path(value).expanduser().resolve() == want:
            return option
    return None


def fix_for(option: str) -> str:
    return FIXES.get(option.rsplit(".", 1)[-1], "correct the option")


def fatal_missing_files(settings: Settings) -> StartupError | None:
    """A file ``run`` cannot start without (default voice, Wav2Lip checkpoint) that is missing.

    Checked before anything loads, so the command stops at once. A missing file of another
    voice or avatar is not fatal: ``run`` serves without it (``doctor`` reports it).
    """
    default = f"voices.{settings.node.default_voice}."
    for option, value in model_files(settings):
        if option.startswith(default) or option == "lipsync.checkpoint":
            path = Path(value).expanduser()
            if not path.is_file():
                return StartupError(option, f"file not found: {path}", fix_for(option), EXIT_MODEL)
    return None


def from_config(exc: ConfigError, settings: Settings | None = None) -> StartupError:
    message = exc.message
    option = exc.option
    if option is None and settings is not None:
        voice = settings.node.default_voice
        if message.startswith(f"default voice {voice!r}"):  # raised by Node.load
            option = f"voices.{voice}.model"
            return StartupError(
                option,
                message,
                "run 'avatar-node doctor' for every voice's diagnosis; " + fix_for(option),
                EXIT_MODEL,
            )
        if message.startswith("lipsync."):
            option = message.split(" ", 1)[0]
    return StartupError(
        option or "configuration", message, exc.fix or "correct the option", EXIT_CONFIG
    )


def option_in_message(settings: Settings | None, message: str) -> str | None:
    """The option whose file the message names (messages start with the path), or None."""
    if settings is None:
        return None
    found = [(len(v), o) for o, v in model_files(settings) if v in message]
    return max(found)[1] if found else None


def from_checkpoint(exc: CheckpointError, settings: Settings | None) -> StartupError:
    option = (
        option_for_path(settings, exc.path)
        or option_in_message(settings, exc.message)
        or "model file"
    )
    return StartupError(option, exc.message, fix_for(option), EXIT_MODEL)


def from_broker(exc: BrokerUnavailable, option: str) -> StartupError:
    fix = f"start a broker (e.g. 'avatar-node demo' or Debian's mosquitto) or point {option} at one"
    return StartupError(option, str(exc), fix, EXIT_BROKER)


def port_taken(option: str, host: str, port: int, env: str | None = None) -> StartupError:
    hint = f" ({env})" if env else ""
    return StartupError(
        option,
        f"{host}:{port} is already in use",
        f"stop what listens there or set {option}{hint} to another port (0: any free port)",
        EXIT_PORT,
    )


def is_address_in_use(exc: OSError) -> bool:
    return exc.errno in (errno.EADDRINUSE, errno.EACCES)
