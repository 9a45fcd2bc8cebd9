"""Per-language behaviour of the VITS front-ends (numbers, dates, letters, accents)."""

from __future__ import annotations

import sys
import types

import pytest

from avatar_node.tts.text import english, japanese, korean, mandarin, numbers
from avatar_node.tts.text.cleaners import clean_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("今天是2024年3月15日", "今天是二千零二十四年三月十五日"),
        ("气温25度", "气温二十五度"),
        ("增长了3.5%", "增长了三点五%"),  # the reference reads the number, not the % sign
        ("第1名和第10名", "第一名和第十名"),
        ("１２", "十二"),  # full-width digits are read by cn2an
        ("٣٤", "三四"),  # digits cn2an rejects are read one by one (the reference would crash)
        ("9" * 20 + ".5", "九" * 20 + "点五"),  # more than cn2an's 16 digits
    ],
)
def test_chinese_numbers(text: str, expected: str) -> None:
    assert mandarin.number_to_chinese(text) == expected


def test_chinese_bopomofo_words_and_punctuation() -> None:
    assert mandarin.chinese_to_bopomofo("你好，世界。") == "ㄋㄧˇㄏㄠˇ， ㄕˋㄐㄧㄝˋ。"
    # 、；： become full-width commas; tone 1 is written ˉ
    assert mandarin.chinese_to_bopomofo("一、二") == "ㄧˉ， ㄦˋ"


def test_chinese_latin_letters_are_spelled() -> None:
    assert mandarin.chinese_to_ipa("我有ABC") == "wo↓↑ joʊ↓↑eɪ→p⁼i↓si→"


def test_chinese_cleaners_end_with_a_full_stop_after_a_tone() -> None:
    assert mandarin.chinese_cleaners("[ZH]你好[ZH]") == "ㄋㄧˇㄏㄠˇ。"


def test_chinese_romaji_and_lazy_ipa() -> None:
    assert mandarin.chinese_to_romaji("你好，世界") == "ni↓↑hau↓↑, s`ɹ`↓ʧ⁼ye↓"
    assert mandarin.chinese_to_lazy_ipa("你好，世界") == "ni↓↑xau↓↑, s`ɹ`↓ʧ⁼e↓"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("i have 3 apples", "i have three apples"),
        ("$3.50", "three dollars, fifty cents"),
        ("$1", "one dollar"),
        ("$0.01", "one cent"),
        ("$0", "zero dollars"),
        ("the 21st", "the twenty-first"),
        ("1995", "nineteen ninety-five"),
        ("2005", "two thousand five"),
        ("1900", "nineteen hundred"),
        ("1905", "nineteen oh five"),
        ("2000", "two thousand"),
        ("1,000,000", "one million"),
        ("3.14", "three point fourteen"),
        ("1" * 40, " ".join(["one"] * 40)),  # too long for inflect: digit by digit
        ("$,5", ",five dollars"),  # the reference raises here
    ],
)
def test_english_numbers(text: str, expected: str) -> None:
    assert numbers.normalize_numbers(text) == expected


def test_english_numbers_up_to_inflects_limit_are_words() -> None:
    assert numbers.normalize_numbers("9" * 36).endswith("nine hundred ninety-nine")
    assert numbers.normalize_numbers("9" * 36 + "th").endswith("ninety-ninth")
    assert numbers.normalize_numbers("9" * 37) == " ".join(["nine"] * 37)
    assert numbers.normalize_numbers("5" * 5000).startswith("five five")


def test_english_abbreviations() -> None:
    assert (
        english.expand_abbreviations("dr. smith and mrs. jones") == "doctor smith and misess jones"
    )


def test_english_ipa_variants() -> None:
    assert english.english_to_ipa2("Hello world...") == "hɛˈloʊ wəɹɫd…"
    assert english.english_to_lazy_ipa("this") == "zis"
    assert english.mark_dark_l("pipəl") == "pipəɫ"


