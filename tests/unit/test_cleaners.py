"""Unit tests of the VITS text front-end API: marks, blanks, dropped characters, errors."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest
from structlog.testing import capture_logs

from avatar_node.errors import BadRequest, CheckpointError, MissingDependency
from avatar_node.tts.text import deps
from avatar_node.tts.text.cleaners import (
    CLEANERS,
    apply_language_marks,
    clean_text,
    intersperse,
    supported_languages,
    text_to_sequence,
    warm_up,
)

CJKE2 = ["cjke_cleaners2"]
UMA_SYMBOLS = list("_,.!?-~…NQabdefghijklmnopstuvwxyzɑæʃʑçɯɪɔɛɹðəɫɥɸʊɾʒθβŋɦ⁼ʰ`^#*=ˈˌ→↓↑ ")


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("zh", "[ZH]你好[ZH]"),
        ("简体中文", "[ZH]你好[ZH]"),
        ("ZH", "[ZH]你好[ZH]"),
        ("ja", "[JA]你好[JA]"),
        ("日本語", "[JA]你好[JA]"),
        ("en", "[EN]你好[EN]"),
        ("English", "[EN]你好[EN]"),
        ("ko", "[KO]你好[KO]"),
        ("mix", "你好"),
        ("Mix", "你好"),
        (None, "你好"),
    ],
)
def test_language_marks(language: str | None, expected: str) -> None:
    assert apply_language_marks("你好", language, CJKE2) == expected


def test_marks_follow_reference_even_for_chinese_cleaners() -> None:
    # cmd_inference adds the mark whatever the cleaner; chinese_cleaners then reads it as text.
    assert apply_language_marks("hi", "English", ["chinese_cleaners"]) == "[EN]hi[EN]"


def test_mix_keeps_user_marks() -> None:
    text = "[ZH]你好，[ZH][EN]nice to meet you![EN]"
    assert apply_language_marks(text, "mix", CJKE2) == text


def test_no_marks_for_cleaners_that_do_not_read_them() -> None:
    assert apply_language_marks("hello", "en", ["basic_cleaners"]) == "hello"
    assert apply_language_marks("こんにちは", "ja", ["japanese_cleaners"]) == "こんにちは"


def test_unknown_language_is_a_bad_request() -> None:
    with pytest.raises(BadRequest, match="klingon"):
        apply_language_marks("x", "klingon", CJKE2)


@pytest.mark.parametrize("call", ["marks", "clean", "sequence"])
def test_unknown_cleaner_is_a_config_error(call: str) -> None:
    with pytest.raises(CheckpointError, match="no_such_cleaners") as info:
        if call == "marks":
            apply_language_marks("x", "zh", ["no_such_cleaners"])
        elif call == "clean":
            clean_text("x", ["basic_cleaners", "no_such_cleaners"])
        else:
            text_to_sequence("x", ["_", "x"], ["no_such_cleaners"], True)
    assert "data.text_cleaners" in info.value.message
    assert info.value.code == "engine_error"


def test_all_required_cleaners_are_registered() -> None:
    required = {
        "chinese_cleaners",
        "cjke_cleaners2",
        "zh_ja_mixture_cleaners",
        "english_cleaners2",
        "cjks_cleaners",
        "basic_cleaners",
        "english_cleaners",
    }
    assert required <= set(CLEANERS)


def test_intersperse() -> None:
    assert intersperse([], 0) == [0]
    assert intersperse([5], 0) == [0, 5, 0]
    assert intersperse([1, 2, 3], 0) == [0, 1, 0, 2, 0, 3, 0]


def test_add_blank_interleaves_symbol_ids() -> None:
    symbols = ["_", "a", "b", " "]
    plain, _ = text_to_sequence("ab a", symbols, [], add_blank=False)
    blank, _ = text_to_sequence("ab a", symbols, [], add_blank=True)
    assert plain == [1, 2, 3, 1]
    assert blank == [0, 1, 0, 2, 0, 3, 0, 1, 0]


def test_no_cleaners_means_symbol_input() -> None:
    assert clean_text("AbC  [ZH]", []) == "AbC  [ZH]"


def test_duplicate_symbol_takes_the_last_index() -> None:
    ids, _ = text_to_sequence("a", ["_", "a", "a"], [], add_blank=False)
    assert ids == [2]


def test_dropped_characters_are_returned_and_counted_in_a_warning() -> None:
    symbols = ["_", "a", "b"]
    with capture_logs() as logs:
        ids, dropped = text_to_sequence("axbyxa😀", symbols, [], add_blank=False)
    assert ids == [1, 2, 1]
    assert dropped == sorted({"x", "y", "😀"})
    warnings = [e for e in logs if e["event"] == "text_chars_dropped"]
    assert len(warnings) == 1
    assert warnings[0]["log_level"] == "warning"
    assert warnings[0]["count"] == 4
    assert warnings[0]["distinct"] == 3


def test_no_warning_when_nothing_is_dropped() -> None:
    with capture_logs() as logs:
        text_to_sequence("ab", ["_", "a", "b"], [], add_blank=True)
    assert not [e for e in logs if e["event"] == "text_chars_dropped"]


def test_missing_chinese_dependency_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pypinyin", None)  # makes `import pypinyin` fail
    with pytest.raises(MissingDependency, match=r"pip install 'pypinyin==0\.55\.0'"):
        clean_text("[ZH]你好[ZH]", CJKE2)


def test_missing_english_dependency(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "eng_to_ipa", None)
    with pytest.raises(MissingDependency, match="eng_to_ipa==0.0.2"):
        clean_text("[EN]hello[EN]", CJKE2)


def test_missing_pyopenjtalk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyopenjtalk", None)
    with pytest.raises(MissingDependency, match="pyopenjtalk") as info:
        clean_text("[JA]こんにちは[JA]", CJKE2)
    assert "dictionary" in info.value.message


def test_missing_openjtalk_dictionary(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    fake = types.ModuleType("pyopenjtalk")
    fake.OPEN_JTALK_DICT_DIR = str(tmp_path / "no-dic").encode()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pyopenjtalk", fake)
    with pytest.raises(MissingDependency, match="dictionary is missing"):
        clean_text("[JA]こんにちは[JA]", CJKE2)


def test_languages_without_segments_need_no_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Chinese-only text through cjke_cleaners2 never imports pyopenjtalk or ko_pron."""
    monkeypatch.setitem(sys.modules, "pyopenjtalk", None)
    monkeypatch.setitem(sys.modules, "ko_pron", None)
    assert clean_text("[ZH]你好[ZH]", CJKE2) == "ni↓↑xɑʊ↓↑."


