"""Lip-sync engines: exact frame counts, looping, energy mouth movement, JPEG pool."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from avatar_node.errors import ConfigError
from avatar_node.lipsync import Avatar, create_engine, enrol_avatar
from avatar_node.lipsync.energy import EnergyEngine, frame_levels
from avatar_node.lipsync.engine import NoneEngine, Wav2LipEngine
from avatar_node.lipsync.wav2lip import Wav2Lip
from avatar_node.media.jpeg import JpegPool, decode_jpeg, encode_jpeg
from avatar_node.pipeline.clock import frame_at, frame_span


@pytest.fixture(scope="module")
def avatar(tmp_path_factory: pytest.TempPathFactory) -> Avatar:
    return enrol_avatar(cache_dir=tmp_path_factory.mktemp("avatars"))


@pytest.fixture(scope="module")
def video_avatar(avatar: Avatar) -> Avatar:
    """A 7-frame 'video': the portrait with a frame number burnt into a corner pixel."""
    frames = np.repeat(avatar.frames, 7, axis=0)
    frames[:, 0, 0, 0] = np.arange(7)
    return Avatar(name="v", fps=25.0, frames=frames, boxes=np.repeat(avatar.boxes, 7, axis=0),
                  faces96=np.repeat(avatar.faces96, 7, axis=0), key="video7")  # fmt: skip


def tone(seconds: float, sr: int, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * 180 * t) * (1 + 0.3 * np.sin(2 * np.pi * 3 * t))).astype(
        np.float32
    )


def mouth_region(avatar: Avatar) -> tuple[slice, slice]:
    x1, y1, x2, y2 = (int(v) for v in avatar.boxes[0])
    h, w = y2 - y1, x2 - x1
    return slice(y1 + int(0.55 * h), y2), slice(x1 + int(0.2 * w), x2 - int(0.2 * w))


def test_energy_moves_the_mouth_with_loud_audio(avatar: Avatar) -> None:
    frames = np.concatenate(list(EnergyEngine().render(avatar, tone(1.0, 22050), 22050, 0, 25)))
    ys, xs = mouth_region(avatar)
    ref = avatar.idle_frame[ys, xs].astype(float)
    diffs = [np.abs(f[ys, xs].astype(float) - ref).mean() for f in frames]
    assert max(diffs) > 8.0  # clearly visible in the mouth region
    outside = np.abs(frames[:, :40].astype(int) - avatar.idle_frame[:40].astype(int)).max()
    assert outside == 0  # the rest of the frame is untouched


def test_energy_keeps_still_with_silence(avatar: Avatar) -> None:
    frames = np.concatenate(
        list(EnergyEngine().render(avatar, np.zeros(16000, np.float32), 16000, 0, 25))
    )
    assert np.array_equal(frames, np.repeat(avatar.idle_frame[None], 25, axis=0))


def test_frame_levels() -> None:
    levels = frame_levels(np.concatenate([np.zeros(8000), tone(0.5, 16000)]), 16000, 25, 25.0)
    assert levels.shape == (25,) and levels[:10].max() == 0 and levels[15:].min() > 0.5


@pytest.mark.parametrize("engine_cls", [EnergyEngine, NoneEngine])
@pytest.mark.parametrize("seconds", [0.0, 0.03, 0.2, 1.0, 2.37])
@pytest.mark.parametrize("fps", [25.0, 30.0, 24.0, 12.5])
def test_render_yields_exactly_n_frames(engine_cls, seconds, fps, video_avatar) -> None:
    av = Avatar(name="v", fps=fps, frames=video_avatar.frames, boxes=video_avatar.boxes,
                faces96=video_avatar.faces96, key="v")  # fmt: skip
    sr = 22050
    n = frame_span(0, round(seconds * sr), sr, fps)[1]
    batches = list(engine_cls(batch_size=4).render(av, tone(seconds, sr), sr, 3, n))
    assert sum(len(b) for b in batches) == n
    assert all(b.dtype == np.uint8 and b.shape[1:] == (av.height, av.width, 3) for b in batches)
    assert all(len(b) <= 4 for b in batches)


def test_consecutive_segments_do_not_drift(video_avatar: Avatar) -> None:
    """Frame k of a segment starting at sample s is avatar frame frame_at(s) + k (the clock)."""
    fps, sr = video_avatar.fps, 16000
    durations = [19752, 12816, 47998, 640, 24003]  # samples: ~1234.5, 801, 3000, 40, 1500 ms
    start, seen = 0, []
    engine = NoneEngine(batch_size=5)
    for d in durations:
        first, n = frame_span(start, d, sr, fps)
        for batch in engine.render(video_avatar, tone(d / sr, sr), sr, first, n):
            seen += batch[:, 0, 0, 0].tolist()
        start += d
    total = frame_at(sum(durations), sr, fps)
    assert len(seen) == total
    assert seen == [i % 7 for i in range(total)]  # no gaps, no repeats across segments


@pytest.fixture(scope="module")
def random_wav2lip() -> Wav2Lip:
    torch.manual_seed(0)
    return Wav2Lip().eval()


@pytest.mark.parametrize("n,batch", [(0, 4), (1, 4), (6, 4), (5, 16)])
def test_wav2lip_engine_counts_and_paste(random_wav2lip, avatar, n, batch) -> None:
    engine = Wav2LipEngine(random_wav2lip, batch_size=batch)
    batches = list(engine.render(avatar, tone(n / 25, 24000), 24000, 0, n))
    assert sum(len(b) for b in batches) == n
    for frames in batches:
        x1, y1, x2, y2 = avatar.boxes[0]
        changed = np.abs(frames.astype(int) - avatar.idle_frame.astype(int)).any(-1)
        assert changed[:, y1:y2, x1:x2].any()
        outside = changed.copy()
        outside[:, y1:y2, x1:x2] = False
        assert not outside.any()  # only the face box is replaced


def test_wav2lip_feathered_paste_blends_the_edge(random_wav2lip, avatar) -> None:
    sharp = Wav2LipEngine(random_wav2lip, batch_size=2, feather=0)
    soft = Wav2LipEngine(random_wav2lip, batch_size=2, feather=8)
    a = next(sharp.render(avatar, tone(0.1, 16000), 16000, 0, 2))
    b = next(soft.render(avatar, tone(0.1, 16000), 16000, 0, 2))
    x1, y1, x2, y2 = avatar.boxes[0]
    cy = (y1 + y2) // 2
    idle = avatar.idle_frame.astype(int)
    # at the box edge the feathered frame stays closer to the original
    assert np.abs(b[0, cy, x1] - idle[cy, x1]).sum() <= np.abs(a[0, cy, x1] - idle[cy, x1]).sum()
    cx = (x1 + x2) // 2
    assert np.abs(b[0, cy, cx].astype(int) - a[0, cy, cx].astype(int)).max() <= 1  # centre kept


def test_create_engine(tmp_path: Path) -> None:
    assert create_engine().name == "viseme"  # no checkpoint: the weight-free viseme engine
    assert create_engine("viseme").name == "viseme"
    assert create_engine("none").name == "none"
    assert create_engine("energy", batch_size=8).name == "energy"
    with pytest.raises(ConfigError):
        create_engine("wav2lip")
    with pytest.raises(ConfigError):
        create_engine("magic")


def test_jpeg_pool_keeps_order(avatar: Avatar) -> None:
    frames = np.stack([np.full((48, 64, 3), 10 * i, np.uint8) for i in range(12)])
    with JpegPool(workers=3, quality=90) as pool:
        out = pool.map(frames)
        fut = pool.submit(frames[:5]).result(timeout=10)
        assert pool.submit([]).result(timeout=1) == []
    assert len(out) == 12 and out[:5] == fut
    for i, data in enumerate(out):
        img = decode_jpeg(data)
        assert img.shape == (48, 64, 3) and abs(int(img.mean()) - 10 * i) <= 2
    big = encode_jpeg(avatar.idle_frame, 80)
    assert big[:2] == b"\xff\xd8" and decode_jpeg(big).shape == avatar.idle_frame.shape


def test_wav2lip_video_avatar_and_faceless_frames(random_wav2lip, video_avatar) -> None:
    """A video avatar runs the plain encoder per frame; frames without a face pass through."""
    boxes = video_avatar.boxes.copy()
    boxes[2] = -1  # frame 2 has no face
    av = Avatar(name="v", fps=25.0, frames=video_avatar.frames, boxes=boxes,
                faces96=video_avatar.faces96, key="v-noface")  # fmt: skip
    engine = Wav2LipEngine(random_wav2lip, batch_size=4)
    frames = np.concatenate(list(engine.render(av, tone(0.4, 16000), 16000, 5, 6)))
    assert frames.shape[0] == 6
    idx = [(5 + k) % 7 for k in range(6)]  # 5, 6, 0, 1, 2, 3
    assert np.array_equal(frames[4], av.frames[2])  # faceless frame untouched
    assert not np.array_equal(frames[3], av.frames[idx[3]])
    assert frames[:, 0, 0, 0].tolist() == [int(av.frames[i, 0, 0, 0]) for i in idx]
