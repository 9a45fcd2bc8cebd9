"""The one phoneme → viseme table: every symbol set a voice feeds its model, to the OVR visemes.

Symbols are the model's own input symbols (one per id): espeak-ng IPA code points (Piper voices,
NFD-decomposed), VITS-fast-fine-tuning IPA cleaners, the Chinese cleaners' bopomofo or
pinyin-style Latin letters with tone digits, Japanese romaji and kana, Korean jamo.

Each symbol has a *role*:

* ``phone``: sounds, with a viseme; punctuation, spaces and other separators are phones with
  viseme ``sil``;
* ``after``: a modifier of the phone before it (length ``ː``, aspiration ``ʰ``, combining
  diacritics, tone letters/digits, pitch arrows, ``ー``): folded into that phone;
* ``before``: a modifier of the phone after it (stress ``ˈ ˌ``): folded into that phone.

Plain ASCII letters mean different sounds in IPA (``j`` = glide, ``x`` = velar fricative) and in
pinyin/romaji (``j``, ``x`` = palatal affricate/fricative), so they have two columns: the symbol
set's ``kind`` is ``ipa`` or ``latin``. Symbols found nowhere fall back to their NFKC form
(full-width letters), then their lower case, then their NFD base letter; punctuation, symbols
and spaces are ``sil``; any other letter is the neutral ``E``. ``docs/visemes.md`` is generated
from this module (:func:`markdown_table`).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import Literal

from avatar_node.media.alignment import VISEMES

SymbolKind = Literal["ipa", "latin"]
Role = Literal["phone", "after", "before"]

#: Non-ASCII symbols, by viseme: IPA (espeak-ng and the cleaners), bopomofo, Hangul jamo.
_COMMON: dict[str, tuple[str, str, str]] = {
    #      (IPA,                    bopomofo,  Hangul jamo)
    "PP": ("ɸβɓʙ", "ㄅㄆㄇ", "ㅁㅂㅍㅃ"),
    "FF": ("ɱʋⱱ", "ㄈ", ""),
    "TH": ("θð", "", ""),
    "DD": ("ɾɗʈɖɽǀǁǂǃ", "ㄉㄊ", "ㄷㅌㄸ"),
    "kk": ("ɡɣχʁʀħʕʔɢɦɠʛʜʢʡ", "ㄍㄎㄏ", "ㄱㅋㄲㅎ"),
    "CH": ("ʃʒʧʤʥʨɕʑçʂʐɟʝɧʄ", "ㄐㄑㄒㄓㄔㄕ", "ㅈㅊㅉ"),
    "SS": ("ʦʣ", "ㄗㄘㄙ", "ㅅㅆ"),
    "nn": ("ŋɲɳɴɫɭʎɬɮʟɺ", "ㄋㄌ", "ㄴㄹㅇ"),
    "RR": ("ɹɻɚɝ", "ㄖㄦ", ""),
    "aa": ("ɑɐæʌɶ", "ㄚㄞㄠㄢㄤ", "ㅏㅑ"),
    "E": ("ɛəɜɘɤεᵊ", "ㄜㄝㄟㄣㄥ", "ㅐㅒㅔㅖ"),
    "ih": ("ɪɨɯɰᵻ", "ㄧ", "ㅣㅡㅢ"),
    "oh": ("ɔɒøœɵɞ", "ㄛㄡ", "ㅗㅛㅓㅕ"),
    "ou": ("ʊʉʏɥʍ", "ㄨㄩ", "ㅜㅠ"),
}

#: ASCII letters: IPA reading (espeak-ng, IPA cleaners) and pinyin/romaji reading.
_LETTERS: dict[SymbolKind, dict[str, str]] = {
    "ipa": {
        "PP": "bmp",
        "FF": "fv",
        "DD": "dt",
        "kk": "cghkqx",
        "SS": "sz",
        "nn": "ln",
        "RR": "r",
        "aa": "a",
        "E": "e",
        "ih": "ij",
        "oh": "o",
        "ou": "uwy",
    },
    "latin": {
        "PP": "bmp",
        "FF": "f",
        "DD": "dt",
        "kk": "ghk",
        "CH": "jqx",
        "SS": "csz",
        "nn": "ln",
        "RR": "r",
        "aa": "a",
        "E": "e",
        "ih": "iy",
        "oh": "o",
        "ou": "uvw",
    },
}

#: Upper-case letters with a meaning of their own (Japanese cleaners: moraic N, geminate Q,
#: devoiced I/U), both kinds.
_UPPER = {"N": "nn", "Q": "DD", "I": "ih", "U": "ou"}

#: Modifiers of the previous phone, and of the next one.
AFTER = "ːˑʰʲʷˤ˞⁼`ʼ*#^ˉˊˇˋ˙˥˦˧˨˩↑↓→↗↘ー〜0123456789"
BEFORE = "ˈˌ"

_KANA_VOWELS = {"A": "aa", "I": "ih", "U": "ou", "E": "E", "O": "oh"}


@lru_cache(maxsize=2)
def _table(kind: SymbolKind) -> dict[str, str]:
    table: dict[str, str] = {}
    for viseme, groups in _COMMON.items():
        for symbol in "".join(groups):
            table[symbol] = viseme
    for viseme, letters in _LETTERS[kind].items():
        for symbol in letters:
            table[symbol] = viseme
    table.update(_UPPER)
    return table


def _kana(symbol: str) -> str | None:
    """Hiragana/katakana by the vowel of the mora (``か`` → aa); ``ん`` → nn; ``っ`` → DD."""
    try:
        name = unicodedata.name(symbol)
    except ValueError:
        return None
    if not name.startswith(("HIRAGANA LETTER ", "KATAKANA LETTER ")):
        return None
    syllable = name.split()[-1]
    if syllable == "N":
        return "nn"
    if name.endswith(("SMALL TU", "SMALL TSU")):
        return "DD"
    return _KANA_VOWELS.get(syllable[-1], "E")


def role(symbol: str) -> Role:
    """How a symbol takes part in the timeline (see the module docstring)."""
    if len(symbol) == 1:
        if symbol in BEFORE:
            return "before"
        if symbol in AFTER or unicodedata.category(symbol) in ("Mn", "Me", "Lm", "Sk"):
            return "after" if symbol not in _table("ipa") else "phone"
    return "phone"


def viseme(symbol: str, kind: SymbolKind = "ipa") -> str:
    """The viseme of one symbol (of a phone made of several code points: its first letter)."""
    table = _table(kind)
    for char in symbol:
        if char in BEFORE or (len(symbol) > 1 and role(char) == "after"):
            continue
        found = _viseme_of_char(char, table)
        if found is not None:
            return found
    return "sil"


def _viseme_of_char(char: str, table: dict[str, str]) -> str | None:
    """Viseme of a code point; None for one that carries none (a modifier)."""
    if char in table:
        return table[char]
    kana = _kana(char)
    if kana is not None:
        return kana
    compat = unicodedata.normalize("NFKC", char)
    for form in (compat, compat.lower()):
        if form != char and form in table:
            return table[form]
    base = unicodedata.normalize("NFD", char)[:1]
    if base != char and base in table:
        return table[base]
    category = unicodedata.category(char)
    if category[0] in "PSZC":
        return "sil"
    if category[0] == "L":
        return "E"
    return None


def markdown_table() -> str:
    """The table as markdown (``docs/visemes.md``)."""
    lines = [
        "# Phoneme → viseme table",
        "",
        "Generated from `avatar_node/tts/text/visemes.py` (the only copy; regenerate with",
        "`python -m avatar_node.tts.text.visemes > docs/visemes.md`). Visemes are the 15",
        "Oculus/OVR names. Silence, pauses, punctuation and spaces are `sil`; blanks (`add_blank`)",
        "and Piper's `^ _ $` are folded into their neighbours (half to each side).",
        "",
        "| viseme | IPA (espeak-ng, IPA cleaners) | ASCII as IPA | ASCII as pinyin/romaji "
        "| bopomofo | Hangul jamo |",
        "|---|---|---|---|---|---|",
    ]
    for name in VISEMES[1:]:
        ipa, bopomofo, jamo = _COMMON.get(name, ("", "", ""))
        cells = [
            " ".join(ipa),
            " ".join(_LETTERS["ipa"].get(name, "")),
            " ".join(_LETTERS["latin"].get(name, "")),
            " ".join(bopomofo),
            " ".join(jamo),
        ]
        lines.append(f"| `{name}` | " + " | ".join(c or "–" for c in cells) + " |")
    upper = ", ".join(f"`{k}` → `{v}`" for k, v in _UPPER.items())
    lines += [
        "",
        f"- Upper-case letters of the Japanese cleaners: {upper}; other capitals as lower case;",
        "  full-width letters by their NFKC form; accented letters by their base letter.",
        "- Kana: by the vowel of the mora (`か` → `aa`, `き` → `ih`, `く` → `ou`, `け` → `E`,",
        "  `こ` → `oh`), `ん` → `nn`, `っ` → `DD`.",
        f"- Folded into the phone before: `{' '.join(AFTER)}` and combining diacritics.",
        f"- Folded into the phone after: `{' '.join(BEFORE)}`.",
        "- Punctuation, spaces, symbols → `sil`; any other letter → `E`.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table(), end="")
