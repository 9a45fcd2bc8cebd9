"""Text front-ends: text → model input ids, one list per model call, as each reference feeds it.

* :class:`PiperFrontend`: Piper 1.8's espeak-ng phonemes, one call per espeak sentence.
* :class:`CleanerFrontend`: VITS(-fast-fine-tuning) ``cmd_inference``: language marks, cleaners,
  symbol ids with interspersed blanks; the whole text is one call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from avatar_node.errors import CheckpointError, MissingDependency
from avatar_node.tts.alignment import SymbolTable

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


#: Cleaners whose output spells with plain letters the pinyin/romaji way (or is orthographic
#: text); every other cleaner writes IPA.
LATIN_CLEANERS = frozenset(
    {
        "chinese_cleaners",
        "zh_ja_mixture_cleaners",
        "japanese_cleaners",
        "japanese_cleaners2",
        "korean_cleaners",
        "basic_cleaners",
        "transliteration_cleaners",
        "english_cleaners",
    }
)


class TextFrontend(Protocol):
    languages: list[str]
    symbol_table: SymbolTable
    """What each id stands for (timelines, :mod:`avatar_node.tts.alignment`)."""

    def text_to_ids(self, text: str, language: str | None = None) -> list[list[int]]: ...


PIPER_BOS, PIPER_PAD, PIPER_EOS = "^", "_", "$"


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
        inverse: dict[int, str] = {}
        for symbol, ids in self.id_map.items():
            for i in ids:
                inverse.setdefault(i, symbol)
        blanks = {i for s in (PIPER_BOS, PIPER_PAD, PIPER_EOS) for i in self.id_map.get(s, [])}
        self.symbol_table = SymbolTable(
            inverse, frozenset(blanks), "ipa" if self.phoneme_type == "espeak" else "latin"
        )

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
        table = dict(enumerate(self.symbols)) if self.symbols is not None else {}
        latin = bool(self.cleaners) and set(self.cleaners) <= LATIN_CLEANERS
        # VITS symbol sets start with the pad "_", which is also add_blank's blank id 0
        blanks = frozenset({0}) if add_blank or table.get(0) == "_" else frozenset()
        self.symbol_table = SymbolTable(table, blanks, "latin" if latin else "ipa")

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
