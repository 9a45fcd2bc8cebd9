"""Text front-ends: text → model input ids, one list per model call, as each reference feeds it.

* :class:`PiperFrontend`: Piper 1.8's espeak-ng phonemes, one call per espeak sentence.
* :class:`CleanerFrontend`: VITS(-fast-fine-tuning) ``cmd_inference``: language marks, cleaners,
  symbol ids with interspersed blanks; the whole text is one call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from avatar_node.errors import CheckpointError, MissingDependency

#: Fallback when the cleaners module is absent: languages per cleaner (ISO 639-1 codes).
CLEANER_LANGUAGES: dict[str, list[str]] = {
    "chinese_cleaners": ["zh"],
    "english_cleaners2": ["en"],
    "cjke_cleaners2": ["zh", "ja", "ko", "en"],
}


def cleaner_languages(cleaners: Sequence[str]) -> list[str]:
    """Languages the cleaners speak, as the lower-case codes ``language=`` accepts."""
    try:
        from avatar_node.tts.text.cleaners import CLEANER_LANGUAGES as table
    except ImportError:
        table = CLEANER_LANGUAGES  # type: ignore[assignment]
    languages: list[str] = []
    for name in cleaners:
        for lang in table.get(name, ()):
            if lang.lower() not in languages:
                languages.append(lang.lower())
    return languages


class TextFrontend(Protocol):
    languages: list[str]

    def text_to_ids(self, text: str, language: str | None = None) -> list[list[int]]: ...


class PiperFrontend:
    """Piper ``phoneme_type`` espeak (or text) with the voice's ``phoneme_id_map``."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.phoneme_type = str(config.get("phoneme_type", "espeak"))
        if self.phoneme_type not in ("espeak", "text"):
            raise CheckpointError(
                f"Piper phoneme_type {self.phoneme_type!r} is not supported (espeak, text)"
            )
        self.espeak_voice = str(config.get("espeak", {}).get("voice", "en-us"))
        self.id_map: dict[str, list[int]] = {
            str(k): [int(i) for i in v] for k, v in config["phoneme_id_map"].items()
        }
        clusters = config.get("vowel_clusters") or None
        self.vowel_clusters = {tuple(c) for c in clusters} if clusters else None
        code = config.get("language", {}).get("code")
        self.languages = [str(code)] if code else [self.espeak_voice]

    def phonemize(self, text: str) -> list[list[str]]:
        from avatar_node.tts.text import espeak

        if self.phoneme_type == "text":
            return espeak.text_phonemes(text)
        return espeak.phonemize(text, self.espeak_voice, self.vowel_clusters)

    def text_to_ids(self, text: str, language: str | None = None) -> list[list[int]]:
        from avatar_node.tts.text import espeak

        return [espeak.phonemes_to_ids(p, self.id_map) for p in self.phonemize(text)]


class CleanerFrontend:
    """``cmd_inference.get_text``: marks → cleaners → ids (blanks when ``add_blank``)."""

    def __init__(self, symbols: Sequence[str] | None, cleaners: Sequence[str], add_blank: bool):
        self.symbols = list(symbols) if symbols is not None else None
        self.cleaners = list(cleaners)
        self.add_blank = add_blank
        self.languages = cleaner_languages(self.cleaners)

    def text_to_ids(self, text: str, language: str | None = None) -> list[list[int]]:
        if self.symbols is None:
            raise CheckpointError("the voice config has no 'symbols' list; only ids can be used")
        try:
            from avatar_node.tts.text.cleaners import apply_language_marks, text_to_sequence
        except ImportError as exc:
            raise MissingDependency(f"the VITS text front-end is not available: {exc}") from exc
        marked = apply_language_marks(text, language, self.cleaners)
        ids, _dropped = text_to_sequence(marked, self.symbols, self.cleaners, self.add_blank)
        return [list(ids)] if ids else []
