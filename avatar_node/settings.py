"""One settings model for the whole node, read from YAML (``--config``) with ``AVATAR_*`` overrides.

Precedence (highest first): explicit keyword arguments, environment variables
(``AVATAR_`` + upper-case path joined by ``__``, e.g. ``AVATAR_MQTT__PORT=1884``), the YAML file,
the defaults below. ``config/default.yaml`` documents every option; a test keeps it equal to these
defaults. Each part of the node receives only its own section.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from .config_file import check_yaml, describe_validation_error, first_option, one_line
from .errors import ConfigError
from .settings_doors import (  # the doors' sections, re-exported here
    HermesSettings,
    HomeAssistantSettings,
    MetricsSettings,
    WebSettings,
    _Section,
)
from .wyoming.settings import WyomingSettings

NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class NodeSettings(_Section):
    id: str | None = None
    """Node id used in ``{prefix}/{node_id}/status``; defaults to the first channel's name."""
    channels: list[str] = Field(default_factory=lambda: ["default"])
    """Channel names this node serves (one avatar display each)."""
    default_voice: str = "default"
    """Voice used when a request names none."""
    default_avatar: str = "default"
    """Avatar used when a request names none."""
    max_text_chars: int = Field(10000, ge=1)
    """Longest accepted text, in characters after trimming."""
    max_payload_bytes: int = Field(65536, ge=256)
    """Largest accepted inbound MQTT payload, in bytes."""
    max_play_bytes: int = Field(16 * 1024 * 1024, ge=1024)
    """Largest accepted ``play`` payload (a whole WAV file, raw or base64 JSON), in bytes."""
    queue_depth: int = Field(32, ge=1)
    """Requests waiting per channel before ``queue_full``."""
    stream_idle_timeout_s: float = Field(10.0, gt=0)
    """A ``say/stream`` id with no delta for this many seconds is flushed and finished."""
    sentence_max_chars: int = Field(160, ge=20)
    """Sentences longer than this are cut at clause boundaries, in characters."""
    first_chunk_max_chars: int = Field(80, ge=10)
    """The first chunk of an utterance is cut shorter (clause boundary) for a fast first sound."""
    frame_lead_s: float = Field(1.0, ge=0)
    """Frames go out at most this far ahead of the playback clock, in seconds (0: as fast as
    rendered). Keeps displays' queues short so a stop takes effect at once."""
    phrase_cache_mb: float = Field(64.0, ge=0)
    """Memory for replaying repeated announcements (audio + frames), in MB; 0 disables."""
    sample_format: Literal["pcm_s16le", "f32le"] = "pcm_s16le"
    """Sample format of the WAV in ``AudioChunk.wav``."""
    log_format: Literal["auto", "json", "console"] = "auto"
    """``auto``: console on a terminal, JSON otherwise."""
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @field_validator("channels")
    @classmethod
    def _names(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("at least one channel is needed")
        for name in v:
            if not NAME_RE.match(name):
                raise ValueError(f"channel name {name!r} must be 1-64 of [A-Za-z0-9_-]")
        if len(set(v)) != len(v):
            raise ValueError("channel names must be unique")
        return v

    @property
    def node_id(self) -> str:
        return self.id or self.channels[0]


class TlsSettings(_Section):
    enabled: bool = False
    ca_certs: str | None = None
    """CA bundle (PEM) that signed the broker's certificate; system CAs when unset."""
    certfile: str | None = None
    """Client certificate (PEM) for mutual TLS."""
    keyfile: str | None = None
    insecure: bool = False
    """Skip host-name verification (testing only)."""


class MqttSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(1883, ge=0, le=65535)
    """Broker port; 0 means: start an embedded broker (demo only)."""
    transport: Literal["tcp", "websockets"] = "tcp"
    topic_prefix: str = "avatar"
    username: str | None = None
    password: str | None = None
    tls: TlsSettings = Field(default_factory=TlsSettings)
    protocol: Literal[5, 311] = 5
    """MQTT 5, or 311 for 3.1.1. With 5 the node falls back to 3.1.1 if the broker refuses."""
    client_id: str | None = None
    """Fixed client id (persistent session); default ``avatar-node-{node_id}``."""
    keepalive_s: int = Field(30, ge=5)
    session_expiry_s: int = Field(3600, ge=0)
    """MQTT 5 session expiry: QoS 1 requests sent while the node is away are kept this long."""
    reconnect_min_s: float = Field(0.5, gt=0)
    reconnect_max_s: float = Field(30.0, gt=0)
    max_outgoing: int = Field(2000, ge=10)
    """Bound of paho's outgoing queue, in messages."""
    shared_group: str | None = None
    """Subscribe to inbound topics through ``$share/{group}/...`` (MQTT 5 scale-out)."""

    @field_validator("topic_prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        if not v or any(c in v for c in "#+") or v.startswith("/") or v.endswith("/"):
            raise ValueError("topic_prefix must be a non-empty topic without wildcards or edge '/'")
        return v


class VoiceSettings(_Section):
    model: str | None = None
    """A Piper ``.onnx`` (``.onnx.json`` beside it) or a VITS ``G_*.pth``; none: bundled voice."""
    config: str | None = None
    """The VITS ``config.json`` (for ``G_*.pth`` checkpoints)."""
    speaker: str | int | None = None
    """Default speaker (name or id) of a multi-speaker voice."""
    language: str | None = None
    """Default language mark (``zh``, ``ja``, ``en``, ``ko``, ``mix``) for VITS-fast-fine-tuning."""
    speed: float = Field(1.0, ge=0.5, le=2.0)
    noise_scale: float | None = Field(None, ge=0, le=2)
    noise_scale_w: float | None = Field(None, ge=0, le=2)
    device: str = "auto"
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"
    """HiFi-GAN decoder dtype (the rest of the voice is always float32, so durations do not
    change): ``auto`` is bfloat16 on a CPU with AVX512-BF16/AMX (about 2x faster decoder, SNR
    >= 35 dB against float32), float32 elsewhere; ``float32`` is bit-for-bit parity."""
    stream: bool = True
    """Send the first sentence of a reply in decoder windows as soon as each is vocoded (first
    sound after ~190 ms of audio is decoded, not the whole sentence); later sentences are
    decoded whole, being ready long before the one before them has played. The pieces put
    together are the whole-sentence audio (same length, SNR >= 40 dB)."""


class AvatarSettings(_Section):
    source: str | None = None
    """Image or short looping video; none: the bundled portrait."""
    fps: float = Field(25.0, gt=0, le=60)
    face_box: tuple[int, int, int, int] | None = None
    """Face box ``[x1, y1, x2, y2]`` in pixels; skips face detection."""
    pads: tuple[int, int, int, int] = (0, 10, 0, 0)
    """Padding around the detected face ``[top, bottom, left, right]`` in pixels."""
    size: (
        Annotated[int, Field(ge=64, le=2048)]
        | tuple[Annotated[int, Field(ge=64, le=2048)], Annotated[int, Field(ge=64, le=2048)]]
        | None
    ) = None
    """Output size of every engine's frames: an int resizes the avatar so its longer side has
    this many pixels; ``[width, height]`` resizes it to exactly that; none: the file's own size.
    Face, mouth and eyes are found on the resized frames (``face_box``/``mouth_box``/``eyes``
    are in output pixels)."""
    jpeg_quality: int = Field(80, ge=10, le=100)
    mouth_box: tuple[int, int, int, int] | None = None
    """Lips ``[x1, y1, x2, y2]`` in output pixels; skips mouth detection."""
    eyes: tuple[tuple[int, int, int, int], tuple[int, int, int, int]] | None = None
    """Eye openings ``[[x1, y1, x2, y2], [x1, y1, x2, y2]]`` in output pixels; skips detection."""


class LifeSettings(_Section):
    blink: bool = True
    """Blink every 2-6 s (100-150 ms), on every engine and while idle."""
    idle_motion: bool = True
    """Breathing and a slight head sway (a few pixels)."""


class LipsyncSettings(_Section):
    engine: Literal["auto", "viseme", "wav2lip", "energy", "none"] = "auto"
    """``auto``: Wav2Lip when a checkpoint is configured, else the ``viseme`` engine."""
    checkpoint: str | None = None
    """Wav2Lip ``wav2lip.pth`` / ``wav2lip_gan.pth``."""
    device: str = "auto"
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"
    batch_size: int = Field(16, ge=1, le=256)
    feather: int = Field(0, ge=0, le=64)
    """Width of the feathered edge when pasting the mouth back, in pixels (hides the seam)."""
    cache_dir: str | None = None
    """Where enrolled avatar faces are cached; default ``~/.cache/avatar-node/avatars``."""


class Settings(BaseSettings):
    """The node's whole configuration."""

    model_config = SettingsConfigDict(
        env_prefix="AVATAR_", env_nested_delimiter="__", extra="forbid", yaml_file=None
    )

    node: NodeSettings = Field(default_factory=NodeSettings)
    mqtt: MqttSettings = Field(default_factory=MqttSettings)
    voices: dict[str, VoiceSettings] = Field(default_factory=lambda: {"default": VoiceSettings()})
    avatars: dict[str, AvatarSettings] = Field(
        default_factory=lambda: {"default": AvatarSettings()}
    )
    lipsync: LipsyncSettings = Field(default_factory=LipsyncSettings)
    life: LifeSettings = Field(default_factory=LifeSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    hermes: HermesSettings = Field(default_factory=HermesSettings)
    homeassistant: HomeAssistantSettings = Field(default_factory=HomeAssistantSettings)
    wyoming: WyomingSettings = Field(default_factory=WyomingSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        yaml_file = os.environ.get("AVATAR_CONFIG_FILE")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if yaml_file:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=yaml_file))
        return tuple(sources)

    @model_validator(mode="after")
    def _cross_checks(self) -> Settings:
        for kind, names in (("voices", self.voices), ("avatars", self.avatars)):
            for name in names:
                if not NAME_RE.match(name):
                    raise ValueError(f"{kind} name {name!r} must be 1-64 of [A-Za-z0-9_-]")
        if self.node.default_voice not in self.voices:
            raise ValueError(f"node.default_voice {self.node.default_voice!r} is not in voices")
        if self.node.default_avatar not in self.avatars:
            raise ValueError(f"node.default_avatar {self.node.default_avatar!r} is not in avatars")
        if self.hermes.enabled and self.hermes.channel not in self.node.channels:
            raise ValueError(f"hermes.channel {self.hermes.channel!r} is not in node.channels")
        if self.wyoming.enabled and self.wyoming.channel not in self.node.channels:
            raise ValueError(f"wyoming.channel {self.wyoming.channel!r} is not in node.channels")
        return self


def load_settings(config_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Build :class:`Settings` from a YAML file, the environment and overrides.

    Raises :class:`ConfigError` with a one-line message naming each invalid option (its
    ``option`` is the first one, or ``--config`` for a file that cannot be read or parsed).
    """
    path = config_file or os.environ.get("AVATAR_CONFIG_FILE")
    if path is not None:
        check_yaml(Path(path))
    old = os.environ.get("AVATAR_CONFIG_FILE")
    try:
        if path is not None:
            os.environ["AVATAR_CONFIG_FILE"] = str(path)
        return Settings(**overrides)
    except ValidationError as exc:
        where = f" in {path}" if path is not None else ""
        raise ConfigError(
            describe_validation_error(exc, f"invalid configuration{where}"),
            option=first_option(exc),
            fix="correct the value (config/default.yaml documents every option)",
        ) from exc
    except (OSError, ValueError) as exc:  # the YAML was parsed once already
        raise ConfigError(
            f"cannot read config file {path}: {one_line(str(exc))}",
            option="--config",
            fix="fix the file",
        ) from exc
    finally:
        if old is None:
            os.environ.pop("AVATAR_CONFIG_FILE", None)
        else:
            os.environ["AVATAR_CONFIG_FILE"] = old
