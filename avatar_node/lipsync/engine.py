"""Lip-sync engines: the common interface, ``wav2lip``, ``none`` and the factory.

An engine turns one audio segment into exactly ``n_frames`` full avatar frames, yielded in
batches so that a caller can publish and check for cancellation between batches. Engines are
synchronous and hold no threads; the pipeline's lip-sync stage owns the thread.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import torch

from ..device import resolve_device, resolve_dtype
from ..errors import ConfigError
from ..media.resample import resample_to_16k
from .audio import mel_windows
from .avatar_data import Avatar
from .paste import paste_face, to_uint8_hwc
from .wav2lip import Wav2Lip, bf16_supported, fuse_batchnorm, load_wav2lip

log = logging.getLogger(__name__)
ENGINES = ("auto", "wav2lip", "energy", "none")


@runtime_checkable
class LipSyncEngine(Protocol):
    name: str  # "wav2lip" | "energy" | "none"

    def render(
        self, avatar: Avatar, audio: np.ndarray, sample_rate: int, first_frame: int, n_frames: int
    ) -> Iterator[np.ndarray]:
        """Yield batches of BGR uint8 frames ``[b,H,W,3]``, exactly ``n_frames`` in total;
        frame k uses avatar frame ``first_frame + k`` (looping video)."""
        ...


def _batches(
    first_frame: int, n_frames: int, size: int, avatar: Avatar
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(k, idx)`` per batch: positions within the segment and looping avatar frame indices."""
    for start in range(0, max(0, n_frames), size):
        k = np.arange(start, min(n_frames, start + size))
        yield k, (first_frame + k) % avatar.n_frames


class NoneEngine:
    """Avatar frames unchanged (no lip sync)."""

    name = "none"

    def __init__(self, batch_size: int = 16) -> None:
        self.batch_size = batch_size

    def warmup(self, avatar: Avatar) -> None:
        """Nothing to prime."""

    def render(
        self, avatar: Avatar, audio: np.ndarray, sample_rate: int, first_frame: int, n_frames: int
    ) -> Iterator[np.ndarray]:
        for _, idx in _batches(first_frame, n_frames, self.batch_size, avatar):
            yield avatar.frames[idx].copy()


