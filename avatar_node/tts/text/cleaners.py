"""Text front-ends of VITS / VITS-fast-fine-tuning: language marks, cleaners, symbol ids.

Public API (used by the Voice class)::

    apply_language_marks(text, language, cleaner_names) -> str
    clean_text(text, cleaner_names) -> str
    text_to_sequence(text, symbols, cleaner_names, add_blank) -> (ids, dropped_chars)

Cleaners are looked up by the names a config lists in ``data.text_cleaners`` and applied in that
order. Multilingual cleaners read language-marked segments (``[ZH]你好[ZH][EN]hi[EN]``): each
segment is converted by its language, followed by a space; text outside marks is kept as it is;
trailing whitespace is removed and a ``.`` is added unless the text already ends in punctuation.
Every language's packages are imported only when a segment of that language is present.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import structlog

from avatar_node.errors import (
    AvatarError,
    BadRequest,
    CheckpointError,
    EngineError,
    MissingDependency,
)
from avatar_node.tts.text import japanese, korean, mandarin, western
from avatar_node.tts.text.multilingual import (
    cjke_cleaners,
    cjke_cleaners2,
    cjks_cleaners,
    sanskrit_cleaners,
    zh_ja_mixture_cleaners,
)

log = structlog.get_logger(__name__)

Cleaner = Callable[[str], str]


#: Cleaner name (as in ``data.text_cleaners``) -> function.
CLEANERS: dict[str, Cleaner] = {
    "chinese_cleaners": mandarin.chinese_cleaners,
    "zh_ja_mixture_cleaners": zh_ja_mixture_cleaners,
    "cjks_cleaners": cjks_cleaners,
    "cjke_cleaners": cjke_cleaners,
    "cjke_cleaners2": cjke_cleaners2,
    "japanese_cleaners": japanese.japanese_cleaners,
    "japanese_cleaners2": japanese.japanese_cleaners2,
    "korean_cleaners": korean.korean_cleaners,
    "sanskrit_cleaners": sanskrit_cleaners,
    "basic_cleaners": western.basic_cleaners,
    "transliteration_cleaners": western.transliteration_cleaners,
    "english_cleaners": western.english_cleaners,
    "english_cleaners2": western.english_cleaners2,
}

#: Cleaners that read ``[XX]`` language marks (chinese_cleaners only strips ``[ZH]``).
MARK_AWARE = frozenset(
    {
        "chinese_cleaners",
        "zh_ja_mixture_cleaners",
        "cjks_cleaners",
        "cjke_cleaners",
        "cjke_cleaners2",
    }
)

#: Language names (lower-cased) -> mark, as cmd_inference.py's menu plus ISO codes.
LANGUAGE_MARKS: dict[str, str] = {
    "zh": "[ZH]",
    "简体中文": "[ZH]",
    "chinese": "[ZH]",
    "mandarin": "[ZH]",
    "ja": "[JA]",
    "日本語": "[JA]",
    "japanese": "[JA]",
    "en": "[EN]",
    "english": "[EN]",
    "ko": "[KO]",
    "korean": "[KO]",
    "한국어": "[KO]",
    "sa": "[SA]",
    "sanskrit": "[SA]",
    "mix": "",
    "mixed": "",
}


#: Languages each cleaner can speak (mark names); used by :func:`warm_up`.
CLEANER_LANGUAGES: dict[str, tuple[str, ...]] = {
    "chinese_cleaners": ("ZH",),
    "zh_ja_mixture_cleaners": ("ZH", "JA"),
    "cjks_cleaners": ("ZH", "JA", "KO", "SA", "EN"),
    "cjke_cleaners": ("ZH", "JA", "KO", "EN"),
    "cjke_cleaners2": ("ZH", "JA", "KO", "EN"),
    "japanese_cleaners": ("JA",),
    "japanese_cleaners2": ("JA",),
    "korean_cleaners": ("KO",),
    "english_cleaners": ("EN",),
    "english_cleaners2": ("EN",),
}
_WARM_UP_SAMPLES = {"ZH": "你好1", "JA": "こんにちは", "KO": "안녕 1개", "EN": "hi 1", "SA": "नमः"}


_ISO = {"ZH": "zh", "JA": "ja", "KO": "ko", "EN": "en", "SA": "sa"}


def supported_languages(cleaner_names: list[str]) -> list[str]:
    """ISO codes of the languages these cleaners convert (e.g. ``['zh', 'ja', 'ko', 'en']``)."""
    seen: dict[str, None] = {}
    for name in cleaner_names:
        resolve_cleaner(name)
        for mark in CLEANER_LANGUAGES.get(name, ()):
            seen.setdefault(_ISO[mark], None)
    return list(seen)


#: Cleaners the reference repos define that avatar-node does not implement.
NOT_IMPLEMENTED = frozenset(
    {"thai_cleaners", "shanghainese_cleaners", "chinese_dialect_cleaners", "cjke_cleaners3"}
)


def resolve_cleaner(name: str) -> Cleaner:
    """The cleaner called ``name``; an unknown name is a config problem (CheckpointError)."""
    try:
        return CLEANERS[name]
    except (KeyError, TypeError):
        if name in NOT_IMPLEMENTED:
            raise CheckpointError(
                f"text cleaner {name!r} (data.text_cleaners) exists in the reference but is not "
                f"implemented by avatar-node (supported: {', '.join(sorted(CLEANERS))})"
            ) from None
        raise CheckpointError(
            f"unknown text cleaner {name!r} in the voice config's data.text_cleaners "
            f"(supported: {', '.join(sorted(CLEANERS))})"
        ) from None


def apply_language_marks(text: str, language: str | None, cleaner_names: list[str]) -> str:
    """Wrap ``text`` in the language's mark as cmd_inference.py does (``[ZH]text[ZH]``).

    ``None``/``mix`` leave the text as the user wrote it (marks included). Cleaners that do not
    read marks (english_cleaners2, japanese_cleaners, ...) get the text unchanged. Language names
    are matched case-insensitively; ISO codes are accepted besides cmd_inference's menu names.
    One deliberate difference: cmd_inference gives "Japanese" no mark (meant for
    japanese_cleaners models, which get none here either); with a mark-reading cleaner it is
    treated like 日本語, since unmarked text would not be converted at all.
    """
    for name in cleaner_names:
        resolve_cleaner(name)
    if language is None:
        return text
    key = language.strip()
    mark = LANGUAGE_MARKS.get(key.lower(), LANGUAGE_MARKS.get(key))
    if mark is None:
        raise BadRequest(
            f"unknown language {language!r} (known: zh, ja, en, ko, sa, mix and "
            f"简体中文, 日本語, English)"
        )
    if not mark or not MARK_AWARE.intersection(cleaner_names):
        return text
    return f"{mark}{text}{mark}"


def warm_up(cleaner_names: list[str]) -> dict[str, str | None]:
    """Load every package the cleaners need now (not on the first utterance).

    Returns language mark -> None when that language works, or the MissingDependency message
    when its optional package is absent (e.g. Japanese without pyopenjtalk). Unknown cleaner
    names raise CheckpointError.
    """
    status: dict[str, str | None] = {}
    for name in cleaner_names:
        resolve_cleaner(name)
        for lang in CLEANER_LANGUAGES.get(name, ()):
            sample = _WARM_UP_SAMPLES[lang]
            text = f"[{lang}]{sample}[{lang}]" if name in MARK_AWARE else sample
            try:
                clean_text(text, [name])
            except MissingDependency as exc:
                status[lang] = exc.message
                log.info(
                    "text_language_unavailable", cleaner=name, language=lang, reason=exc.message
                )
            else:
                status.setdefault(lang, None)
    return status


def clean_text(text: str, cleaner_names: list[str]) -> str:
    """Run the named cleaners in order (no cleaners: text unchanged, as for symbol input)."""
    cleaners = [resolve_cleaner(name) for name in cleaner_names]
    for name, cleaner in zip(cleaner_names, cleaners, strict=True):
        try:
            text = cleaner(text)
        except AvatarError:
            raise
        except Exception as exc:  # noqa: BLE001 - library failure, converted at the edge
            raise EngineError(f"text cleaner {name} failed: {exc!r}") from exc
    return text


def text_to_sequence(
    text: str, symbols: list[str], cleaner_names: list[str], add_blank: bool
) -> tuple[list[int], list[str]]:
    """Cleaned text -> symbol ids (blank 0 interspersed when ``add_blank``) and dropped chars.

    Each character of the cleaned text is looked up in ``symbols`` (the last index wins for a
    duplicated symbol, as in the reference); characters not in the set are skipped, as the
    reference does, and returned (sorted, unique) and counted in a warning.
    """
    cleaned = clean_text(text, cleaner_names)
    index = {symbol: i for i, symbol in enumerate(symbols)}
    ids: list[int] = []
    dropped: Counter[str] = Counter()
    for char in cleaned:
        symbol_id = index.get(char)
        if symbol_id is None:
            dropped[char] += 1
        else:
            ids.append(symbol_id)
    if dropped:
        log.warning(
            "text_chars_dropped",
            count=sum(dropped.values()),
            distinct=len(dropped),
            chars="".join(sorted(dropped)),
            kept=len(ids),
            cleaners=list(cleaner_names),
        )
    if add_blank:
        ids = intersperse(ids, 0)
    return ids, sorted(dropped)


def intersperse(ids: list[int], blank: int) -> list[int]:
    """``[a, b]`` -> ``[blank, a, blank, b, blank]``."""
    out = [blank] * (2 * len(ids) + 1)
    out[1::2] = ids
    return out
