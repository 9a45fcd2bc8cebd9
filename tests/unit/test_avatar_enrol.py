"""Avatar enrolment: bundled portrait, cache hit, configured box, no face, video avatars."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from avatar_node.lipsync import avatar as avatar_mod
from avatar_node.lipsync.avatar import AvatarLoadError, default_avatar_path, enrol_avatar
from avatar_node.lipsync.haar import detect_faces


@pytest.fixture
def count_detections(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []

    def counting(image: np.ndarray, *args, **kwargs):
        calls.append(1)
        return detect_faces(image, *args, **kwargs)

    monkeypatch.setattr(avatar_mod, "detect_faces", counting)
    return calls


def test_bundled_avatar_finds_the_face(tmp_path: Path) -> None:
    path = default_avatar_path()
    assert path.is_file() and path.stat().st_size < 200_000
    av = enrol_avatar(cache_dir=tmp_path)
    assert (av.name, av.n_frames, av.fps) == ("default", 1, 25.0)
    assert av.width >= 512 and av.height >= 512  # a sharper portrait than the old 320 px crop
    assert av.has_face.all()
    x1, y1, x2, y2 = av.boxes[0]
    # the face sits in the middle of the portrait; the box reaches below the mouth
    assert 0.3 * av.width < (x1 + x2) / 2 < 0.7 * av.width
    assert 0.3 * av.width < x2 - x1 < 0.6 * av.width and 0.3 * av.height < y2 - y1 < 0.6 * av.height
    assert av.face == [int(v) for v in av.boxes[0]]
    assert y2 > 0.5 * av.height
    assert av.faces96.shape == (1, 96, 96, 3) and av.faces96.std() > 10
    assert av.idle_frame.shape == (av.height, av.width, 3) and av.idle_frame.dtype == np.uint8
    inputs = av.face_inputs([0, 1, 2])
    assert inputs.shape == (3, 6, 96, 96) and inputs.dtype == np.float32
    assert np.all(inputs[:, :3, 48:] == 0) and inputs[:, 3:, 48:].max() > 0


def test_second_enrol_is_a_cache_hit(tmp_path: Path, count_detections: list[int]) -> None:
    first = enrol_avatar(cache_dir=tmp_path)
    assert not first.cache_hit and len(count_detections) == 1
    second = enrol_avatar(cache_dir=tmp_path)
    assert second.cache_hit and len(count_detections) == 1  # no detection ran
    np.testing.assert_array_equal(first.boxes, second.boxes)
    np.testing.assert_array_equal(first.faces96, second.faces96)
    assert first.key == second.key
    other = enrol_avatar(cache_dir=tmp_path, pads=(0, 20, 0, 0))  # other options, other key
    assert not other.cache_hit and other.key != first.key


def test_configured_box_skips_detection(tmp_path: Path, count_detections: list[int]) -> None:
    av = enrol_avatar(face_box=(100, 60, 220, 190), cache_dir=tmp_path)
    assert count_detections == []
    assert av.boxes.tolist() == [[100, 60, 220, 190]]
    with pytest.raises(AvatarLoadError):
        enrol_avatar(face_box=(50, 50, 50, 80), cache_dir=tmp_path)


def test_image_without_face_passes_through(tmp_path: Path) -> None:
    img = np.zeros((240, 320, 3), np.uint8)
    img[:] = (40, 120, 200)
    cv2.circle(img, (160, 120), 60, (200, 200, 200), -1)
    path = tmp_path / "noface.png"
    cv2.imwrite(str(path), img)
    av = enrol_avatar(path, name="blank", cache_dir=tmp_path)
    assert not av.has_face.any()
    assert np.array_equal(av.frame(0), img)
    with pytest.raises(AvatarLoadError, match="no face"):
        enrol_avatar(path, cache_dir=tmp_path, require_face=True)


def test_missing_or_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(AvatarLoadError):
        enrol_avatar(tmp_path / "missing.png", cache_dir=tmp_path)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(AvatarLoadError):
        enrol_avatar(bad, cache_dir=tmp_path)


def test_size_option(tmp_path: Path) -> None:
    av = enrol_avatar(size=512, cache_dir=tmp_path)
    src = cv2.imread(str(default_avatar_path()))
    assert max(av.width, av.height) == 512 and av.has_face.all()
    assert abs(av.width / av.height - src.shape[1] / src.shape[0]) < 0.01  # aspect kept
    av2 = enrol_avatar(size=(200, 160), face_box=(50, 30, 150, 140), cache_dir=tmp_path)
    assert (av2.width, av2.height) == (200, 160)


def test_video_avatar_loops_and_smooths(tmp_path: Path) -> None:
    portrait = cv2.imread(str(default_avatar_path()))
    path = tmp_path / "loop.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 20.0,
                             (portrait.shape[1], portrait.shape[0]))  # fmt: skip
    blank = np.full_like(portrait, 128)
    frames = [np.roll(portrait, 2 * i, axis=1) for i in range(5)] + [blank]
    for f in frames:
        writer.write(f)
    writer.release()
    av = enrol_avatar(path, name="video", fps=25.0, cache_dir=tmp_path)
    assert av.n_frames == 6 and av.fps == 20.0  # the video's own rate
    assert av.has_face[:5].all() and not av.has_face[5]
    centres = (av.boxes[:5, 0] + av.boxes[:5, 2]) / 2
    assert np.all(np.diff(centres) >= -1)  # follows the face moving right, smoothed
    assert av.frame(7).shape == portrait.shape  # looping index
    np.testing.assert_array_equal(av.frame(7), av.frame(1))
    again = enrol_avatar(path, name="video", cache_dir=tmp_path)
    assert again.cache_hit and np.array_equal(again.boxes, av.boxes)