def test_require_message() -> None:
    with pytest.raises(MissingDependency) as info:
        deps.require("surely_not_an_installed_module_xyz", "for a test")
    assert "pip install 'surely_not_an_installed_module_xyz'" in info.value.message


def test_symbols_from_uma_config_cover_cjke2_output() -> None:
    ids, dropped = text_to_sequence("[EN]Mr. Smith paid $3.50.[EN]", UMA_SYMBOLS, CJKE2, True)
    assert dropped == []
    assert ids[0] == 0 and ids[-1] == 0


def test_warm_up_reports_each_language(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyopenjtalk", None)
    status = warm_up(["cjke_cleaners2"])
    assert set(status) == {"ZH", "JA", "KO", "EN"}
    assert status["ZH"] is None and status["EN"] is None and status["KO"] is None
    assert status["JA"] is not None and "pip install pyopenjtalk" in status["JA"]


def test_warm_up_rejects_unknown_cleaners() -> None:
    with pytest.raises(CheckpointError):
        warm_up(["nope_cleaners"])


def test_supported_languages() -> None:
    assert supported_languages(["cjke_cleaners2"]) == ["zh", "ja", "ko", "en"]
    assert supported_languages(["chinese_cleaners"]) == ["zh"]
    assert supported_languages(["basic_cleaners"]) == []


def test_heavy_packages_are_imported_lazily() -> None:
    """Importing the front-end loads none of the language packages (only using a cleaner does)."""
    code = (
        "import sys, avatar_node.tts.text.cleaners as c; "
        "heavy = {'jieba', 'pypinyin', 'cn2an', 'eng_to_ipa', 'inflect', 'ko_pron', 'jamo', "
        "'pyopenjtalk', 'phonemizer', 'indic_transliteration', 'unidecode'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


def test_reference_cleaner_not_implemented_here() -> None:
    with pytest.raises(CheckpointError, match="thai_cleaners.*not implemented"):
        clean_text("x", ["thai_cleaners"])


def test_concurrent_use_gives_the_same_ids() -> None:
    """Voices synthesise in worker threads: the lazy initialisation must be thread-safe."""
    from concurrent.futures import ThreadPoolExecutor

    texts = ["[ZH]今天是2024年3月15日[ZH]", "[EN]Hello 21st world[EN]", "[KO]사과 3개[KO]"] * 4
    expected = [text_to_sequence(t, UMA_SYMBOLS, CJKE2, True) for t in texts]
    with ThreadPoolExecutor(max_workers=6) as pool:
        got = list(pool.map(lambda t: text_to_sequence(t, UMA_SYMBOLS, CJKE2, True), texts))
    assert got == expected
