"""The viseme engine: closed lips on PP, an open jaw on aa, no snapping, silence is the photo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from avatar_node.lipsync import Avatar, VisemeEngine, create_engine, enrol_avatar
from avatar_node.lipsync.viseme import SHAPES, shape_params
from avatar_node.media.alignment import VISEMES, Phone


@pytest.fixture(scope="module")
def avatar(tmp_path_factory: pytest.TempPathFactory) -> Avatar:
    return enrol_avatar(cache_dir=tmp_path_factory.mktemp("avatars"))


def timeline(*spec: tuple[str, float]) -> list[Phone]:
    out, t = [], 0.0
    for vis, ms in spec:
        out.append(Phone(vis, vis, t, t + ms))
        t += ms
    return out


def render(avatar: Avatar, phones: list[Phone], n: int) -> np.ndarray:
    audio = np.zeros(int(n * 22050 / 25), np.float32)
    return np.concatenate(
        list(VisemeEngine(batch_size=4).render(avatar, audio, 22050, 0, n, phones))
    )


def mouth(avatar: Avatar, frame: np.ndarray) -> np.ndarray:
    """The mouth region: the lips' box widened by half its width, down to the chin."""
    x1, y1, x2, y2 = avatar.mouth_box(0)
    w = x2 - x1
    chin = avatar.boxes[0][3]
    return frame[int(y1 - 0.3 * w) : int(chin), int(x1 - 0.25 * w) : int(x2 + 0.25 * w)].astype(
        float
    )


def test_pp_closes_and_aa_opens(avatar: Avatar) -> None:
    """Mean |Δ| of the mouth region against the resting photo: PP far below aa."""
    phones = timeline(("sil", 80), ("aa", 200), ("PP", 160), ("aa", 200), ("sil", 160))
    frames = render(avatar, phones, 20)
    rest = mouth(avatar, avatar.idle_frame)
    diff = [np.abs(mouth(avatar, f) - rest).mean() for f in frames]
    pp = [diff[k] for k in range(20) if 280 <= k * 40 < 440]  # frames inside the PP interval
    aa = [diff[k] for k in range(20) if 120 <= k * 40 < 240]
    assert max(pp) < 5.0 and min(aa) > 15.0 and max(pp) < 0.2 * min(aa), (pp, aa)
    assert diff[0] == 0 and diff[-1] == 0  # silence is the photo itself


def test_every_viseme_has_a_shape_and_they_differ(avatar: Avatar) -> None:
    assert set(SHAPES) == set(VISEMES)
    rest = mouth(avatar, avatar.idle_frame)
    seen = {}
    for v in VISEMES:
        f = render(avatar, timeline((v, 400)), 5)[2]
        seen[v] = mouth(avatar, f)
    assert np.array_equal(seen["sil"], rest)
    open_ = {v: np.abs(seen[v] - rest).mean() for v in VISEMES}
    assert open_["aa"] > open_["E"] > open_["PP"] and open_["oh"] > open_["ou"] > open_["PP"]
    assert np.abs(seen["oh"] - seen["E"]).mean() > 2.0  # round and spread are different shapes


def test_coarticulation_blends_without_snapping() -> None:
    """At 25 fps an aa→ou change takes more than one frame and never jumps all the way."""
    fields = list(SHAPES["aa"].__dataclass_fields__)
    opening = fields.index("open")
    width = fields.index("width")
    p = shape_params(timeline(("aa", 400), ("ou", 400)), 20, 25.0)
    steps = np.abs(np.diff(p[:, width]))
    total = abs(SHAPES["ou"].width - SHAPES["aa"].width)
    assert steps.max() < 0.8 * total and (steps > 0.05 * total).sum() >= 2
    assert p[2, opening] == pytest.approx(SHAPES["aa"].open)
    assert p[17, opening] == pytest.approx(SHAPES["ou"].open)


def test_pp_wins_over_the_blend() -> None:
    p = shape_params(timeline(("aa", 200), ("PP", 40), ("aa", 200)), 11, 25.0)
    assert p[5, 0] == 0.0  # the frame at 200 ms is fully closed


def test_without_phones_loud_audio_moves_and_silence_does_not(avatar: Avatar) -> None:
    sr = 16000
    t = np.arange(sr) / sr
    loud = (0.4 * np.sin(2 * np.pi * 180 * t)).astype(np.float32)
    eng = VisemeEngine()
    moving = np.concatenate(list(eng.render(avatar, loud, sr, 0, 25)))
    still = np.concatenate(list(eng.render(avatar, np.zeros(sr, np.float32), sr, 0, 25)))
    rest = mouth(avatar, avatar.idle_frame)
    assert max(np.abs(mouth(avatar, f) - rest).mean() for f in moving) > 4.0
    assert all(np.array_equal(f, avatar.idle_frame) for f in still)


@pytest.mark.parametrize("size", [320, 512])
def test_output_size_is_honoured(tmp_path: Path, size: int) -> None:
    av = enrol_avatar(size=size, cache_dir=tmp_path)
    eng = create_engine("viseme")
    eng.warmup(av)
    frames = np.concatenate(list(eng.render(av, np.zeros(8000, np.float32), 16000, 0, 5,
                                            timeline(("aa", 200)))))  # fmt: skip
    assert frames.shape == (5, av.height, av.width, 3) and max(av.height, av.width) == size
