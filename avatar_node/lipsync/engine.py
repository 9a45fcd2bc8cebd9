"""Lip-sync engines: the common interface, ``wav2lip`` and ``none`` (factories: :mod:`.factory`).

An engine turns one audio segment into exactly ``n_frames`` full avatar frames, yielded in
batches so that a caller can publish and check for cancellation between batches. Engines are
synchronous and hold no threads; the pipeline's lip-sync stage owns the thread.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import cv2
import numpy as np
import torch

from ..device import fast_dtype, resolve_device, resolve_dtype
from ..log import get_logger
from ..media.alignment import Phone
from ..media.resample import resample_to_16k
from .audio import mel_windows
from .avatar_data import Avatar
from .energy import frame_levels
from .paste import paste_face, to_uint8_hwc
from .wav2lip import Wav2Lip, bf16_supported, fuse_batchnorm, load_wav2lip

__all__ = ["LipSyncEngine", "NoneEngine", "Wav2LipEngine", "silence_weights"]

log = get_logger(__name__)


@runtime_checkable
class LipSyncEngine(Protocol):
    name: str

    def warmup(self, avatar: Avatar) -> None:
        """Prime whatever the first render would pay for (kernels, caches)."""
        ...

    def render(
        self,
        avatar: Avatar,
        audio: np.ndarray,
        sample_rate: int,
        first_frame: int,
        n_frames: int,
        phones: Sequence[Phone] | None = None,
    ) -> Iterator[np.ndarray]:
        """Yield batches of BGR uint8 frames ``[b,H,W,3]``, exactly ``n_frames`` in total;
        frame k uses avatar frame ``first_frame + k`` (looping video). ``phones`` are in ms on
        this call's frame clock (frame k at ``k·1000/fps``); None: estimate from the audio."""
        ...


def silence_weights(
    n_frames: int, fps: float, audio: np.ndarray, sample_rate: int, phones: Sequence[Phone] | None
) -> np.ndarray:
    """``[n]`` 0..1: how much frame k rests (1 = enrolled face), from ``sil`` phones or, without
    phones, from near-silent audio (below -50 dBFS); eased over about one frame."""
    if phones is None:
        quiet = (frame_levels(audio, sample_rate, n_frames, fps, -50.0, -49.0) <= 0).astype(float)
    else:
        centres = np.arange(n_frames) * 1000.0 / fps
        quiet = np.ones(n_frames)
        for p in phones:
            if p.viseme != "sil":
                quiet[(centres >= p.start_ms) & (centres < p.end_ms)] = 0.0
    if n_frames >= 2:  # ease in and out: a frame next to speech rests only halfway
        near = np.minimum(np.r_[quiet[1:], quiet[-1]], np.r_[quiet[0], quiet[:-1]])
        quiet = np.where(quiet > 0, 0.5 + 0.5 * near, 0.0)
    return quiet.astype(np.float32)


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
        self,
        avatar: Avatar,
        audio: np.ndarray,
        sample_rate: int,
        first_frame: int,
        n_frames: int,
        phones: Sequence[Phone] | None = None,
    ) -> Iterator[np.ndarray]:
        for _, idx in _batches(first_frame, n_frames, self.batch_size, avatar):
            yield avatar.frames[idx].copy()


def _dtype(name: str | None, device: torch.device) -> torch.dtype:
    """``auto``: bfloat16 on a CPU with native bfloat16 (measured 2.7x float32 at 512 px, mean
    |Δ| under 1/255 in the face box: bench/lipsync.py --wav2lip), else float32; ``None`` is
    float32 (the parity path)."""
    if name is not None and name.strip().lower() == "auto":
        return fast_dtype(device)
    return resolve_dtype(name or "float32", device)


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
        self.dtype = dtype if isinstance(dtype, torch.dtype) else _dtype(dtype, self.device)
        if self.dtype is torch.bfloat16 and self.device.type == "cpu" and not bf16_supported():
            log.warning("this CPU has no native bfloat16 support; bfloat16 will be slow")
        self.rest_in_silence = True  # blend back to the enrolled face where nothing sounds
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
        return cls(model, device=dev, dtype=_dtype(dtype, dev), batch_size=batch_size, **kwargs)

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
        self,
        avatar: Avatar,
        audio: np.ndarray,
        sample_rate: int,
        first_frame: int,
        n_frames: int,
        phones: Sequence[Phone] | None = None,
    ) -> Iterator[np.ndarray]:
        if n_frames <= 0:
            return
        mels = mel_windows(resample_to_16k(audio, sample_rate), n_frames, avatar.fps)
        rest = (
            silence_weights(n_frames, avatar.fps, audio, sample_rate, phones)
            if self.rest_in_silence
            else np.zeros(n_frames, np.float32)
        )
        for k, idx in _batches(first_frame, n_frames, self.batch_size, avatar):
            frames = avatar.frames[idx].copy()
            rows = np.flatnonzero(avatar.has_face[idx] & (rest[k] < 1.0))
            if rows.size:
                faces = self.predict(avatar, mels[k[rows]], idx[rows])
                for row, face in zip(rows, faces, strict=True):
                    w = float(rest[k[row]])
                    if w > 0:  # halfway back to the enrolled face next to silence
                        face = cv2.addWeighted(face, 1 - w, avatar.faces96[idx[row]], w, 0)
                    paste_face(frames[row], avatar.boxes[idx[row]], face, self.feather)
            yield frames
