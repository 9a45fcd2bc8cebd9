"""The keithito/tacotron cleaners of jaywalnut310/vits (``basic``, ``transliteration``,
``english_cleaners``, ``english_cleaners2``).

- ``basic_cleaners``: lower-case, collapse whitespace.
- ``transliteration_cleaners``: unidecode to ASCII, lower-case, collapse whitespace.
- ``english_cleaners`` / ``english_cleaners2``: ASCII, lower-case, abbreviations expanded, then
  espeak-ng IPA through the ``phonemizer`` package (``en-us``, stripped; ``english_cleaners2``
  also keeps punctuation and writes stress marks), whitespace collapsed. Numbers are left to
  espeak, as in the reference.

phonemizer needs the espeak-ng shared library: the ``espeakng_loader`` wheel (bundles it) or
the system's ``libespeak-ng`` (``apt-get install espeak-ng``). Without either the cleaner raises
MissingDependency instead of producing ids from un-phonemized text.
"""

from __future__ import annotations

import threading
from typing import Any

from avatar_node.errors import MissingDependency
from avatar_node.tts.text import deps
from avatar_node.tts.text.english import collapse_whitespace, expand_abbreviations, to_ascii

_PURPOSE = "english_cleaners/english_cleaners2"
_INSTALL = (
    "pip install phonemizer espeakng_loader (or pip install phonemizer and "
    "apt-get install espeak-ng)"
)
_lock = threading.Lock()


def basic_cleaners(text: str) -> str:
    """Lower-case and collapse whitespace, nothing else."""
    return collapse_whitespace(text.lower())


def transliteration_cleaners(text: str) -> str:
    """ASCII transliteration, lower-case, collapsed whitespace."""
    return collapse_whitespace(to_ascii(text).lower())


def _backend(with_punctuation: bool) -> Any:
    """A cached phonemizer EspeakBackend for en-us."""

    def build() -> Any:
        try:
            backend_mod = deps.require("phonemizer.backend", _PURPOSE)
        except MissingDependency as exc:
            raise MissingDependency(f"{exc.message}. To install: {_INSTALL}") from exc
        try:
            loader = deps.require("espeakng_loader", _PURPOSE)
            wrapper = deps.require("phonemizer.backend.espeak.wrapper", _PURPOSE)
            wrapper.EspeakWrapper.set_library(loader.get_library_path())
            wrapper.EspeakWrapper.set_data_path(loader.get_data_path())
        except MissingDependency:
            pass  # fall back to the system libespeak-ng
        try:
            return backend_mod.EspeakBackend(
                "en-us",
                preserve_punctuation=with_punctuation,
                with_stress=with_punctuation,
            )
        except RuntimeError as exc:  # "espeak not installed on your system"
            raise MissingDependency(
                f"{_PURPOSE} need the espeak-ng library ({exc}); {_INSTALL}"
            ) from exc

    return deps.singleton(f"espeak-en-us-{with_punctuation}", build)


def _phonemize(text: str, with_punctuation: bool) -> str:
    """As ``phonemizer.phonemize`` on a string: one utterance per non-blank line."""
    lines = [line for line in text.strip("\n").split("\n") if line.strip()]
    if not lines:
        return ""
    backend = _backend(with_punctuation)
    with _lock:  # the espeak library is not re-entrant
        result = backend.phonemize(lines, strip=True)
    return "\n".join(str(line) for line in result)


def english_cleaners(text: str) -> str:
    """espeak IPA without punctuation or stress (jaywalnut310 ``english_cleaners``)."""
    text = expand_abbreviations(to_ascii(text).lower())
    return collapse_whitespace(_phonemize(text, with_punctuation=False))


def english_cleaners2(text: str) -> str:
    """espeak IPA with punctuation and stress (jaywalnut310 ``english_cleaners2``, LJSpeech)."""
    text = expand_abbreviations(to_ascii(text).lower())
    return collapse_whitespace(_phonemize(text, with_punctuation=True))
