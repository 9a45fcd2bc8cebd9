"""Face features at enrolment: detected on the bundled portrait, configured boxes win, fallback;
Wav2Lip rests on the enrolled face in silence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from avatar_node.lipsync import Wav2LipEngine, enrol_avatar
from avatar_node.lipsync.avatar_data import PROPORTIONAL
from avatar_node.lipsync.wav2lip import Wav2Lip
from avatar_node.media.alignment import Phone


def test_bundled_portrait_features_are_detected(tmp_path: Path) -> None:
    av = enrol_avatar(cache_dir=tmp_path)
    assert av.features.source == "detected"
    left, right = av.eye_boxes(0)
    x1, y1, x2, y2 = av.boxes[0]
    mx1, my1, mx2, my2 = av.mouth_box(0)
    assert left[2] < (x1 + x2) / 2 < right[0]  # one eye each side of the face's middle
    assert y1 < left[1] < my1 and y1 < right[1] < my1  # eyes above the mouth
    assert mx1 < (x1 + x2) / 2 < mx2 and my1 < av.lip_line(0) < my2 < y2
    assert 0.2 < (mx2 - mx1) / (x2 - x1) < 0.6


def test_configured_features_win(tmp_path: Path) -> None:
    eyes = ((200, 170, 230, 185), (280, 170, 310, 185))
    av = enrol_avatar(cache_dir=tmp_path, mouth_box=(225, 270, 305, 290), eyes=eyes)
    assert av.features.source == "configured"
    np.testing.assert_allclose(av.mouth_box(0), (225, 270, 305, 290), atol=1e-6)
    np.testing.assert_allclose(av.eye_boxes(0)[1], eyes[1], atol=1e-6)


def test_faceless_crop_falls_back_to_proportions(tmp_path: Path) -> None:
    img = np.full((200, 200, 3), 128, np.uint8)
    path = tmp_path / "flat.png"
    import cv2

    cv2.imwrite(str(path), img)
    av = enrol_avatar(path, face_box=(40, 40, 160, 160), cache_dir=tmp_path)
    assert av.features.mouth == PROPORTIONAL.mouth and av.features.eyes == PROPORTIONAL.eyes


def test_wav2lip_rests_in_silence(tmp_path: Path) -> None:
    torch.manual_seed(0)
    av = enrol_avatar(cache_dir=tmp_path, size=320)
    eng = Wav2LipEngine(Wav2Lip().eval(), batch_size=4)
    t = np.arange(16000) / 16000
    loud = (0.4 * np.sin(2 * np.pi * 180 * t)).astype(np.float32)
    phones = [Phone("", "sil", 0, 200), Phone("a", "aa", 200, 800), Phone("", "sil", 800, 1000)]
    frames = np.concatenate(list(eng.render(av, loud, 16000, 0, 25, phones)))
    assert np.array_equal(frames[1], av.idle_frame)  # sil: the enrolled face
    assert not np.array_equal(frames[12], av.idle_frame)  # speech: generated
    quiet = np.concatenate(list(eng.render(av, np.zeros(16000, np.float32), 16000, 0, 6)))
    assert all(np.array_equal(f, av.idle_frame) for f in quiet)  # no phones, no sound: rest
