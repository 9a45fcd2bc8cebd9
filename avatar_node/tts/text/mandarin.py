"""Mandarin front-end of VITS-fast-fine-tuning: digits -> hanzi -> bopomofo -> IPA / romaji.

Steps, in the reference's order:

1. Arabic numbers (``\\d+`` with an optional decimal part) are read by ``cn2an.an2cn``, each one
   replacing the first occurrence of its digits ("2024" -> 二千零二十四, "3.5" -> 三点五).
2. ``、；：`` become ``，``; jieba cuts the text into words; each word holding a CJK ideograph is
   spelled with pypinyin's bopomofo (tone 1 written ``ˉ``) and preceded by a space unless it is
   the first output; any other word is kept as it is.
3. Remaining Latin letters are spelled letter by letter in bopomofo (case-insensitive).
4. Bopomofo is mapped to IPA (or the romaji used by ``zh_ja_mixture_cleaners``), then glides
   (``i``/``u`` before a vowel become ``j``/``w`` or ``y``/``w``) and the apical vowel after
   retroflex/dental sibilants (``ɹ``` / ``ɹ``) are added.

The tables are data: ordered (pattern, replacement) pairs applied one after the other over the
whole text, so that multi-letter units (``ㄧㄢ``) are matched before their parts (``ㄢ``).
"""

from __future__ import annotations

import re
import unicodedata

from avatar_node.tts.text import deps

_PURPOSE = "for Chinese (chinese_cleaners, cjke/cjks, zh_ja_mixture)"

# Letter names read the Chinese way (applied case-insensitively, a..z in order).
LATIN_TO_BOPOMOFO: tuple[tuple[str, str], ...] = (
    ("a", "ㄟˉ"),
    ("b", "ㄅㄧˋ"),
    ("c", "ㄙㄧˉ"),
    ("d", "ㄉㄧˋ"),
    ("e", "ㄧˋ"),
    ("f", "ㄝˊㄈㄨˋ"),
    ("g", "ㄐㄧˋ"),
    ("h", "ㄝˇㄑㄩˋ"),
    ("i", "ㄞˋ"),
    ("j", "ㄐㄟˋ"),
    ("k", "ㄎㄟˋ"),
    ("l", "ㄝˊㄛˋ"),
    ("m", "ㄝˊㄇㄨˋ"),
    ("n", "ㄣˉ"),
    ("o", "ㄡˉ"),
    ("p", "ㄆㄧˉ"),
    ("q", "ㄎㄧㄡˉ"),
    ("r", "ㄚˋ"),
    ("s", "ㄝˊㄙˋ"),
    ("t", "ㄊㄧˋ"),
    ("u", "ㄧㄡˉ"),
    ("v", "ㄨㄧˉ"),
    ("w", "ㄉㄚˋㄅㄨˋㄌㄧㄡˋ"),
    ("x", "ㄝˉㄎㄨˋㄙˋ"),
    ("y", "ㄨㄞˋ"),
    ("z", "ㄗㄟˋ"),
)

# Shared tail of the bopomofo tables: tone letters and full-width punctuation.
_TONES_AND_PUNCTUATION: tuple[tuple[str, str], ...] = (
    ("ˉ", "→"),
    ("ˊ", "↑"),
    ("ˇ", "↓↑"),
    ("ˋ", "↓"),
    ("˙", ""),
    ("，", ","),
    ("。", "."),
    ("！", "!"),
    ("？", "?"),
    ("—", "-"),
)

