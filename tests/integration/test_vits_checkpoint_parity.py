"""Parity with the reference VITS-fast-fine-tuning fixtures (``fixtures/reference/vits``).

The checkpoint ``G_latest.pth`` is rebuilt once per session from its compact pack into the
pytest temp folder (only the VITS pack is handed to the builder).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from avatar_node.tts import Voice, load_voice
from tests.conftest import fixture_path

pytestmark = pytest.mark.integration

SINGLE_CASES = [f"case_L{n}_sid{s}" for n in (12, 30, 57) for s in (0, 1)]


@pytest.fixture(scope="module")
def voice(vits_config: Path, vits_checkpoint: Path) -> Voice:
    return load_voice(vits_config, vits_checkpoint, device="cpu", dtype="float32")


def load_case(name: str) -> dict[str, np.ndarray]:
    with np.load(fixture_path("reference", "vits", f"{name}.npz")) as z:
        return {k: z[k] for k in z.files}


def run_case(voice: Voice, case: dict[str, np.ndarray], **noise: torch.Tensor):  # type: ignore[no-untyped-def]
    with torch.inference_mode():
        return voice.model.infer(
            torch.from_numpy(case["x"]),
            torch.from_numpy(case["x_lengths"]),
            torch.from_numpy(case["sid"]),
            noise_scale=float(case["noise_scale"]),
            noise_scale_w=float(case["noise_scale_w"]),
            length_scale=float(case["length_scale"]),
            intermediates=True,
            **noise,
        )


def max_diff(a: torch.Tensor, b: np.ndarray) -> float:
    assert tuple(a.shape) == b.shape, (tuple(a.shape), b.shape)
    return float(np.abs(a.numpy() - b).max())


def check_exact_and_close(out, case: dict[str, np.ndarray]) -> None:  # type: ignore[no-untyped-def]
    assert np.array_equal(out.w_ceil.numpy(), case["w_ceil"])
    assert np.array_equal(out.y_lengths.numpy(), case["y_lengths"])
    assert np.array_equal(out.attn.numpy().astype(np.uint8), case["attn"])
    for key in ("enc_hidden", "m_p", "logs_p"):
        assert max_diff(getattr(out, key), case[key]) <= 1e-5, key
    # The SDP's reverse spline flow amplifies the text encoder's float rounding (~2e-6, which
    # moves with the CPU's kernels: AVX-512/AMX here) up to 6e-5 in logw on case_L30_sid0 (values
    # up to ~2.6), against 1e-5 on the machine the fixtures were made on. The durations it gives
    # (w_ceil, checked exactly above) are what this parity is for.
    assert max_diff(out.logw, case["logw"]) <= 1e-4, "logw"
    assert max_diff(out.g, case["g"]) == 0.0
    assert max_diff(out.z, case["z"]) <= 5e-5


@pytest.mark.parametrize("name", SINGLE_CASES)
def test_single_case(voice: Voice, name: str) -> None:
    case = load_case(name)
    out = run_case(voice, case)
    check_exact_and_close(out, case)
    assert max_diff(out.audio, case["audio"]) <= 1e-4


def test_batch_case(voice: Voice) -> None:
    case = load_case("case_batch")
    out = run_case(voice, case)
    check_exact_and_close(out, case)
    hop = voice.hop_length
    lengths = case["y_lengths"] * hop
    for row, valid in enumerate(lengths):  # the reference's own batched output, padding included
        assert max_diff(out.audio[row, :, :valid], case["audio"][row, :, :valid]) <= 1e-4
    # against the batch-1 references: the longest row matches; shorter rows until the tail
    # where the decoder sees the padding (README: the last ~1800 samples of the valid region)
    longest = int(np.argmax(lengths))
    for row, name in enumerate(["case_L12_sid0", "case_L30_sid1", "case_L57_sid0"]):
        single = load_case(name)["audio"][0]
        valid = int(lengths[row])
        assert single.shape[-1] == valid
        upto = valid if row == longest else valid - 8 * hop
        assert max_diff(out.audio[row, :, :upto], single[:, :upto]) <= 1e-4


def test_stochastic_case_with_seeded_rng_protocol(voice: Voice) -> None:
    case = load_case("case_stochastic")
    torch.manual_seed(int(case["torch_seed_before_infer"]))
    out = run_case(voice, case)
    assert max_diff(out.eps_dp, case["eps_dp"]) == 0.0
    assert max_diff(out.eps_z, case["eps_z"]) == 0.0
    check_exact_and_close(out, case)
    assert max_diff(out.z_p, case["z_p"]) <= 5e-5
    assert max_diff(out.audio, case["audio"]) <= 1e-4


def test_stochastic_case_with_injected_noise(voice: Voice) -> None:
    case = load_case("case_stochastic")
    eps = {"eps_dp": torch.from_numpy(case["eps_dp"]), "eps_z": torch.from_numpy(case["eps_z"])}
    torch.manual_seed(999)  # the global RNG must not matter
    out = run_case(voice, case, **eps)
    check_exact_and_close(out, case)
    assert max_diff(out.audio, case["audio"]) <= 1e-4


def test_voice_api_speakers_and_trimmed_audio(voice: Voice) -> None:
    case = load_case("case_L30_sid1")
    assert voice.speakers == {"dingzhen": 0, "taffy": 1}
    assert voice.sample_rate == 22050 and voice.languages == ["zh"]
    audio = voice.synthesize_ids(case["x"][0].tolist(), "taffy", 0.0, 0.0, 1.0)
    assert audio.dtype == np.float32
    assert np.abs(audio - case["audio"][0, 0]).max() <= 1e-4
    slow = voice.synthesize_ids(case["x"][0].tolist(), 1, 0.0, 0.0, 2.0)
    assert slow.size > 1.8 * audio.size  # length_scale stretches durations (ceil per id)
