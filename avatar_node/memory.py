"""Keep a long-running node's memory flat.

Every new sentence length gives oneDNN (torch's CPU kernels) new convolution shapes: it caches a
primitive per shape (up to 1024 by default) and glibc keeps the freed activation buffers in its
heap. Measured on the bundled voice over 36 sentences of new lengths: RSS grew ~16 MB per new
length (605 -> 983 MB); with the cache capped at 256 and the heap trimmed after each sentence,
~1.5 MB (422 -> 457 MB), at the same speed. The decoder now runs on fixed lengths only, so its
kernels are a bounded set that must stay cached (:data:`PRIMITIVE_CACHE_CAPACITY`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

#: Enough for the VITS decoder's fixed lengths (8 x 25-80 primitives by voice, per dtype and
#: thread count: :mod:`avatar_node.tts.vits.shapes`), Wav2Lip's layers at a few batch shapes,
#: and the text encoder and flow of recent sentences; with 256 the decoder's kernels were evicted
#: and rebuilt every sentence (RTF 3x). Measured over 80 sentences of new lengths after warm-up:
#: RSS +48 MB at 2048, +21 MB at 1024. Must be set before oneDNN's first primitive (this module
#: is imported by the package before torch runs anything).
PRIMITIVE_CACHE_CAPACITY = "2048"


def limit_kernel_cache() -> None:
    """Torch's native settings that must be in the environment before torch loads: a bounded
    oneDNN primitive cache, and OpenMP threads that sleep instead of spinning while they wait
    (on a busy 2-core machine spinning burns the slices the awaited thread needs; see
    docs/performance.md). The environment wins when it sets either."""
    os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", PRIMITIVE_CACHE_CAPACITY)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _libc_trim() -> object:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return getattr(libc, "malloc_trim", None)


_TRIM = _libc_trim()


def release_memory() -> None:
    """Return freed heap memory to the OS (glibc); a no-op elsewhere."""
    if _TRIM is not None:
        _TRIM(0)  # type: ignore[operator]
