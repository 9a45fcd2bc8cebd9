"""Korean front-end of VITS-fast-fine-tuning: letters and digits -> hangul -> IPA (ko_pron).

- Latin letters are replaced by their Korean names (``a`` -> 에이), case-insensitively.
- A number directly followed by a hangul word is read in native Korean (하나, 둘, ...) when that
  word starts with a counter such as 개/마리/번, otherwise in Sino-Korean (일, 이, ...); the
  digits left over are read one by one (``0`` -> 영).
- ``korean_to_ipa``: every hangul run is pronounced by ``ko_pron.romanise(..., 'ipa')`` (first
  variant only), then diacritics are simplified (``t͡ɕ`` -> ``tʃ``, unreleased ``̚`` -> ``#``, ...).
- ``korean_cleaners`` (Korean-only models) instead decomposes hangul into compatibility jamo.
"""

from __future__ import annotations

import re

from avatar_node.tts.text import deps

_PURPOSE = "for Korean (korean_cleaners, cjke/cjks [KO])"

#: Counters after which numbers are read with native Korean numerals.
#: A word counts as a counter when its first one or two letters occur in this text.
COUNTERS = (
    "군데 권 개 그루 닢 대 두 마리 모 모금 뭇 발 발짝 방 번 벌 보루 "
    "살 수 술 시 쌈 움큼 정 짝 채 척 첩 축 켤레 톨 통"
)

LATIN_TO_HANGUL: tuple[tuple[str, str], ...] = (
    ("a", "에이"),
    ("b", "비"),
    ("c", "시"),
    ("d", "디"),
    ("e", "이"),
    ("f", "에프"),
    ("g", "지"),
    ("h", "에이치"),
    ("i", "아이"),
    ("j", "제이"),
    ("k", "케이"),
    ("l", "엘"),
    ("m", "엠"),
    ("n", "엔"),
    ("o", "오"),
    ("p", "피"),
    ("q", "큐"),
    ("r", "아르"),
    ("s", "에스"),
    ("t", "티"),
    ("u", "유"),
    ("v", "브이"),
    ("w", "더블유"),
    ("x", "엑스"),
    ("y", "와이"),
    ("z", "제트"),
)

#: Compound jamo split into their parts (korean_cleaners).
DIVIDED_JAMO: tuple[tuple[str, str], ...] = (
    ("ㄳ", "ㄱㅅ"),
    ("ㄵ", "ㄴㅈ"),
    ("ㄶ", "ㄴㅎ"),
    ("ㄺ", "ㄹㄱ"),
    ("ㄻ", "ㄹㅁ"),
    ("ㄼ", "ㄹㅂ"),
    ("ㄽ", "ㄹㅅ"),
    ("ㄾ", "ㄹㅌ"),
    ("ㄿ", "ㄹㅍ"),
    ("ㅀ", "ㄹㅎ"),
    ("ㅄ", "ㅂㅅ"),
    ("ㅘ", "ㅗㅏ"),
    ("ㅙ", "ㅗㅐ"),
    ("ㅚ", "ㅗㅣ"),
    ("ㅝ", "ㅜㅓ"),
    ("ㅞ", "ㅜㅔ"),
    ("ㅟ", "ㅜㅣ"),
    ("ㅢ", "ㅡㅣ"),
    ("ㅑ", "ㅣㅏ"),
    ("ㅒ", "ㅣㅐ"),
    ("ㅕ", "ㅣㅓ"),
    ("ㅖ", "ㅣㅔ"),
    ("ㅛ", "ㅣㅗ"),
    ("ㅠ", "ㅣㅜ"),
)

#: ko_pron IPA -> the simplified IPA of cjks (applied case-insensitively, in order).
IPA_TO_LAZY_IPA: tuple[tuple[str, str], ...] = (
    ("t͡ɕ", "ʧ"),
    ("d͡ʑ", "ʥ"),
    ("ɲ", "n^"),
    ("ɕ", "ʃ"),
    ("ʷ", "w"),
    ("ɭ", "l`"),
    ("ʎ", "ɾ"),
    ("ɣ", "ŋ"),
    ("ɰ", "ɯ"),
    ("ʝ", "j"),
    ("ʌ", "ə"),
    ("ɡ", "g"),
    ("\u031a", "#"),
    ("\u0348", "="),
    ("\u031e", ""),
    ("\u0320", ""),
    ("\u0339", ""),
)

_LATIN_RES = tuple((re.compile(a, re.IGNORECASE), b) for a, b in LATIN_TO_HANGUL)
_LAZY_RES = tuple((re.compile(a, re.IGNORECASE), b) for a, b in IPA_TO_LAZY_IPA)
_NUMBER_WITH_WORD = re.compile(r"(\d[\d,]*)([\uac00-\ud71f]+)")
_HANGUL_RUN = re.compile("[\uac00-\ud7af]+")

