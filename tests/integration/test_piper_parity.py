"""Parity of the torch VITS with the Piper voice en_US-joe-medium run by onnxruntime.

Fixtures: ``fixtures/piper/*.npz`` (see its README). Phoneme ids come from text through our
espeak front-end; audio, durations and encoder outputs from the torch model built from the
ONNX initializers.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from avatar_node.tts import Voice, default_voice_path, load_voice
from tests.conftest import fixture_path

pytestmark = pytest.mark.integration

CASES = ["s1_hello", "s2_fox"]


@pytest.fixture(scope="module")
def voice() -> Voice:
    return load_voice(device="cpu", dtype="float32")


@pytest.fixture(scope="module", params=CASES)
def case(request: pytest.FixtureRequest) -> dict[str, np.ndarray]:
    with np.load(fixture_path("piper", f"{request.param}.npz")) as z:
        return {k: z[k] for k in z.files}


@pytest.fixture(scope="module")
def zero_run(voice: Voice, case: dict[str, np.ndarray]):  # type: ignore[no-untyped-def]
    return voice.infer(case["c0_ids"], noise_scale=0.0, noise_scale_w=0.0, intermediates=True)


def max_diff(a: torch.Tensor | np.ndarray, b: np.ndarray) -> float:
    a = a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else a
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a - b).max())


def test_text_gives_the_fixture_phoneme_ids(voice: Voice, case: dict[str, np.ndarray]) -> None:
    ids = voice.text_to_ids(str(case["text"]))
    assert len(ids) == int(case["n_chunks"]) == 1
    assert ids[0] == case["c0_ids"].tolist()
    assert voice.frontend.phonemize(str(case["text"]))[0] == case["c0_phonemes"].tolist()  # type: ignore[attr-defined]


def test_zero_noise_durations_and_encoder(zero_run, case: dict[str, np.ndarray]) -> None:  # type: ignore[no-untyped-def]
    assert np.array_equal(zero_run.w_ceil[0].numpy(), case["c0_w_ceil_zero"])
    assert max_diff(zero_run.enc_hidden[0], case["c0_enc_x_zero"]) <= 1e-4
    assert max_diff(zero_run.m_p[0], case["c0_m_p_zero"]) <= 1e-4
    assert max_diff(zero_run.logs_p[0], case["c0_logs_p_zero"]) <= 1e-4
    assert max_diff(zero_run.logw[0], case["c0_logw_zero"]) <= 1e-4
    assert max_diff(zero_run.z_p[0], case["c0_z_p_zero"]) <= 1e-4
    assert max_diff((zero_run.z * zero_run.y_mask)[0], case["c0_dec_in_zero"]) <= 1e-3


def test_zero_noise_audio(voice: Voice, case: dict[str, np.ndarray]) -> None:
    audio = voice.synthesize_ids(case["c0_ids"].tolist(), noise_scale=0.0, noise_scale_w=0.0)
    assert audio.dtype == np.float32
    assert max_diff(audio, case["c0_audio_zero"]) <= 1e-4


def test_injected_noise_audio(voice: Voice, case: dict[str, np.ndarray]) -> None:
    noise_scale, length_scale, noise_w = (float(v) for v in case["scales_default"])
    out = voice.infer(
        case["c0_ids"], None, noise_scale, noise_w, length_scale,
        eps_dp=torch.from_numpy(case["c0_noise_dp"]), eps_z=torch.from_numpy(case["c0_noise_zp"]),
    )  # fmt: skip
    assert np.array_equal(out.w_ceil[0].numpy(), case["c0_w_ceil_default_injected"])
    assert max_diff(out.audio.flatten(), case["c0_audio_default_injected"]) <= 2e-4


def test_free_noise_is_statistically_alike(voice: Voice, case: dict[str, np.ndarray]) -> None:
    torch.manual_seed(0)
    audio = next(voice.synthesize(str(case["text"])))
    lengths = case["c0_default_free_lengths"]
    assert 0.85 * lengths.min() <= audio.size <= 1.15 * lengths.max()
    ref = case["c0_audio_default_free"]
    rms, ref_rms = float(np.sqrt(np.mean(audio**2))), float(np.sqrt(np.mean(ref**2)))
    assert 0.5 < rms / ref_rms < 2.0


@pytest.fixture(scope="module")
def piper_reference():  # type: ignore[no-untyped-def]
    """piper-tts's own PiperVoice (onnxruntime) on the same ONNX file."""
    from piper import PiperVoice

    return PiperVoice.load(default_voice_path())


