"""Japanese front-end of VITS-fast-fine-tuning: Open JTalk phonemes with pitch-accent marks.

``japanese_to_romaji_with_accent`` splits the text at every character that is not Japanese
(kana, CJK ideographs, ``々``, ASCII/full-width letters and digits), runs each Japanese chunk
through ``pyopenjtalk.extract_fullcontext`` and writes its phonemes (``ch`` -> ``ʧ``,
``sh`` -> ``ʃ``, ``cl`` -> ``Q``; silences skipped). After a phoneme, from the label's
A-field (a1: mora position relative to the accent nucleus, a2/a3: mora position from the
start/end of the accent phrase) compared with the next phoneme's a2, it adds:
a space at an accent-phrase boundary, ``↓`` after the accent nucleus, ``↑`` after the first mora
when the pitch rises. Separators are kept, transliterated to ASCII, spaces removed.

pyopenjtalk needs its dictionary, which it downloads on first use. This module never lets it do
that silently: a missing package or dictionary raises MissingDependency saying what to install.
"""

from __future__ import annotations

import importlib
import os
import re
from types import ModuleType

from avatar_node.errors import MissingDependency
from avatar_node.tts.text import deps

_PURPOSE = "for Japanese (japanese_cleaners, zh_ja_mixture, cjke/cjks [JA])"
_JA_CLASS = (
    "A-Za-z\\d\u3005\u3040-\u30ff\u4e00-\u9fff\uff11-\uff19\uff21-\uff3a\uff41-\uff5a\uff66-\uff9d"
)
_JAPANESE = re.compile(f"[{_JA_CLASS}]")
_SEPARATOR = re.compile(f"[^{_JA_CLASS}]")
_PHONEME = re.compile(r"\-([^\+]*)\+")
_A1 = re.compile(r"/A:(\-?[0-9]+)\+")
_A2 = re.compile(r"\+(\d+)\+")
_A3 = re.compile(r"\+(\d+)/")

#: Geminate ``Q`` and moraic ``N`` assimilated to the following consonant (regex, template).
SOKUON: tuple[tuple[str, str], ...] = (
    (r"Q([↑↓]*[kg])", r"k#\1"),
    (r"Q([↑↓]*[tdjʧ])", r"t#\1"),
    (r"Q([↑↓]*[sʃ])", r"s\1"),
    (r"Q([↑↓]*[pb])", r"p#\1"),
)
HATSUON: tuple[tuple[str, str], ...] = (
    (r"N([↑↓]*[pbm])", r"m\1"),
    (r"N([↑↓]*[ʧʥj])", r"n^\1"),
    (r"N([↑↓]*[tdn])", r"n\1"),
    (r"N([↑↓]*[kg])", r"ŋ\1"),
)
#: Romaji -> IPA (cjks_cleaners) and -> IPA2 (cjke_cleaners2), literal, in order.
ROMAJI_TO_IPA: tuple[tuple[str, str], ...] = (
    ("ts", "ʦ"),
    ("u", "ɯ"),
    ("j", "ʥ"),
    ("y", "j"),
    ("ni", "n^i"),
    ("nj", "n^"),
    ("hi", "çi"),
    ("hj", "ç"),
    ("f", "ɸ"),
    ("I", "i*"),
    ("U", "ɯ*"),
    ("r", "ɾ"),
)
ROMAJI_TO_IPA2: tuple[tuple[str, str], ...] = (
    ("u", "ɯ"),
    ("ʧ", "tʃ"),
    ("j", "dʑ"),
    ("y", "j"),
    ("ni", "n^i"),
    ("nj", "n^"),
    ("hi", "çi"),
    ("hj", "ç"),
    ("f", "ɸ"),
    ("I", "i*"),
    ("U", "ɯ*"),
    ("r", "ɾ"),
)

_INSTALL = (
    "pip install pyopenjtalk (a build that imports with this numpy), then make its Open JTalk "
    "dictionary available: run `python -c \"import pyopenjtalk; pyopenjtalk.g2p('a')\"` once with "
    "internet access, or unpack open_jtalk_dic_utf_8-1.11 and set OPEN_JTALK_DICT_DIR to it "
    "(pyopenjtalk-plus bundles a dictionary, but not the reference's one)"
)


