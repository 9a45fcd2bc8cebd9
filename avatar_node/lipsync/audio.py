"""Wav2Lip's audio front-end, in memory: mel spectrogram, window rule and per-frame mel windows.

Settings are those Wav2Lip was trained with (16 kHz, pre-emphasis 0.97, STFT n_fft 800 / hop 200
/ Hann 800, centred with **reflect** padding as librosa 0.7 did, 80 Slaney mel bands 55–7600 Hz,
``20·log10(max(1e-5, x)) − 20`` dB, symmetric normalisation clipped to ±4). The STFT and the mel
filter bank are computed with NumPy so that importing this module stays cheap.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy.signal import lfilter

SAMPLE_RATE = 16000
N_FFT = 800
HOP = 200
WIN = 800
N_MELS = 80
FMIN = 55.0
FMAX = 7600.0
PREEMPHASIS = 0.97
REF_LEVEL_DB = 20.0
MIN_LEVEL_DB = -100.0
MAX_ABS_VALUE = 4.0
MEL_STEP = 16  # mel frames per window (0.2 s)
MEL_FPS = SAMPLE_RATE / HOP  # 80 mel frames per second


def _hz_to_mel(f: np.ndarray | float) -> np.ndarray:
    """Slaney mel scale: linear below 1 kHz, logarithmic above."""
    f = np.asarray(f, np.float64)
    mel = f / (200.0 / 3)
    logstep = math.log(6.4) / 27.0
    return np.where(f >= 1000.0, 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / logstep, mel)


def _mel_to_hz(m: np.ndarray | float) -> np.ndarray:
    m = np.asarray(m, np.float64)
    logstep = math.log(6.4) / 27.0
    return np.where(m >= 15.0, 1000.0 * np.exp(logstep * (m - 15.0)), m * (200.0 / 3))


@lru_cache(maxsize=4)
def mel_basis(
    sr: int = SAMPLE_RATE,
    n_fft: int = N_FFT,
    n_mels: int = N_MELS,
    fmin: float = FMIN,
    fmax: float = FMAX,
) -> np.ndarray:
    """Slaney-normalised triangular mel filter bank ``[n_mels, 1 + n_fft//2]`` (float32)."""
    fft_freqs = np.linspace(0.0, sr / 2.0, 1 + n_fft // 2)
    mel_f = _mel_to_hz(np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels]))[:, None]
    basis = weights.astype(np.float32)
    basis.setflags(write=False)
    return basis


@lru_cache(maxsize=1)
def _hann() -> np.ndarray:
    n = np.arange(WIN)
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * n / WIN)  # periodic Hann, as scipy's get_window


def _stft_magnitude(y: np.ndarray) -> np.ndarray:
    """``|STFT|`` ``[1 + n_fft//2, 1 + len//hop]``, centred with reflect padding."""
    pad = N_FFT // 2
    if len(y) <= pad:  # reflect padding needs more samples than the pad width
        y = np.pad(y, (0, pad + 1 - len(y)))
    yp = np.pad(y, pad, mode="reflect")
    n_frames = 1 + (len(yp) - N_FFT) // HOP
    frames = np.lib.stride_tricks.as_strided(
        yp, shape=(n_frames, N_FFT), strides=(yp.strides[0] * HOP, yp.strides[0])
    )
    spec = np.fft.rfft(frames * _hann(), axis=1).astype(np.complex64)  # float64 FFT, complex64
    return np.abs(spec).T


def melspectrogram(wav: np.ndarray) -> np.ndarray:
    """Wav2Lip's normalised log-mel spectrogram ``[80, 1 + len//200]`` (float32) of 16 kHz audio."""
    y = np.asarray(wav, dtype=np.float64).reshape(-1)
    y = lfilter([1.0, -PREEMPHASIS], [1.0], y)
    mel = mel_basis() @ _stft_magnitude(y)
    db = 20.0 * np.log10(np.maximum(10 ** (MIN_LEVEL_DB / 20.0), mel)) - REF_LEVEL_DB
    norm = (2 * MAX_ABS_VALUE) * ((db - MIN_LEVEL_DB) / -MIN_LEVEL_DB) - MAX_ABS_VALUE
    return np.clip(norm, -MAX_ABS_VALUE, MAX_ABS_VALUE).astype(np.float32)


def mel_chunk_starts(n_mel_frames: int, fps: float = 25.0) -> list[int]:
    """Start of each 16-frame mel window, Wav2Lip's inference rule.

    Window i starts at ``int(i * 80/fps)``; the first window that would run past the end is
    replaced by one starting at ``T - 16`` and ends the list (so the last start may repeat).
    """
    if n_mel_frames < MEL_STEP:
        raise ValueError(f"need at least {MEL_STEP} mel frames, got {n_mel_frames}")
    mult = 80.0 / fps
    starts: list[int] = []
    i = 0
    while True:
        start = int(i * mult)
        if start + MEL_STEP > n_mel_frames:
            starts.append(n_mel_frames - MEL_STEP)
            return starts
        starts.append(start)
        i += 1


def mel_windows(wav_16k: np.ndarray, n_frames: int, fps: float = 25.0) -> np.ndarray:
    """Exactly ``n_frames`` mel windows ``[n, 1, 80, 16]`` (float32) for 16 kHz audio.

    Frame k uses the window starting at ``int(k * 80/fps)``, clamped to ``T - 16``; audio
    shorter than 16 mel frames is zero-padded first.
    """
    wav = np.asarray(wav_16k, np.float32).reshape(-1)
    min_len = (MEL_STEP - 1) * HOP
    if len(wav) < min_len:
        wav = np.pad(wav, (0, min_len - len(wav)))
    mel = melspectrogram(wav)
    t = mel.shape[1]
    mult = 80.0 / fps
    starts = np.minimum(np.array([int(k * mult) for k in range(n_frames)], np.int64), t - MEL_STEP)
    idx = starts[:, None] + np.arange(MEL_STEP)[None, :]
    return np.ascontiguousarray(mel[:, idx].transpose(1, 0, 2)[:, None])
