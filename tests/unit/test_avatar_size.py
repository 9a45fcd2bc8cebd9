"""The avatar ``size`` option: every engine's frames (and life) come out at the configured size,
and the face, lips and eyes are found on the resized frames."""

from __future__ import annotations

import numpy as np
import pytest

from avatar_node.lipsync import Life, create_engine, enrol_avatar
from avatar_node.media.alignment import Phone
from avatar_node.settings import AvatarSettings


@pytest.mark.parametrize("size, expect", [(512, (437, 512)), ((640, 750), (640, 750)),
                                          (960, (819, 960))])  # fmt: skip
def test_engines_honour_the_output_size(tmp_path, size, expect) -> None:
    avatar = enrol_avatar(size=size, cache_dir=tmp_path)
    assert (avatar.width, avatar.height) == expect
    assert avatar.features.source == "detected"
    x1, y1, x2, y2 = avatar.face or (0, 0, 0, 0)
    mx1, my1, mx2, my2 = avatar.mouth_box(0)
    assert x1 < mx1 < mx2 < x2 and y1 < my1 < my2 < y2  # the lips inside the face
    for eye in avatar.eye_boxes(0):
        assert x1 < eye[0] < eye[2] < x2 and y1 < eye[1] < my1  # the eyes above the lips
    audio = np.zeros(22050, np.float32)
    phones = [Phone("a", "aa", 0.0, 1000.0)]
    for name in ("viseme", "energy", "none"):
        frames = np.concatenate(list(create_engine(name).render(avatar, audio, 22050, 0, 6,
                                                                phones)))  # fmt: skip
        assert frames.shape == (6, expect[1], expect[0], 3), name
    life = Life(avatar, seed=1)
    assert life.apply(frames[0], 1.0).shape == frames[0].shape
    assert life.idle_frame(2.0).shape == frames[0].shape
    # the viseme engine opens the lips it found at this size, and nothing far from them
    opened = next(iter(create_engine("viseme").render(avatar, audio, 22050, 0, 4, phones)))[2]
    changed = np.abs(opened.astype(int) - avatar.idle_frame).max(axis=2) > 30
    ys, xs = np.nonzero(changed)
    assert ys.size > 0
    eyes_bottom = max(e[3] for e in avatar.eye_boxes(0))
    assert x1 <= xs.min() and xs.max() <= x2  # the jaw drops a little below the face box
    assert eyes_bottom < ys.min() and ys.max() <= y2 + 0.2 * (y2 - y1)


def test_size_setting_accepts_a_side_or_width_and_height() -> None:
    assert AvatarSettings(size=640).size == 640
    assert AvatarSettings(size=[640, 750]).size == (640, 750)
    assert AvatarSettings().size is None
    for bad in (10, [640], [640, 10], [640, 750, 3]):
        with pytest.raises(ValueError):
            AvatarSettings(size=bad)