def _pyopenjtalk() -> ModuleType:
    try:
        mod = importlib.import_module("pyopenjtalk")
    except ImportError as exc:
        raise MissingDependency(
            f"the text front-end {_PURPOSE} needs pyopenjtalk, which is not installed: {_INSTALL}"
        ) from exc
    except Exception as exc:  # noqa: BLE001 - e.g. a wheel built against another numpy
        raise MissingDependency(
            f"pyopenjtalk is installed but cannot be imported ({exc!r}): {_INSTALL}"
        ) from exc
    dict_dir = getattr(mod, "OPEN_JTALK_DICT_DIR", None)
    if dict_dir is not None:
        path = os.fsdecode(dict_dir)
        if not os.path.isdir(path):
            raise MissingDependency(f"the Open JTalk dictionary is missing ({path}): {_INSTALL}")
    return mod


def _field(pattern: re.Pattern[str], label: str) -> str:
    """One field of an Open JTalk full-context label (every label has them all)."""
    match = pattern.search(label)
    if match is None:
        raise ValueError(f"unexpected Open JTalk label {label!r}")
    return match.group(1)


def _accent_mark(label: str, next_label: str) -> str:
    a1, a2, a3 = (int(_field(rx, label)) for rx in (_A1, _A2, _A3))
    nxt = _field(_PHONEME, next_label)
    a2_next = -1 if nxt in ("sil", "pau") else int(_field(_A2, next_label))
    if a3 == 1 and a2_next == 1:
        return " "
    if a1 == 0 and a2_next == a2 + 1:
        return "↓"
    if a2 == 1 and a2_next == 2:
        return "↑"
    return ""


def japanese_to_romaji_with_accent(text: str) -> str:
    """Japanese -> Open JTalk romaji with accent marks (``↑`` ``↓``) and phrase spaces."""
    text = text.replace("％", "パーセント")
    chunks = _SEPARATOR.split(text)
    separators = _SEPARATOR.findall(text)
    out = ""
    for i, chunk in enumerate(chunks):
        if _JAPANESE.match(chunk):
            jtalk = _pyopenjtalk()
            if out:
                out += " "
            labels = list(jtalk.extract_fullcontext(chunk))
            for n, label in enumerate(labels):
                phoneme = _field(_PHONEME, label)
                if phoneme in ("sil", "pau"):
                    continue
                out += phoneme.replace("ch", "ʧ").replace("sh", "ʃ").replace("cl", "Q")
                next_label = labels[n + 1] if n + 1 < len(labels) else "-sil+"
                out += _accent_mark(label, next_label)
        if i < len(separators):
            unidecode = deps.require("unidecode", _PURPOSE).unidecode
            out += unidecode(separators[i]).replace(" ", "")
    return out


def _assimilate(text: str) -> str:
    for pattern, template in SOKUON + HATSUON:
        text = re.sub(pattern, template, text)
    return text


def japanese_to_ipa(text: str) -> str:
    """Japanese -> the IPA of cjks_cleaners (long vowels written ``ː``)."""
    text = japanese_to_romaji_with_accent(text).replace("...", "…")
    text = re.sub(r"([aiueo])\1+", lambda m: m.group(0)[0] + "ː" * (len(m.group(0)) - 1), text)
    text = _assimilate(text)
    for old, new in ROMAJI_TO_IPA:
        text = text.replace(old, new)
    return text


def japanese_to_ipa2(text: str) -> str:
    """Japanese -> the IPA of cjke_cleaners2."""
    text = _assimilate(japanese_to_romaji_with_accent(text).replace("...", "…"))
    for old, new in ROMAJI_TO_IPA2:
        text = text.replace(old, new)
    return text


def japanese_cleaners(text: str) -> str:
    """``japanese_cleaners``: romaji with accents, a final ``.`` after a trailing letter."""
    return re.sub(r"([A-Za-z])$", r"\1.", japanese_to_romaji_with_accent(text))


def japanese_cleaners2(text: str) -> str:
    """``japanese_cleaners2``: as japanese_cleaners with ``ts`` -> ``ʦ`` and ``...`` -> ``…``."""
    return japanese_cleaners(text).replace("ts", "ʦ").replace("...", "…")