_SINO_UNITS = dict(zip("123456789", "일이삼사오육칠팔구", strict=True))
_NATIVE_UNITS = dict(zip("123456789", "한 두 세 네 다섯 여섯 일곱 여덟 아홉".split(), strict=True))
_NATIVE_TENS = dict(
    zip("123456789", "열 스물 서른 마흔 쉰 예순 일흔 여든 아흔".split(), strict=True)
)
# Place value -> (suffix, whether a leading 일 is dropped): 십 백 천 만 ... 조 천.
_PLACES: dict[int, tuple[str, bool]] = {
    2: ("백", True),
    3: ("천", True),
    4: ("만", True),
    5: ("십", True),
    6: ("백", True),
    7: ("천", True),
    8: ("억", False),
    9: ("십", False),
    10: ("백", False),
    11: ("천", False),
    12: ("조", False),
    13: ("십", False),
    14: ("백", False),
    15: ("천", False),
}


def _sub_all(text: str, table: tuple[tuple[re.Pattern[str], str], ...]) -> str:
    for pattern, new in table:
        text = pattern.sub(new.replace("\\", "\\\\"), text)  # literal replacement
    return text


def latin_to_hangul(text: str) -> str:
    """Latin letters -> Korean letter names."""
    return _sub_all(text, _LATIN_RES)


def hangul_number(num: str, sino: bool = True) -> str:
    """Read a digit string (commas ignored) in Sino-Korean or, before counters, native Korean."""
    num = num.replace(",", "")
    if num == "0":
        return "영"
    if not sino and num == "20":
        return "스무"
    spelled: list[str] = []
    name = ""  # the reference keeps the previous digit's word for places above 10^15
    for index, digit in enumerate(num):
        place = len(num) - index - 1
        if place == 0:
            name = _SINO_UNITS.get(digit, "") if sino else _NATIVE_UNITS.get(digit, "")
        elif place == 1:
            name = (
                (_SINO_UNITS.get(digit, "") + "십").replace("일십", "십")
                if sino
                else _NATIVE_TENS.get(digit, "")
            )
        if digit == "0":
            if place % 4 != 0 or "".join(spelled[-min(3, len(spelled)) :]) == "":
                spelled.append("")
                continue
        if place in _PLACES:
            suffix, drop_one = _PLACES[place]
            name = _SINO_UNITS.get(digit, "") + suffix
            if drop_one:
                name = name.replace("일" + suffix, suffix)
        spelled.append(name)
    return "".join(spelled)


def number_to_hangul(text: str) -> str:
    """Numbers before a word by their reading (native before counters), other digits one by one."""
    # The reference walks an unordered set; longer numbers go first here so that
    # "1개" cannot rewrite the tail of "11개".
    pairs = sorted(set(_NUMBER_WITH_WORD.findall(text)), key=lambda p: (-len(p[0]), p))
    for num, word in pairs:
        native = word[:2] in COUNTERS or word[0] in COUNTERS
        text = text.replace(num + word, hangul_number(num, sino=not native) + word)
    for digit, name in zip("0123456789", "영일이삼사오육칠팔구", strict=True):
        text = text.replace(digit, name)
    return text


def divide_hangul(text: str) -> str:
    """Hangul syllables -> compatibility jamo, compound jamo split (korean_cleaners)."""
    jamo = deps.require("jamo", _PURPOSE)
    text = jamo.j2hcj(jamo.h2j(text))
    for old, new in DIVIDED_JAMO:
        text = text.replace(old, new)
    return text


def korean_to_lazy_ipa(text: str) -> str:
    """Korean (with Latin letters and digits) -> simplified IPA (cjks_cleaners)."""
    text = number_to_hangul(latin_to_hangul(text))
    if _HANGUL_RUN.search(text):
        ko_pron = deps.require("ko_pron", _PURPOSE)
        text = _HANGUL_RUN.sub(
            lambda m: str(ko_pron.romanise(m.group(0), "ipa")).split("] ~ [")[0], text
        )
    return _sub_all(text, _LAZY_RES)


def korean_to_ipa(text: str) -> str:
    """Korean -> the IPA of cjke_cleaners2 / cjke_cleaners."""
    return korean_to_lazy_ipa(text).replace("ʧ", "tʃ").replace("ʥ", "dʑ")


def korean_cleaners(text: str) -> str:
    """``korean_cleaners``: Korean-only models, jamo output."""
    text = divide_hangul(number_to_hangul(latin_to_hangul(text)))
    return re.sub("([\u3131-\u3163])$", "\\1.", text)
