"""English front-end of VITS-fast-fine-tuning: a CMU-dictionary IPA lookup (``eng_to_ipa``).

``english_to_ipa``: transliterate to ASCII (unidecode), lower-case, expand abbreviations
("dr." -> "doctor"), spell numbers (:mod:`.numbers`), look every word up with
``eng_to_ipa.convert`` (unknown words come back as the word followed by ``*``), collapse
whitespace. The variants then post-process that IPA:

- ``english_to_ipa2`` (``cjke_cleaners2``): dark ``l`` -> ``ɫ`` when no vowel follows within the
  word, ``r`` -> ``ɹ``, ``ʤ`` -> ``dʒ``, ``ʧ`` -> ``tʃ``, ``...`` -> ``…``;
- ``english_to_lazy_ipa`` (``cjks_cleaners``): vowels and fricatives folded to a smaller set,
  primary stress ``ˈ`` -> ``↓``.
"""

from __future__ import annotations

import re

from avatar_node.tts.text import deps

_PURPOSE = "for English (cjke_cleaners2, cjks_cleaners)"

#: Abbreviations expanded when followed by a period (case-insensitive, whole word), in order.
ABBREVIATIONS: tuple[tuple[str, str], ...] = (
    ("mrs", "misess"),
    ("mr", "mister"),
    ("dr", "doctor"),
    ("st", "saint"),
    ("co", "company"),
    ("jr", "junior"),
    ("maj", "major"),
    ("gen", "general"),
    ("drs", "doctors"),
    ("rev", "reverend"),
    ("lt", "lieutenant"),
    ("hon", "honorable"),
    ("sgt", "sergeant"),
    ("capt", "captain"),
    ("esq", "esquire"),
    ("ltd", "limited"),
    ("col", "colonel"),
    ("ft", "fort"),
)

#: IPA -> the reduced inventory of cjks_cleaners, in order.
IPA_TO_LAZY_IPA: tuple[tuple[str, str], ...] = (
    ("r", "ɹ"),
    ("æ", "e"),
    ("ɑ", "a"),
    ("ɔ", "o"),
    ("ð", "z"),
    ("θ", "s"),
    ("ɛ", "e"),
    ("ɪ", "i"),
    ("ʊ", "u"),
    ("ʒ", "ʥ"),
    ("ʤ", "ʥ"),
    ("ˈ", "↓"),
)

#: IPA -> IPA2 of cjke_cleaners2, in order.
IPA_TO_IPA2: tuple[tuple[str, str], ...] = (("r", "ɹ"), ("ʤ", "dʒ"), ("ʧ", "tʃ"))

_ABBREVIATION_RES = tuple(
    (re.compile(rf"\b{short}\.", re.IGNORECASE), long) for short, long in ABBREVIATIONS
)
_WHITESPACE = re.compile(r"\s+")
_DARK_L = re.compile(r"l([^aeiouæɑɔəɛɪʊ ]*(?: |$))")


def expand_abbreviations(text: str) -> str:
    """``mr.`` -> ``mister`` etc."""
    for pattern, long in _ABBREVIATION_RES:
        text = pattern.sub(long, text)
    return text


def collapse_whitespace(text: str) -> str:
    """Every run of whitespace -> one space."""
    return _WHITESPACE.sub(" ", text)


def to_ascii(text: str) -> str:
    """Transliterate to ASCII as unidecode does (emoji and unknown scripts vanish)."""
    return str(deps.require("unidecode", _PURPOSE).unidecode(text))


def english_to_ipa(text: str) -> str:
    """English text -> eng_to_ipa IPA with stress marks, numbers spelled out."""
    from avatar_node.tts.text.numbers import normalize_numbers

    text = normalize_numbers(expand_abbreviations(to_ascii(text).lower()))
    converter = deps.require("eng_to_ipa", _PURPOSE)
    return collapse_whitespace(str(converter.convert(text)))


def mark_dark_l(text: str) -> str:
    """``l`` with no vowel after it before the end of the word -> ``ɫ``."""
    return _DARK_L.sub(lambda m: "ɫ" + m.group(1), text)


def english_to_ipa2(text: str) -> str:
    """IPA of ``cjke_cleaners2``."""
    text = mark_dark_l(english_to_ipa(text))
    for old, new in IPA_TO_IPA2:
        text = text.replace(old, new)
    return text.replace("...", "…")


def english_to_lazy_ipa(text: str) -> str:
    """Simplified IPA of ``cjks_cleaners``."""
    text = english_to_ipa(text)
    for old, new in IPA_TO_LAZY_IPA:
        text = text.replace(old, new)
    return text