BOPOMOFO_TO_IPA: tuple[tuple[str, str], ...] = (
    ("ㄅㄛ", "p⁼wo"),
    ("ㄆㄛ", "pʰwo"),
    ("ㄇㄛ", "mwo"),
    ("ㄈㄛ", "fwo"),
    ("ㄅ", "p⁼"),
    ("ㄆ", "pʰ"),
    ("ㄇ", "m"),
    ("ㄈ", "f"),
    ("ㄉ", "t⁼"),
    ("ㄊ", "tʰ"),
    ("ㄋ", "n"),
    ("ㄌ", "l"),
    ("ㄍ", "k⁼"),
    ("ㄎ", "kʰ"),
    ("ㄏ", "x"),
    ("ㄐ", "tʃ⁼"),
    ("ㄑ", "tʃʰ"),
    ("ㄒ", "ʃ"),
    ("ㄓ", "ts`⁼"),
    ("ㄔ", "ts`ʰ"),
    ("ㄕ", "s`"),
    ("ㄖ", "ɹ`"),
    ("ㄗ", "ts⁼"),
    ("ㄘ", "tsʰ"),
    ("ㄙ", "s"),
    ("ㄚ", "a"),
    ("ㄛ", "o"),
    ("ㄜ", "ə"),
    ("ㄝ", "ɛ"),
    ("ㄞ", "aɪ"),
    ("ㄟ", "eɪ"),
    ("ㄠ", "ɑʊ"),
    ("ㄡ", "oʊ"),
    ("ㄧㄢ", "jɛn"),
    ("ㄩㄢ", "ɥæn"),
    ("ㄢ", "an"),
    ("ㄧㄣ", "in"),
    ("ㄩㄣ", "ɥn"),
    ("ㄣ", "ən"),
    ("ㄤ", "ɑŋ"),
    ("ㄧㄥ", "iŋ"),
    ("ㄨㄥ", "ʊŋ"),
    ("ㄩㄥ", "jʊŋ"),
    ("ㄥ", "əŋ"),
    ("ㄦ", "əɻ"),
    ("ㄧ", "i"),
    ("ㄨ", "u"),
    ("ㄩ", "ɥ"),
) + _TONES_AND_PUNCTUATION

BOPOMOFO_TO_ROMAJI: tuple[tuple[str, str], ...] = (
    ("ㄅㄛ", "p⁼wo"),
    ("ㄆㄛ", "pʰwo"),
    ("ㄇㄛ", "mwo"),
    ("ㄈㄛ", "fwo"),
    ("ㄅ", "p⁼"),
    ("ㄆ", "pʰ"),
    ("ㄇ", "m"),
    ("ㄈ", "f"),
    ("ㄉ", "t⁼"),
    ("ㄊ", "tʰ"),
    ("ㄋ", "n"),
    ("ㄌ", "l"),
    ("ㄍ", "k⁼"),
    ("ㄎ", "kʰ"),
    ("ㄏ", "h"),
    ("ㄐ", "ʧ⁼"),
    ("ㄑ", "ʧʰ"),
    ("ㄒ", "ʃ"),
    ("ㄓ", "ʦ`⁼"),
    ("ㄔ", "ʦ`ʰ"),
    ("ㄕ", "s`"),
    ("ㄖ", "ɹ`"),
    ("ㄗ", "ʦ⁼"),
    ("ㄘ", "ʦʰ"),
    ("ㄙ", "s"),
    ("ㄚ", "a"),
    ("ㄛ", "o"),
    ("ㄜ", "ə"),
    ("ㄝ", "e"),
    ("ㄞ", "ai"),
    ("ㄟ", "ei"),
    ("ㄠ", "au"),
    ("ㄡ", "ou"),
    ("ㄧㄢ", "yeNN"),
    ("ㄢ", "aNN"),
    ("ㄧㄣ", "iNN"),
    ("ㄣ", "əNN"),
    ("ㄤ", "aNg"),
    ("ㄧㄥ", "iNg"),
    ("ㄨㄥ", "uNg"),
    ("ㄩㄥ", "yuNg"),
    ("ㄥ", "əNg"),
    ("ㄦ", "əɻ"),
    ("ㄧ", "i"),
    ("ㄨ", "u"),
    ("ㄩ", "ɥ"),
) + _TONES_AND_PUNCTUATION

# Romaji -> "lazy" IPA (cjks/cjke); applied case-insensitively, in order.
ROMAJI_TO_LAZY_IPA: tuple[tuple[str, str], ...] = (
    ("ʃy", "ʃ"),
    ("ʧʰy", "ʧʰ"),
    ("ʧ⁼y", "ʧ⁼"),
    ("NN", "n"),
    ("Ng", "ŋ"),
    ("y", "j"),
    ("h", "x"),
)

_LATIN_RES = tuple((re.compile(a, re.IGNORECASE), b) for a, b in LATIN_TO_BOPOMOFO)
_LAZY_RES = tuple((re.compile(a, re.IGNORECASE), b) for a, b in ROMAJI_TO_LAZY_IPA)
_DIGIT_NAMES = "零一二三四五六七八九"
_NUMBER = re.compile(r"\d+(?:\.?\d+)?")
_HANZI = re.compile("[\u4e00-\u9fff]")
_BARE_SYLLABLE = re.compile("([\u3105-\u3129])$")


