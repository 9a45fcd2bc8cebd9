"""Piper's text → phoneme ids front-end, on the espeak-ng bundled with ``piper-tts``.

Conventions of piper-tts 1.8 (``piper.espeakbridge`` does the espeak-ng call):

* espeak returns clauses ``(phonemes, terminator, end_of_sentence)``; ``(lang)`` switch flags
  are removed, the terminator is kept as a symbol, and ``, : ;`` are followed by a space;
* a sentence (one model call) ends where espeak says so; text after the last one is a sentence;
* phoneme strings are NFD-decomposed into single code points; optional ``vowel_clusters``
  merge known sequences into one symbol;
* ``[[ raw phonemes ]]`` blocks in the text are passed through as symbols;
* ids are ``^ _ p1 _ p2 _ … pP _ $``; symbols missing from the map are dropped with a warning.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping, Sequence

import structlog

from avatar_node.errors import MissingDependency

log = structlog.get_logger(__name__)

BOS, EOS, PAD = "^", "$", "_"
_LANG_FLAG = re.compile(r"\([^)]+\)")
_RAW_BLOCK = re.compile(r"(\[\[.*?\]\])")
_lock = threading.Lock()
_initialized = False


def _bridge():  # type: ignore[no-untyped-def]
    """The espeak-ng bridge, initialised once with piper's bundled espeak-ng-data."""
    global _initialized
    try:
        from piper import espeakbridge
        from piper.phonemize_espeak import ESPEAK_DATA_DIR
    except ImportError as exc:
        raise MissingDependency(
            "Piper voices need piper-tts==1.8.0 (pip install piper-tts==1.8.0)"
        ) from exc
    if not _initialized:
        espeakbridge.initialize(str(ESPEAK_DATA_DIR))
        _initialized = True
    return espeakbridge


def _merge_clusters(phonemes: list[str], clusters: set[tuple[str, ...]]) -> list[str]:
    longest = max(len(c) for c in clusters)
    merged: list[str] = []
    i = 0
    while i < len(phonemes):
        for size in range(min(longest, len(phonemes) - i), 1, -1):
            if tuple(phonemes[i : i + size]) in clusters:
                merged.append("".join(phonemes[i : i + size]))
                i += size
                break
        else:
            merged.append(phonemes[i])
            i += 1
    return merged


def espeak_sentences(
    text: str, voice: str, vowel_clusters: set[tuple[str, ...]] | None = None
) -> list[list[str]]:
    """Phonemes of ``text`` grouped by espeak sentence (no raw-phoneme handling)."""
    sentences: list[list[str]] = []
    current: list[str] = []
    with _lock:
        bridge = _bridge()
        bridge.set_voice(voice)
        clauses = bridge.get_phonemes(text)
    for phonemes, terminator, sentence_end in clauses:
        clause = _LANG_FLAG.sub("", phonemes) + terminator
        if terminator in (",", ":", ";"):
            clause += " "
        current.extend(unicodedata.normalize("NFD", clause))
        if sentence_end:
            sentences.append(current)
            current = []
    if current:
        sentences.append(current)
    if vowel_clusters:
        sentences = [_merge_clusters(s, vowel_clusters) for s in sentences]
    return sentences


def phonemize(
    text: str, voice: str, vowel_clusters: set[tuple[str, ...]] | None = None
) -> list[list[str]]:
    """Text → phonemes per sentence, with ``[[ … ]]`` raw blocks as Piper handles them."""
    sentences: list[list[str]] = []
    parts = _RAW_BLOCK.split(text)
    after_raw = False
    for i, part in enumerate(parts):
        if part.startswith("[["):
            if not sentences:
                sentences.append([])
            if i > 0 and parts[i - 1].endswith(" "):
                sentences[-1].append(" ")
            sentences[-1].extend(part[2:-2].strip())
            if i < len(parts) - 1 and parts[i + 1].startswith(" "):
                sentences[-1].append(" ")
            after_raw = True
            continue
        found = espeak_sentences(part, voice, vowel_clusters)
        if after_raw and found:
            sentences[-1].extend(found[0])
            found = found[1:]
        sentences.extend(found)
        after_raw = False
    return [s for s in sentences if s]


def phonemes_to_ids(phonemes: Iterable[str], id_map: Mapping[str, Sequence[int]]) -> list[int]:
    """``^ _ (p _)* $`` through the voice's phoneme_id_map; unknown symbols dropped (warned)."""
    ids = [*id_map[BOS], *id_map[PAD]]
    missing: list[str] = []
    for phoneme in phonemes:
        if phoneme not in id_map:
            missing.append(phoneme)
            continue
        ids.extend(id_map[phoneme])
        ids.extend(id_map[PAD])
    ids.extend(id_map[EOS])
    if missing:
        log.warning("phonemes missing from the id map were dropped", phonemes=sorted(set(missing)))
    return ids


def text_phonemes(text: str) -> list[list[str]]:
    """``phoneme_type: text`` voices: the NFD code points of the whole text, one sentence."""
    return [list(unicodedata.normalize("NFD", text))] if text else []
