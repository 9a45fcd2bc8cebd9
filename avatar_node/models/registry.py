"""Configured voices and avatars, loaded once at start and looked up by name.

A voice or avatar that fails to load is kept as a named failure: requests for it get a clear
``engine_error`` naming the load problem while every other voice keeps working. The node refuses
to start only when its default voice cannot load.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import AvatarError, CheckpointError, EngineError, UnknownAvatar, UnknownVoice
from ..log import get_logger
from ..settings import AvatarSettings, LipsyncSettings, VoiceSettings

if TYPE_CHECKING:
    from ..lipsync.avatar_data import Avatar
    from ..lipsync.engine import LipSyncEngine
    from ..tts.voice import Voice

log = get_logger(__name__)


@dataclass
class LoadedVoice:
    name: str
    voice: Voice
    settings: VoiceSettings
    lock: threading.Lock


def _load_one_voice(cfg: VoiceSettings) -> Voice:
    from ..tts import load_voice

    if cfg.model is None:
        return load_voice(device=cfg.device, dtype=cfg.dtype)
    model = Path(cfg.model).expanduser()
    if not model.is_file():
        raise CheckpointError(f"voice model file not found: {model}")
    if cfg.config is not None:
        config = Path(cfg.config).expanduser()
        if not config.is_file():
            raise CheckpointError(f"voice config file not found: {config}")
        return load_voice(str(config), str(model), device=cfg.device, dtype=cfg.dtype)
    return load_voice(str(model), device=cfg.device, dtype=cfg.dtype)


class VoiceRegistry:
    def __init__(self, configs: dict[str, VoiceSettings]):
        self.configs = configs
        self.voices: dict[str, LoadedVoice] = {}
        self.failures: dict[str, str] = {}

    def load_all(self) -> None:
        """Load every configured voice not loaded yet."""
        for name, cfg in self.configs.items():
            if name in self.voices:
                continue
            try:
                voice = _load_one_voice(cfg)
                if cfg.speaker is not None:
                    voice.resolve_speaker(cfg.speaker)
                voice.warmup()  # the first request must not pay for lazy set-up
            except AvatarError as exc:
                self.failures[name] = exc.message
                log.error("voice failed to load", voice=name, error=exc.message)
                continue
            except Exception as exc:  # convert library errors at the edge
                self.failures[name] = f"{type(exc).__name__}: {exc}"
                log.error("voice failed to load", voice=name, error=self.failures[name])
                continue
            self.voices[name] = LoadedVoice(name, voice, cfg, threading.Lock())
            log.info(
                "voice loaded",
                voice=name,
                sample_rate=voice.sample_rate,
                speakers=len(voice.speakers),
            )

    @property
    def names(self) -> list[str]:
        return list(self.configs)

    def get(self, name: str) -> LoadedVoice:
        if name in self.voices:
            return self.voices[name]
        if name in self.failures:
            raise EngineError(f"voice {name!r} is unavailable: {self.failures[name]}")
        raise UnknownVoice(f"unknown voice {name!r}; configured: {', '.join(self.names)}")

    def check_request(self, name: str, speaker: str | int | None) -> None:
        """Raise the contract's error for an unknown voice or speaker at accept time."""
        if name not in self.configs:
            raise UnknownVoice(f"unknown voice {name!r}; configured: {', '.join(self.names)}")
        loaded = self.voices.get(name)
        if loaded is not None and speaker is not None:
            loaded.voice.resolve_speaker(speaker)


class AvatarRegistry:
    """Enrolled avatars (faces found once, cached) and the lip-sync engine."""

    def __init__(self, configs: dict[str, AvatarSettings], lipsync: LipsyncSettings):
        self.configs = configs
        self.lipsync_settings = lipsync
        self.avatars: dict[str, Avatar] = {}
        self.failures: dict[str, str] = {}
        self.engine: LipSyncEngine | None = None

    def load_all(self) -> None:
        from ..lipsync import create_engine, enrol_avatar

        ls = self.lipsync_settings
        self.engine = create_engine(
            ls.engine,
            checkpoint=ls.checkpoint,
            device=ls.device,
            dtype=ls.dtype,
            batch_size=ls.batch_size,
            feather=ls.feather,
        )
        log.info("lip sync engine", engine=self.engine.name)
        for name, cfg in self.configs.items():
            try:
                self.avatars[name] = enrol_avatar(
                    cfg.source,
                    name=name,
                    fps=cfg.fps,
                    face_box=cfg.face_box,
                    pads=cfg.pads,
                    size=cfg.size,
                    jpeg_quality=cfg.jpeg_quality,
                    cache_dir=ls.cache_dir,
                    mouth_box=cfg.mouth_box,
                    eyes=cfg.eyes,
                    require_face=self.engine.name != "none",
                )
                self.engine.warmup(self.avatars[name])  # first frame fast: caches, kernels
            except Exception as exc:
                self.failures[name] = f"{type(exc).__name__}: {exc}"
                log.error("avatar failed to enrol", avatar=name, error=self.failures[name])

    @property
    def names(self) -> list[str]:
        return list(self.configs)

    def check(self, name: str) -> None:
        if name not in self.configs:
            raise UnknownAvatar(f"unknown avatar {name!r}; configured: {', '.join(self.names)}")

    def get(self, name: str) -> Avatar:
        self.check(name)
        if name in self.failures:
            raise EngineError(f"avatar {name!r} is unavailable: {self.failures[name]}")
        return self.avatars[name]