FURTHER = [
    "Is it raining? No. Dr. Smith said so, at 3:45 pm; then left!",
    "It costs $12.50 (roughly) - [[ hɛloʊ ]] world",
]


@pytest.mark.parametrize("text", FURTHER)
def test_further_sentences_match_piper(voice: Voice, piper_reference, text: str) -> None:  # type: ignore[no-untyped-def]
    from piper import SynthesisConfig

    expected = [piper_reference.phonemes_to_ids(p) for p in piper_reference.phonemize(text) if p]
    ids = voice.text_to_ids(text)
    assert ids == expected
    assert len(ids) >= 2 or "[[" in text
    syn = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0, length_scale=1.0)
    for seq in ids:
        ref = piper_reference.phoneme_ids_to_audio(seq, syn)
        ours = voice.synthesize_ids(seq, noise_scale=0.0, noise_scale_w=0.0)
        assert max_diff(ours, np.asarray(ref, dtype=np.float32)) <= 1e-4


def test_onnx_json_defaults_are_used(voice: Voice) -> None:
    config = json.loads(Path(f"{default_voice_path()}.json").read_text())
    assert voice.sample_rate == config["audio"]["sample_rate"] == 22050
    assert voice.noise_scale == pytest.approx(config["inference"]["noise_scale"])
    assert voice.noise_scale_w == pytest.approx(config["inference"]["noise_w"])
    assert voice.speakers == {} and voice.resolve_speaker(None) is None
    assert voice.languages == ["en_US"]
    assert voice.text_to_ids("") == []
    assert list(voice.synthesize("   ")) == []


def test_multispeaker_piper_layout_loads_and_conditions() -> None:
    """A multi-speaker Piper graph adds emb_g and cond layers: shapes are inferred, ids work."""
    from avatar_node.tts.vits.frontends import PiperFrontend
    from avatar_node.tts.vits.piper import infer_hparams, onnx_state_dict
    from avatar_node.tts.vits.weights import build_model

    state, attrs = onnx_state_dict(default_voice_path())
    gin, speakers = 16, 3
    generator = torch.Generator().manual_seed(0)

    def rand(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=generator) * 0.1

    state["emb_g.weight"] = rand(speakers, gin)
    state["dec.cond.weight"], state["dec.cond.bias"] = rand(256, gin, 1), rand(256)
    state["dp.cond.weight"], state["dp.cond.bias"] = rand(192, gin, 1), rand(192)
    for k in (0, 2, 4, 6):
        state[f"flow.flows.{k}.enc.cond_layer.weight"] = rand(2 * 192 * 4, gin, 1)
        state[f"flow.flows.{k}.enc.cond_layer.bias"] = rand(2 * 192 * 4)
    hp = infer_hparams(state, attrs, n_speakers=speakers)
    assert (hp.n_speakers, hp.gin_channels) == (speakers, gin)
    model = build_model(hp, state, {}, "multi", ignore_unexpected=True)
    config = json.loads(Path(f"{default_voice_path()}.json").read_text())
    voice = Voice("multi", model, PiperFrontend(config), 22050, {"a": 0, "b": 1, "c": 2}, 0.0, 0.0)
    ids = voice.text_to_ids("Hello.")[0]
    first, second = voice.synthesize_ids(ids, "a"), voice.synthesize_ids(ids, "c")
    assert first.size > 0 and not np.array_equal(first, second)
    assert voice.resolve_speaker(None) == 0


def test_initializer_mapping_matches_the_fixture_table() -> None:
    """Every parameter row of onnx_to_torch_mapping.tsv is found under its torch key."""
    import onnx
    from onnx import numpy_helper

    from avatar_node.tts.vits.piper import onnx_state_dict

    state, _ = onnx_state_dict(default_voice_path())
    raw = {
        i.name: numpy_helper.to_array(i) for i in onnx.load(default_voice_path()).graph.initializer
    }
    rows = fixture_path("piper", "onnx_to_torch_mapping.tsv").read_text().splitlines()[1:]
    mapped = 0
    for row in rows:
        onnx_name, shape, torch_key, transform = row.split("\t")[:4]
        if not torch_key:
            continue
        mapped += 1
        assert list(state[torch_key].shape) == json.loads(shape), torch_key
        value = raw[onnx_name]
        if transform.startswith("value = exp(-logs)"):
            value = -np.log(value)
        assert np.array_equal(state[torch_key].numpy(), value), torch_key
    assert mapped == 350