class Wav2LipEngine:
    """Batched Wav2Lip inference with pasting back into the avatar frames.

    float32 runs the BN-folded model (channels-last on CPU, measured faster); ``bfloat16`` on the
    CPU and ``float16`` on CUDA cast the folded weights once and run under autocast (inputs stay
    float32: the first convolutions are faster that way). For a still avatar the face-encoder
    half is computed once per avatar (``cache_faces``) and reused for every audio window.
    """

    name = "wav2lip"

    def __init__(
        self,
        model: Wav2Lip,
        *,
        device: str | torch.device = "cpu",
        dtype: str | torch.dtype | None = None,
        batch_size: int = 16,
        feather: int = 0,
        cache_faces: bool = True,
        fuse: bool = True,
        channels_last: bool | None = None,
    ) -> None:
        self.device = device if isinstance(device, torch.device) else resolve_device(device)
        self.dtype = dtype if isinstance(dtype, torch.dtype) else resolve_dtype(dtype, self.device)
        if self.dtype is torch.bfloat16 and self.device.type == "cpu" and not bf16_supported():
            log.warning("this CPU has no native bfloat16 support; bfloat16 will be slow")
        self.batch_size = max(1, int(batch_size))
        self.feather = int(feather)
        self.cache_faces = cache_faces
        if channels_last is None:  # measured: helps float32 on CPU, not bf16 autocast
            channels_last = self.dtype is torch.float32 or self.device.type == "cuda"
        self.channels_last = channels_last
        model = fuse_batchnorm(model) if fuse else model
        # Under autocast every conv casts its weight to the low dtype on each call; casting the
        # (folded) weights once gives the same numbers and is ~25 % faster on this CPU.
        model = model.to(device=self.device, dtype=self.dtype).eval()
        if channels_last:
            model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        self.model = model
        self._feats: OrderedDict[str, list[torch.Tensor]] = OrderedDict()
        self._lock = threading.Lock()  # several channels' stages may share one engine

    @classmethod
    def from_checkpoint(
        cls,
        checkpoint: str | Path,
        *,
        device: str = "auto",
        dtype: str = "auto",
        batch_size: int = 16,
        **kwargs,
    ) -> Wav2LipEngine:
        dev = resolve_device(device)
        model = load_wav2lip(checkpoint, device="cpu")
        return cls(
            model, device=dev, dtype=resolve_dtype(dtype, dev), batch_size=batch_size, **kwargs
        )

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.dtype is torch.float32:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        t = torch.from_numpy(array).to(self.device)
        return t.contiguous(memory_format=torch.channels_last) if self.channels_last else t

    def _still_features(self, avatar: Avatar) -> list[torch.Tensor]:
        with self._lock:
            feats = self._feats.get(avatar.key)
        if feats is None:
            faces = self._tensor(avatar.face_inputs([0]))
            with torch.inference_mode(), self._autocast():
                feats = self.model.encode_faces(faces)
            with self._lock:
                self._feats[avatar.key] = feats
                while len(self._feats) > 8:
                    self._feats.popitem(last=False)
        return feats

    def predict(self, avatar: Avatar, mels: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """Generated faces ``[n,96,96,3]`` uint8 for mel windows ``[n,1,80,16]`` and frames idx."""
        mel = self._tensor(np.ascontiguousarray(mels, dtype=np.float32))
        with torch.inference_mode():
            if avatar.is_still and self.cache_faces and avatar.key:
                feats = self._still_features(avatar)
                with self._autocast():
                    out = self.model.decode(mel, feats)
            else:
                faces = self._tensor(avatar.face_inputs(idx))
                with self._autocast():
                    out = self.model(mel, faces)
            pred = out.float().cpu().numpy()
        return to_uint8_hwc(pred)

    def warmup(self, avatar: Avatar) -> None:
        """One batch on silence: primes oneDNN kernels and the face-feature cache."""
        for _ in self.render(avatar, np.zeros(3200, np.float32), 16000, 0, min(2, self.batch_size)):
            pass

    def render(
        self, avatar: Avatar, audio: np.ndarray, sample_rate: int, first_frame: int, n_frames: int
    ) -> Iterator[np.ndarray]:
        if n_frames <= 0:
            return
        mels = mel_windows(resample_to_16k(audio, sample_rate), n_frames, avatar.fps)
        for k, idx in _batches(first_frame, n_frames, self.batch_size, avatar):
            frames = avatar.frames[idx].copy()
            rows = np.flatnonzero(avatar.has_face[idx])
            if rows.size:
                faces = self.predict(avatar, mels[k[rows]], idx[rows])
                for row, face in zip(rows, faces, strict=True):
                    paste_face(frames[row], avatar.boxes[idx[row]], face, self.feather)
            yield frames


def create_engine(
    engine: str = "auto",
    checkpoint: str | Path | None = None,
    device: str = "auto",
    dtype: str = "auto",
    batch_size: int = 16,
    *,
    feather: int = 0,
) -> LipSyncEngine:
    """``auto`` = wav2lip when a checkpoint is given, else the loudness-driven ``energy`` engine."""
    from .energy import EnergyEngine

    name = (engine or "auto").strip().lower()
    if name not in ENGINES:
        raise ConfigError(f"unknown lip-sync engine {engine!r} (use {', '.join(ENGINES)})")
    if name == "auto":
        name = "wav2lip" if checkpoint else "energy"
    result: LipSyncEngine
    if name == "wav2lip":
        if not checkpoint:
            raise ConfigError("lipsync.engine wav2lip needs lipsync.checkpoint (a wav2lip.pth)")
        result = Wav2LipEngine.from_checkpoint(
            checkpoint, device=device, dtype=dtype, batch_size=batch_size, feather=feather
        )
        log.info(
            "lip-sync engine: wav2lip (%s, %s, %s, batch %d)",
            checkpoint,
            result.device,
            result.dtype,
            batch_size,
        )
    elif name == "energy":
        result = EnergyEngine(batch_size=batch_size)
        log.info("lip-sync engine: energy (no Wav2Lip checkpoint; mouth follows loudness)")
    else:
        result = NoneEngine(batch_size=batch_size)
        log.info("lip-sync engine: none (avatar frames unchanged)")
    return result
