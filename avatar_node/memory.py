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

#: glibc serves an allocation of at least ``M_MMAP_THRESHOLD`` bytes (128 KiB at first, raised as
#: such blocks are freed) with a fresh ``mmap``, and unmaps it on free. The decoder's activations
#: are 1-8 MB each and short-lived, so every one was mapped, faulted in page by page and unmapped
#: again: ~6000-8400 page faults and ~20-28 ms of system time per 256-frame decode (a quarter to
#: a third of a second of audio). Served from the heap instead, they are reused and fault 0
#: times. The cap is glibc's own maximum on 64-bit; freed memory at the top of the heap is kept
#: up to :data:`HEAP_TRIM_THRESHOLD` and :func:`release_memory` returns it after each utterance.
#: All threads share the main heap (one arena): a thread's own arena grows in heaps of at most
#: 64 MB that glibc maps and unmaps as a decode's buffers come and go (2500-4100 faults per decode
#: in a worker thread, 0 with one arena). The GIL already serialises most allocations.
MMAP_THRESHOLD = 32 << 20
HEAP_TRIM_THRESHOLD = 256 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8  # mallopt parameters (malloc.h)


def limit_kernel_cache() -> None:
    """Torch's native settings that must be in the environment before torch loads: a bounded
    oneDNN primitive cache, and OpenMP threads that sleep instead of spinning while they wait
    (on a busy 2-core machine spinning burns the slices the awaited thread needs; see
    docs/performance.md). The environment wins when it sets either."""
    os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", PRIMITIVE_CACHE_CAPACITY)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name) if name else None
    except OSError:
        return None


_LIBC = _libc()
_TRIM = getattr(_LIBC, "malloc_trim", None)


def keep_buffers_in_heap() -> bool:
    """Serve large short-lived buffers from glibc's heap instead of fresh mappings
    (:data:`MMAP_THRESHOLD`). False where this is not glibc or it refused; the environment's
    ``MALLOC_MMAP_THRESHOLD_`` wins when set."""
    mallopt = getattr(_LIBC, "mallopt", None)
    if mallopt is None or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    settings = [(_M_MMAP_THRESHOLD, MMAP_THRESHOLD), (_M_TRIM_THRESHOLD, HEAP_TRIM_THRESHOLD)]
    if "MALLOC_ARENA_MAX" not in os.environ:
        settings.append((_M_ARENA_MAX, 1))
    return all([bool(mallopt(param, value)) for param, value in settings])  # every one applied


def release_memory() -> None:
    """Return freed heap memory to the OS (glibc); a no-op elsewhere."""
    if _TRIM is not None:
        _TRIM(0)  # type: ignore[operator]
