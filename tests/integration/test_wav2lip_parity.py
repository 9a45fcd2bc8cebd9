"""Parity with the reference Wav2Lip fixtures: mel, window rule, model output, uint8 images.

The checkpoint is rebuilt once per session from the compact pack into a pytest temp folder
(only the Wav2Lip pack: the pack folder handed to the builder holds just ``wav2lip``).
Fixture files come through the root conftest's ``fixtures_dir`` fixture (``fixture_path()``:
skipped in a user's clone, a failure under CI). It is not imported as ``tests.conftest``
because a site-packages ``tests`` package can shadow the repository's.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from avatar_node.device import cpu_has_native_bf16
from avatar_node.lipsync import (
    Avatar,
    load_wav2lip,
    mel_chunk_starts,
    mel_windows,
    melspectrogram,
)
from avatar_node.lipsync.engine import Wav2LipEngine
from avatar_node.lipsync.paste import to_uint8_hwc

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def w2l_dir(fixtures_dir: Path) -> Path:
    return fixtures_dir / "reference" / "wav2lip"


@pytest.fixture(scope="session")
def model(wav2lip_checkpoint: Path) -> torch.nn.Module:
    return load_wav2lip(wav2lip_checkpoint, device="cpu")


@pytest.fixture(scope="session")
def model_io(w2l_dir: Path) -> dict[str, np.ndarray]:
    with np.load(w2l_dir / "model_io.npz") as z:
        return {k: z[k] for k in z.files}


def datagen_faces(faces96: np.ndarray) -> torch.Tensor:
    """The reference datagen steps: mask the lower half, masked first, /255, NHWC→NCHW."""
    masked = faces96.copy()
    masked[:, 48:] = 0
    batch = np.concatenate((masked, faces96), axis=3) / 255.0
    return torch.FloatTensor(np.transpose(batch, (0, 3, 1, 2)))


def test_mel_matches_reference(w2l_dir: Path) -> None:
    with np.load(w2l_dir / "audio_mel.npz") as z:
        mel = melspectrogram(z["wav"])
        assert mel.shape == z["mel"].shape == (80, 161)
        assert mel.dtype == np.float32
        np.testing.assert_allclose(mel, z["mel"], atol=1e-4, rtol=0)
        assert mel_chunk_starts(mel.shape[1], fps=float(z["fps"])) == z["chunk_starts"].tolist()


def test_mel_windows_match_reference_chunks(model_io, w2l_dir: Path) -> None:
    with np.load(w2l_dir / "audio_mel.npz") as z:
        windows = mel_windows(z["wav"], 47, fps=25.0)
    np.testing.assert_allclose(windows[model_io["mel_chunk_index"]], model_io["mel_batch"],
                               atol=1e-4, rtol=0)  # fmt: skip


def test_model_output_matches_reference(model: torch.nn.Module, model_io) -> None:
    faces = datagen_faces(model_io["faces96_bgr_uint8"])
    np.testing.assert_allclose(faces.numpy(), model_io["face_batch"], atol=1e-6, rtol=0)
    with torch.inference_mode():
        pred = model(torch.from_numpy(model_io["mel_batch"]), faces).numpy()
        pred_contig = model(torch.from_numpy(model_io["mel_batch"]),
                            torch.from_numpy(model_io["face_batch"])).numpy()  # fmt: skip
    assert pred.shape == (4, 3, 96, 96)
    np.testing.assert_allclose(pred, model_io["pred"], atol=1e-4, rtol=0)
    np.testing.assert_allclose(pred_contig, model_io["pred"], atol=1e-4, rtol=0)

    img = to_uint8_hwc(pred)
    diff = np.abs(img.astype(int) - model_io["pred_uint8_hwc"].astype(int))
    assert diff.max() <= 1
    for i in range(4):
        crop = model_io[f"face_crop_bgr_uint8_{i}"]
        assert np.array_equal(cv2.resize(crop, (96, 96)), model_io["faces96_bgr_uint8"][i])
        resized = cv2.resize(img[i], (crop.shape[1], crop.shape[0]))
        ref = model_io[f"pred_resized_to_crop_{i}"].astype(int)
        assert np.abs(resized.astype(int) - ref).max() <= 1


def test_cached_face_encoder_equals_plain_path(model: torch.nn.Module, model_io) -> None:
    mel = torch.from_numpy(model_io["mel_batch"])
    faces = datagen_faces(model_io["faces96_bgr_uint8"][:1])
    with torch.inference_mode():
        plain = model(mel, faces.expand(4, -1, -1, -1).contiguous()).numpy()
        cached = model.decode(mel, model.encode_faces(faces)).numpy()
    np.testing.assert_allclose(cached, plain, atol=1e-5, rtol=0)


def _still_avatar(model_io) -> Avatar:
    crop = model_io["face_crop_bgr_uint8_1"]
    frame = np.full((200, 220, 3), 90, np.uint8)
    box = np.array([[30, 40, 30 + crop.shape[1], 40 + crop.shape[0]]], np.int32)
    frame[40 : 40 + crop.shape[0], 30 : 30 + crop.shape[1]] = crop
    faces = cv2.resize(crop, (96, 96))[None]
    return Avatar(name="t", fps=25.0, frames=frame[None], boxes=box, faces96=faces, key="still")


def test_engine_paths_agree_with_reference_loop(model, model_io, w2l_dir: Path) -> None:
    """Engine frames (BN-folded, cached encoder, channels-last) = the plain reference loop ±1."""
    avatar = _still_avatar(model_io)
    with np.load(w2l_dir / "audio_mel.npz") as z:
        wav = z["wav"]
    n = 6
    cached = Wav2LipEngine(model, batch_size=4, cache_faces=True)
    plain = Wav2LipEngine(model, batch_size=3, cache_faces=False, fuse=False,
                          channels_last=False)  # fmt: skip
    a = np.concatenate(list(cached.render(avatar, wav, 16000, 0, n)))
    b = np.concatenate(list(plain.render(avatar, wav, 16000, 0, n)))
    assert a.shape == b.shape == (n, 200, 220, 3)
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1

    # the plain path is the reference loop: model(mel, face) → truncate → resize → paste
    mels = mel_windows(wav, n)
    face = datagen_faces(avatar.faces96).expand(n, -1, -1, -1)
    with torch.inference_mode():
        pred = to_uint8_hwc(model(torch.from_numpy(mels), face).numpy())
    x1, y1, x2, y2 = avatar.boxes[0]
    for k in range(n):
        ref = avatar.frames[0].copy()
        ref[y1:y2, x1:x2] = cv2.resize(pred[k], (int(x2 - x1), int(y2 - y1)))
        assert np.abs(b[k].astype(int) - ref.astype(int)).max() <= 1


def test_bfloat16_engine_is_close_to_float32(model, model_io, w2l_dir: Path) -> None:
    avatar = _still_avatar(model_io)
    with np.load(w2l_dir / "audio_mel.npz") as z:
        wav = z["wav"]
    f32 = Wav2LipEngine(model, dtype="float32").render(avatar, wav, 16000, 0, 4)
    bf16 = Wav2LipEngine(model, dtype="bfloat16").render(avatar, wav, 16000, 0, 4)
    a, b = np.concatenate(list(f32)), np.concatenate(list(bf16))
    assert np.abs(a.astype(float) - b.astype(float)).mean() < 2.0


def test_auto_dtype_is_the_measured_fast_path(model) -> None:
    """``dtype: auto`` (the default) is bfloat16 exactly where the CPU has native bfloat16, and
    the class's own default stays float32 (the parity path above)."""
    expected = torch.bfloat16 if cpu_has_native_bf16() else torch.float32
    assert Wav2LipEngine(model, dtype="auto").dtype == expected
    assert Wav2LipEngine(model).dtype == torch.float32
