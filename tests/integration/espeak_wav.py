"""A real espeak-ng recording for the ``play`` tests, made with the libespeak-ng of
``espeakng_loader`` (a test dependency) in a child process, resampled to 16 kHz.

Run as a script: ``python -m tests.integration.espeak_wav OUT.wav "text"``.
"""

from __future__ import annotations

import ctypes
import subprocess
import sys
from pathlib import Path

import numpy as np

AUDIO_OUTPUT_SYNCHRONOUS = 2
POS_CHARACTER = 1
SYNTH_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


def speak(text: str) -> tuple[np.ndarray, int]:
    """(int16 samples, rate) of espeak-ng speaking ``text`` with its default English voice."""
    import espeakng_loader

    lib = ctypes.CDLL(str(espeakng_loader.get_library_path()))
    data = Path(espeakng_loader.get_data_path())
    rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, str(data.parent).encode(), 0)
    if rate <= 0:
        raise RuntimeError(f"espeak_Initialize failed ({rate}) with data at {data}")
    chunks: list[bytes] = []

    def collect(wav, n, _events):  # type: ignore[no-untyped-def]
        if n > 0:
            chunks.append(ctypes.string_at(wav, n * 2))
        return 0

    callback = SYNTH_CALLBACK(collect)
    lib.espeak_SetSynthCallback(callback)
    if lib.espeak_SetVoiceByName(b"en") != 0:
        raise RuntimeError("espeak-ng has no 'en' voice")
    raw = text.encode() + b"\0"
    err = lib.espeak_Synth(raw, len(raw), 0, POS_CHARACTER, 0, 0, None, None)
    if err != 0 or lib.espeak_Synchronize() != 0:
        raise RuntimeError(f"espeak_Synth failed ({err})")
    return np.frombuffer(b"".join(chunks), dtype="<i2"), rate


def espeak_wav_16k(out: Path, text: str) -> Path:
    """Write ``out``: espeak-ng's ``text`` as a 16 kHz 16-bit mono WAV (made in a child process)."""
    subprocess.run(
        [sys.executable, "-m", "tests.integration.espeak_wav", str(out), text],
        check=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    return out


if __name__ == "__main__":
    from avatar_node.media.pcm import PcmFormat, float_to_s16, wrap_pcm
    from avatar_node.media.resample import resample

    samples, rate = speak(sys.argv[2])
    audio16 = resample(samples.astype(np.float32) / 32768.0, rate, 16000)
    Path(sys.argv[1]).write_bytes(wrap_pcm(float_to_s16(audio16), PcmFormat(16000, 2, 1)))