@pytest.mark.parametrize(
    ("num", "sino", "expected"),
    [
        ("0", True, "영"),
        ("1", True, "일"),
        ("10", True, "십"),
        ("11", True, "십일"),
        ("105", True, "백오"),
        ("2024", True, "이천이십사"),
        ("10000", True, "만"),
        ("100000000", True, "일억"),
        ("1,000", True, "천"),
        ("20", False, "스무"),
        ("11", False, "열한"),
        ("3", False, "세"),
    ],
)
def test_korean_numbers(num: str, sino: bool, expected: str) -> None:
    assert korean.hangul_number(num, sino) == expected


def test_korean_counters_and_leftover_digits() -> None:
    text = korean.number_to_hangul("사과 3개와 11개, 1개, 2024년 7")
    assert text == "사과 세개와 열한개, 한개, 이천이십사년 칠"


def test_korean_ipa_and_jamo() -> None:
    assert korean.korean_to_ipa("안녕하세요") == "ann^jəŋɦasʰejo"
    assert korean.korean_cleaners("닭") == "ㄷㅏㄹㄱ."
    assert clean_text("[KO]abc[KO]", ["cjke_cleaners2"]) == "eibiʃʰi."


def _label(phoneme: str, a1: int = 0, a2: int = 0, a3: int = 0) -> str:
    return f"xx^xx-{phoneme}+xx=xx/A:{a1}+{a2}+{a3}/B:xx-xx_xx/F:3_1#0_xx@1_1|1_3"


@pytest.fixture
def fake_openjtalk(monkeypatch: pytest.MonkeyPatch, tmp_path) -> list[str]:  # type: ignore[no-untyped-def]
    """A pyopenjtalk stand-in returning canned full-context labels for any chunk."""
    seen: list[str] = []
    labels = [
        _label("sil"),
        _label("k", 0, 1, 3), _label("o", 0, 1, 3),  # accent nucleus on mora 1 -> ↓
        _label("cl", 1, 2, 2),  # geminate
        _label("t", 2, 3, 1), _label("a", 2, 3, 1),  # last mora of the phrase -> space
        _label("sh", -1, 1, 2), _label("i", -1, 1, 2),  # rising 1 -> 2 -> ↑
        _label("N", 0, 2, 1),
        _label("sil"),
    ]  # fmt: skip
    fake = types.ModuleType("pyopenjtalk")
    fake.OPEN_JTALK_DICT_DIR = str(tmp_path).encode()  # type: ignore[attr-defined]

    def extract_fullcontext(text: str) -> list[str]:
        seen.append(text)
        return labels

    fake.extract_fullcontext = extract_fullcontext  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pyopenjtalk", fake)
    return seen


def test_japanese_accent_marks(fake_openjtalk: list[str]) -> None:
    assert japanese.japanese_to_romaji_with_accent("日本、日本") == "ko↓Qta ʃi↑N, ko↓Qta ʃi↑N"
    assert fake_openjtalk == ["日本", "日本"]  # split at the Japanese comma


def test_japanese_ipa_variants(fake_openjtalk: list[str]) -> None:
    assert japanese.japanese_to_ipa2("日本") == "ko↓t#ta ʃi↑N"
    assert japanese.japanese_to_ipa("日本") == "ko↓t#ta ʃi↑N"
    assert japanese.japanese_cleaners("日本") == "ko↓Qta ʃi↑N."
    assert clean_text("[JA]日本[JA]", ["zh_ja_mixture_cleaners"]) == "ko↓Qta ʃi↑N."


def test_sanskrit_segments() -> None:
    # Without indic_transliteration this fails with MissingDependency naming the package.
    assert clean_text("[SA]नमस्ते। धर्मः॥[SA]", ["cjks_cleaners"]) == "nəməst⁼eː, dʰəɾməhə*."
    assert clean_text("नमस्ते॥", ["sanskrit_cleaners"]) == "नमस्ते।"


def test_english_cleaners2_espeak() -> None:
    """jaywalnut310's LJSpeech front-end: espeak IPA with stress and punctuation."""
    # Without phonemizer/espeak this fails with MissingDependency saying what to install.
    cleaned = clean_text("Hello world, this is a test.", ["english_cleaners2"])
    assert cleaned == "həlˈoʊ wˈɜːld, ðɪs ɪz ɐ tˈɛst."
    assert clean_text("Hello world, this is a test.", ["english_cleaners"]) == (
        "həloʊ wɜːld ðɪs ɪz ɐ tɛst"
    )
