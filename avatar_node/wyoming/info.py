"""``describe`` -> ``info``: every configured voice as a Wyoming TTS voice, and the ``snd`` sink."""

from __future__ import annotations

from typing import Any

from wyoming.audio import AudioFormat
from wyoming.info import Attribution, Info, SndProgram, TtsProgram, TtsVoice, TtsVoiceSpeaker

from .. import __version__

NODE = Attribution(name="avatar-node", url="https://pypi.org/project/avatar-node/")
PIPER = Attribution(name="Piper", url="https://github.com/OHF-Voice/piper1-gpl")
VITS = Attribution(name="VITS", url="https://github.com/jaywalnut310/vits")
SND_FORMAT = AudioFormat(rate=22050, width=2, channels=1)
"""Advertised ``snd`` format; any 8-48 kHz 16/24/32-bit mono or stereo PCM is accepted."""


def _voice(name: str, loaded: Any, failure: str | None) -> TtsVoice:
    voice = getattr(loaded, "voice", None)
    languages = list(getattr(voice, "languages", None) or [])
    speakers = [TtsVoiceSpeaker(name=s) for s in getattr(voice, "speakers", {}) or {}]
    model = str(getattr(getattr(loaded, "settings", None), "model", None) or "")
    bundled = voice is not None and model == ""
    attribution = PIPER if model.endswith(".onnx") or bundled else VITS
    description = getattr(voice, "name", name)
    if failure is not None:
        description = f"{name} (unavailable: {failure})"
    return TtsVoice(
        name=name,
        attribution=attribution,
        installed=voice is not None,
        description=description,
        version=None,
        languages=languages,
        speakers=speakers or None,
    )


def voices_of(registry: Any) -> list[TtsVoice]:
    """Every configured voice of a voice registry, loaded or not (``installed`` says which)."""
    loaded = getattr(registry, "voices", {})
    failures = getattr(registry, "failures", {})
    return [_voice(n, loaded.get(n), failures.get(n)) for n in registry.names]


def tts_program(registry: Any) -> TtsProgram:
    return TtsProgram(
        name="avatar-node",
        attribution=NODE,
        installed=True,
        description="avatar-node: speaks with its VITS voices and lip-syncs its avatar",
        version=__version__,
        voices=voices_of(registry),
        supports_synthesize_streaming=True,
    )


def snd_program() -> SndProgram:
    return SndProgram(
        name="avatar-node-snd",
        attribution=NODE,
        installed=True,
        description="avatar-node: lip-syncs the audio it is sent and publishes it with frames",
        version=__version__,
        snd_format=SND_FORMAT,
    )


def build_info(tts: list[TtsProgram], snd: bool) -> Info:
    return Info(tts=tts, snd=[snd_program()] if snd else [])
