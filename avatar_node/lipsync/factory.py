"""The name → factory table of lip-sync engines, and :func:`create_engine`.

``auto`` is Wav2Lip when a checkpoint is configured, else the weight-free ``viseme`` engine.
Adding an engine is one entry here; settings and the wire take their names from this table.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..errors import ConfigError
from ..log import get_logger
from .energy import EnergyEngine
from .engine import LipSyncEngine, NoneEngine, Wav2LipEngine
from .viseme import VisemeEngine

log = get_logger(__name__)

EngineFactory = Callable[..., LipSyncEngine]


def _wav2lip(
    checkpoint: str | Path | None = None,
    device: str = "auto",
    dtype: str = "auto",
    batch_size: int = 16,
    feather: int = 0,
) -> LipSyncEngine:
    if not checkpoint:
        raise ConfigError("lipsync.engine wav2lip needs lipsync.checkpoint (a wav2lip.pth)")
    engine = Wav2LipEngine.from_checkpoint(
        checkpoint, device=device, dtype=dtype, batch_size=batch_size, feather=feather
    )
    log.info(
        "lip-sync engine",
        engine="wav2lip",
        checkpoint=str(checkpoint),
        device=str(engine.device),
        dtype=str(engine.dtype),
        batch=batch_size,
    )
    return engine


def _simple(cls: Callable[..., LipSyncEngine], note: str) -> EngineFactory:
    def make(
        checkpoint: str | Path | None = None,
        device: str = "auto",
        dtype: str = "auto",
        batch_size: int = 16,
        feather: int = 0,
    ) -> LipSyncEngine:
        engine = cls(batch_size=batch_size)
        log.info("lip-sync engine", engine=engine.name, note=note)
        return engine

    return make


def _auto(checkpoint: str | Path | None = None, **kw) -> LipSyncEngine:  # type: ignore[no-untyped-def]
    return ENGINES["wav2lip" if checkpoint else "viseme"](checkpoint, **kw)


def _table() -> dict[str, EngineFactory]:
    return {
        "auto": _auto,
        "viseme": _simple(VisemeEngine, "mouth shapes from the voice's phonemes"),
        "energy": _simple(EnergyEngine, "mouth follows loudness"),
        "wav2lip": _wav2lip,
        "none": _simple(NoneEngine, "avatar frames unchanged"),
    }


ENGINES: dict[str, EngineFactory] = _table()
"""Engine name → factory; ``auto`` = wav2lip with a checkpoint, else viseme."""
ENGINE_NAMES: tuple[str, ...] = tuple(ENGINES)


def create_engine(
    engine: str = "auto",
    checkpoint: str | Path | None = None,
    device: str = "auto",
    dtype: str = "auto",
    batch_size: int = 16,
    *,
    feather: int = 0,
) -> LipSyncEngine:
    """Build the engine named ``engine`` (a key of :data:`ENGINES`)."""
    name = (engine or "auto").strip().lower()
    factory = ENGINES.get(name)
    if factory is None:
        raise ConfigError(f"unknown lip-sync engine {engine!r} (use {', '.join(ENGINES)})")
    return factory(checkpoint, device=device, dtype=dtype, batch_size=batch_size, feather=feather)
