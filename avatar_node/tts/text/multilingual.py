"""Multilingual cleaners of VITS-fast-fine-tuning that read language marks.

``[ZH]你好[ZH][EN]hi[EN]``: for each language in the cleaner's order, every ``[XX]..[XX]``
segment (on one line: ``.`` does not cross newlines) is replaced by its conversion followed by a
space; text outside marks is kept as it is. Then trailing whitespace is removed and a ``.`` is
appended unless the text already ends in ``. , ! ? - … ~``. A language's packages are imported
only when a segment of that language is present.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from avatar_node.tts.text import english, japanese, korean, mandarin

Cleaner = Callable[[str], str]
_Segment = tuple[str, Cleaner]

_TRAILING_SPACE = re.compile(r"\s+$")
_NEEDS_PERIOD = re.compile(r"([^\.,!\?\-…~])$")


def _sanskrit_to_ipa(text: str) -> str:
    from avatar_node.tts.text.sanskrit import devanagari_to_ipa

    return devanagari_to_ipa(text)


def _segment_converter(convert: Cleaner) -> Callable[[re.Match[str]], str]:
    def run(match: re.Match[str]) -> str:
        return convert(match.group(1)) + " "

    return run


def _segments(text: str, steps: Sequence[_Segment]) -> str:
    """Convert each ``[XX]..[XX]`` segment (language by language, in ``steps`` order)."""
    for tag, convert in steps:
        pattern = re.compile(rf"\[{tag}\](.*?)\[{tag}\]")
        text = pattern.sub(_segment_converter(convert), text)
    text = _TRAILING_SPACE.sub("", text)
    return _NEEDS_PERIOD.sub(lambda m: m.group(1) + ".", text)


def _chain(*steps: Cleaner | tuple[str, str]) -> Cleaner:
    """Compose converters and literal (old, new) replacements, left to right."""

    def run(text: str) -> str:
        for step in steps:
            text = text.replace(*step) if isinstance(step, tuple) else step(text)
        return text

    return run


def zh_ja_mixture_cleaners(text: str) -> str:
    """Chinese and Japanese romaji (``zh_ja_mixture_cleaners``)."""
    ja = _chain(japanese.japanese_to_romaji_with_accent, ("ts", "ʦ"), ("u", "ɯ"), ("...", "…"))
    return _segments(text, (("ZH", mandarin.chinese_to_romaji), ("JA", ja)))


def cjks_cleaners(text: str) -> str:
    """Chinese, Japanese, Korean, Sanskrit, English in lazy IPA (``cjks_cleaners``)."""
    return _segments(
        text,
        (
            ("ZH", mandarin.chinese_to_lazy_ipa),
            ("JA", japanese.japanese_to_ipa),
            ("KO", korean.korean_to_lazy_ipa),
            ("SA", _sanskrit_to_ipa),
            ("EN", english.english_to_lazy_ipa),
        ),
    )


def cjke_cleaners(text: str) -> str:
    """Chinese, Japanese, Korean, English IPA, first version (``cjke_cleaners``)."""
    affricates = (("ʧ", "tʃ"), ("ʦ", "ts"), ("ɥan", "ɥæn"))
    vowels = (("ɑ", "a"), ("ɔ", "o"), ("ɛ", "e"), ("ɪ", "i"), ("ʊ", "u"))
    return _segments(
        text,
        (
            ("ZH", _chain(mandarin.chinese_to_lazy_ipa, *affricates)),
            ("JA", _chain(japanese.japanese_to_ipa, *affricates, ("ʥ", "dz"))),
            ("KO", korean.korean_to_ipa),
            ("EN", _chain(english.english_to_ipa2, *vowels)),
        ),
    )


def cjke_cleaners2(text: str) -> str:
    """Chinese, Japanese, Korean, English IPA (``cjke_cleaners2``, the pretrained models')."""
    return _segments(
        text,
        (
            ("ZH", mandarin.chinese_to_ipa),
            ("JA", japanese.japanese_to_ipa2),
            ("KO", korean.korean_to_ipa),
            ("EN", english.english_to_ipa2),
        ),
    )


def sanskrit_cleaners(text: str) -> str:
    """``sanskrit_cleaners``: dandas normalised, a final danda added."""
    text = text.replace("॥", "।").replace("ॐ", "ओम्")
    return re.sub("([^।])$", "\\1।", text)