def _replace_all(text: str, table: tuple[tuple[str, str], ...]) -> str:
    for old, new in table:
        text = text.replace(old, new)
    return text


def _sub_all(text: str, table: tuple[tuple[re.Pattern[str], str], ...]) -> str:
    for pattern, new in table:
        text = pattern.sub(new.replace("\\", "\\\\"), text)  # literal replacement
    return text


def _digit_by_digit(number: str) -> str:
    return "".join("点" if ch == "." else _DIGIT_NAMES[unicodedata.digit(ch, 0)] for ch in number)


def number_to_chinese(text: str) -> str:
    """Read every Arabic number in Chinese with cn2an (left to right, first occurrence each)."""
    numbers = _NUMBER.findall(text)
    if not numbers:
        return text
    an2cn = deps.require("cn2an", _PURPOSE).an2cn
    for number in numbers:
        try:
            reading = an2cn(number)
        except Exception:  # noqa: BLE001 - cn2an rejects >16 digits and some non-ASCII digits
            reading = _digit_by_digit(number)  # where the reference would crash
        text = text.replace(number, reading, 1)
    return text


def chinese_to_bopomofo(text: str) -> str:
    """Segment with jieba and spell each Chinese word in bopomofo, words separated by spaces."""
    text = text.replace("、", "，").replace("；", "，").replace("：", "，")
    if not text:
        return text
    jieba = deps.jieba(_PURPOSE)
    pypinyin = deps.require("pypinyin", _PURPOSE)
    out: list[str] = []
    started = False
    for word in jieba.lcut(text, cut_all=False):
        if not _HANZI.search(word):
            out.append(word)
            started = started or bool(word)
            continue
        syllables = pypinyin.lazy_pinyin(word, style=pypinyin.Style.BOPOMOFO)
        if started:
            out.append(" ")
        out.append("".join(_BARE_SYLLABLE.sub("\\1ˉ", s) for s in syllables))
        started = True
    return "".join(out)


def latin_to_bopomofo(text: str) -> str:
    """Spell Latin letters by their Chinese letter names."""
    return _sub_all(text, _LATIN_RES)


def _to_bopomofo(text: str) -> str:
    return latin_to_bopomofo(chinese_to_bopomofo(number_to_chinese(text)))


def chinese_to_ipa(text: str) -> str:
    """Chinese (with digits and Latin letters) -> the IPA of ``cjke_cleaners2``."""
    text = _replace_all(_to_bopomofo(text), BOPOMOFO_TO_IPA)
    text = re.sub("i([aoe])", "j\\1", text)
    text = re.sub("u([aoəe])", "w\\1", text)
    text = re.sub("([sɹ]`[⁼ʰ]?)([→↓↑ ]+|$)", "\\1ɹ`\\2", text).replace("ɻ", "ɹ`")
    return re.sub("([s][⁼ʰ]?)([→↓↑ ]+|$)", "\\1ɹ\\2", text)


def chinese_to_romaji(text: str) -> str:
    """Chinese -> the romaji of ``zh_ja_mixture_cleaners``."""
    text = _replace_all(_to_bopomofo(text), BOPOMOFO_TO_ROMAJI)
    text = re.sub("i([aoe])", "y\\1", text)
    text = re.sub("u([aoəe])", "w\\1", text)
    text = re.sub("([ʦsɹ]`[⁼ʰ]?)([→↓↑ ]+|$)", "\\1ɹ`\\2", text).replace("ɻ", "ɹ`")
    return re.sub("([ʦs][⁼ʰ]?)([→↓↑ ]+|$)", "\\1ɹ\\2", text)


def chinese_to_lazy_ipa(text: str) -> str:
    """Chinese -> the simplified IPA of ``cjks_cleaners`` / ``cjke_cleaners``."""
    return _sub_all(chinese_to_romaji(text), _LAZY_RES)


def chinese_cleaners(text: str) -> str:
    """``chinese_cleaners``: whole text as Chinese, bopomofo output (``[ZH]`` marks removed)."""
    text = _to_bopomofo(text.replace("[ZH]", ""))
    return re.sub("([ˉˊˇˋ˙])$", "\\1。", text)
