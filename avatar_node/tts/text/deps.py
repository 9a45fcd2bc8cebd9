"""Lazy, explicit loading of the optional packages the text front-ends need.

Every heavy or optional package (jieba, pypinyin, cn2an, eng_to_ipa, inflect, pyopenjtalk, ...)
is imported only when a cleaner that needs it runs. A missing package becomes
:class:`~avatar_node.errors.MissingDependency` whose message says exactly what to install, so a
cleaner never silently produces wrong ids.
"""

from __future__ import annotations

import importlib
import logging
import threading
from types import ModuleType
from typing import Any

import structlog

from avatar_node.errors import MissingDependency

log = structlog.get_logger(__name__)

#: Module name -> (pip requirement giving the reference's output, extra install note).
PINNED: dict[str, tuple[str, str]] = {
    "jieba": ("jieba==0.42.1", ""),
    "pypinyin": ("pypinyin==0.55.0", ""),
    "cn2an": ("cn2an==0.5.24", ""),
    "eng_to_ipa": ("eng_to_ipa==0.0.2", ""),
    "inflect": ("inflect==7.6.0", ""),
    "unidecode": ("unidecode==1.4.0", ""),
    "jamo": ("jamo==0.4.1", ""),
    "ko_pron": ("ko_pron==1.3", ""),
    "indic_transliteration": ("indic_transliteration==2.3.82", ""),
    "phonemizer": ("phonemizer", " and the espeak-ng library (apt-get install espeak-ng)"),
}

_lock = threading.RLock()
_jieba_ready = False
_singletons: dict[str, Any] = {}


def require(module: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise MissingDependency naming the pip requirement to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        requirement, note = PINNED.get(top, (top, ""))
        raise MissingDependency(
            f"the text front-end {purpose} needs the Python package '{top}', which is not "
            f"installed: pip install '{requirement}'{note}"
        ) from exc


def jieba(purpose: str) -> ModuleType:
    """The jieba module, initialised once, quietly (its own logger prints to stderr)."""
    global _jieba_ready
    mod = require("jieba", purpose)
    if not _jieba_ready:
        with _lock:
            if not _jieba_ready:
                logging.getLogger("jieba").setLevel(logging.ERROR)
                mod.setLogLevel(logging.ERROR)
                mod.initialize()
                _jieba_ready = True
                log.debug("jieba_initialised")
    return mod


def singleton(key: str, factory: Any) -> Any:
    """A process-wide object built once by ``factory()`` (e.g. ``inflect.engine()``)."""
    obj = _singletons.get(key)
    if obj is None:
        with _lock:
            obj = _singletons.get(key)
            if obj is None:
                obj = factory()
                _singletons[key] = obj
    return obj
