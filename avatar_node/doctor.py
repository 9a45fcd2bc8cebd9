"""``avatar-node doctor``: check everything ``run`` will load, the way ``run`` loads it.

Each check gives one :class:`Check` (ok or not, the option it is about, one line of detail). The
voices go through :class:`~avatar_node.models.VoiceRegistry` and the lip-sync engine
and avatars through :class:`~avatar_node.models.AvatarRegistry`, the very classes the
node uses, so a file that ``run`` cannot load fails here, naming the file and the reason.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .errors import AvatarError
from .settings import Settings


@dataclass
class Check:
    ok: bool
    name: str
    """What was checked: ``torch``, ``broker``, or the option (``voices.default.model``)."""
    detail: str

    def line(self) -> str:
        return " ".join(f"{'ok  ' if self.ok else 'FAIL'}  {self.name}: {self.detail}".split())


def _run(name: str, fn: Callable[[], str]) -> Check:
    try:
        return Check(True, name, fn())
    except AvatarError as exc:
        return Check(False, name, exc.message)
    except Exception as exc:  # report every failing check, whatever it raised
        return Check(False, name, f"{type(exc).__name__}: {exc}")


def _torch() -> str:
    import torch

    return (
        f"{torch.__version__}, cuda={torch.cuda.is_available()}, threads={torch.get_num_threads()}"
    )


def _broker(settings: Settings) -> str:
    m = settings.mqtt
    try:
        with socket.create_connection((m.host, m.port), timeout=1.0):
            return f"{m.host}:{m.port} reachable"
    except OSError as exc:
        raise ConnectionError(
            f"nothing answers on {m.host}:{m.port} ({exc.strerror or exc})"
        ) from None


def _espeak() -> str:
    from piper import espeakbridge  # noqa: F401

    return "piper's bundled espeak-ng loads"


def _voice_option(settings: Settings, name: str, message: str) -> str:
    cfg = settings.voices[name]
    if cfg.config is not None and str(cfg.config) in message:
        return f"voices.{name}.config"
    return f"voices.{name}.model" if cfg.model is not None else f"voices.{name}"


def check_voices(settings: Settings) -> Iterator[Check]:
    from .models import VoiceRegistry

    reg = VoiceRegistry(settings.voices)
    reg.load_all()
    for name, cfg in settings.voices.items():
        if name in reg.voices:
            voice = reg.voices[name].voice
            where = cfg.model or "the bundled voice"
            yield Check(
                True,
                f"voices.{name}",
                f"{where} ({voice.sample_rate} Hz, {len(voice.speakers)} speaker(s))",
            )
        else:
            message = reg.failures.get(name, "did not load")
            option = _voice_option(settings, name, message)
            field = option.rsplit(".", 1)[-1]
            path = getattr(cfg, field) if field in ("model", "config") else None
            shown = message if path is None or str(path) in message else f"{path}: {message}"
            yield Check(False, option, shown)


def check_avatars(settings: Settings) -> Iterator[Check]:
    """The lip-sync engine (its checkpoint), then every avatar enrolled for that engine."""
    from .models import AvatarRegistry

    ls = settings.lipsync
    reg = AvatarRegistry(settings.avatars, ls)
    option = "lipsync.checkpoint" if ls.checkpoint else "lipsync.engine"
    try:
        reg.load_all()
    except Exception as exc:
        detail = exc.message if isinstance(exc, AvatarError) else f"{type(exc).__name__}: {exc}"
        if ls.checkpoint and ls.checkpoint not in detail:
            detail = f"{ls.checkpoint}: {detail}"
        yield Check(False, option, detail)
        # Still check the faces, as an engine that needs one (the viseme engine) would.
        reg = AvatarRegistry(settings.avatars, ls.model_copy(update={"engine": "viseme"}))
        reg.load_all()
    else:
        engine = getattr(reg.engine, "name", "?")
        yield Check(
            True, option, f"engine {engine}" + (f" from {ls.checkpoint}" if ls.checkpoint else "")
        )
    for name, cfg in settings.avatars.items():
        source = cfg.source or "the bundled portrait"
        if name in reg.failures:
            detail = reg.failures[name]
            if cfg.source and cfg.source not in detail:
                detail = f"{cfg.source}: {detail}"
            yield Check(False, f"avatars.{name}.source", detail)
        else:
            avatar: Any = reg.avatars.get(name)
            size = getattr(avatar, "size", None) or getattr(avatar, "frame_size", None)
            yield Check(True, f"avatars.{name}", f"{source}" + (f" ({size})" if size else ""))


def run_checks(
    settings: Settings, *, voices: bool = True, avatars: bool = True, broker: bool = True
) -> Iterator[Check]:
    """Every check, in the order ``run`` needs them; each yielded as soon as it is done."""
    yield Check(
        True,
        "config",
        f"{len(settings.voices)} voice(s), {len(settings.avatars)} "
        f"avatar(s), channels {settings.node.channels}",
    )
    yield _run("torch", _torch)
    if broker:
        yield _run("broker", lambda: _broker(settings))
    yield _run("espeak-ng", _espeak)
    if voices:
        yield from check_voices(settings)
    if avatars:
        yield from check_avatars(settings)
