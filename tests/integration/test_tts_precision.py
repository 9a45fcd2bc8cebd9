"""The default (``dtype: auto``) voice against float32: identical durations, SNR >= 35 dB, on
the bundled Piper voice and the reference VITS checkpoint, with the same injected noise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from avatar_node.tts import Voice, load_voice
from avatar_node.tts.precision import auto_decoder_dtype, cpu_has_native_bf16
from tests.integration.test_voice_alignment import checkpoint_ids, snr_db

pytestmark = pytest.mark.integration

# Not the benchmark paragraph: questions, numbers, names, a long sentence and a one-word one.
HELD_OUT = (
    "Did Margaret really pay forty-two dollars for that umbrella? "
    "Yes. The rain in Vienna, she said, had soaked every coat, scarf and shoe she owned, "
    "so the price seemed fair at the time."
)


def compare(fast: Voice, exact: Voice, ids: list[int], speaker: int | None = None) -> float:
    gen = torch.Generator().manual_seed(len(ids))
    eps_dp = torch.randn(2, len(ids), generator=gen)
    eps_z = torch.randn(exact.model.hp.inter_channels, 8 * len(ids) + 64, generator=gen)
    outs = [v.infer(ids, speaker, eps_dp=eps_dp, eps_z=eps_z) for v in (fast, exact)]
    assert torch.equal(outs[0].w_ceil, outs[1].w_ceil), "durations differ from float32"
    assert torch.equal(outs[0].y_lengths, outs[1].y_lengths)
    n = int(outs[1].y_lengths[0]) * exact.hop_length
    a, b = (o.audio[0, 0, :n].double().numpy() for o in outs)
    return snr_db(b, a)


def test_auto_is_bfloat16_exactly_where_the_cpu_has_it() -> None:
    expected = torch.bfloat16 if cpu_has_native_bf16() else torch.float32
    assert auto_decoder_dtype(torch.device("cpu")) == expected
    assert auto_decoder_dtype(torch.device("meta")) == torch.float32


def test_piper_default_dtype_keeps_durations_and_snr() -> None:
    fast, exact = load_voice(device="cpu"), load_voice(device="cpu", dtype="float32")
    assert fast.dtype == auto_decoder_dtype(torch.device("cpu"))
    assert exact.dtype == torch.float32
    assert fast.model.flow.flows[0].pre.weight.dtype == torch.float32
    sentences = fast.text_to_ids(HELD_OUT)
    assert len(sentences) == 3
    snrs = [compare(fast, exact, ids) for ids in sentences]
    assert min(snrs) >= 35.0, snrs
    # the Voice API path too: same length to the sample
    torch.manual_seed(3)
    a = fast.synthesize_ids(sentences[1], noise_scale=0, noise_scale_w=0)
    torch.manual_seed(3)
    b = exact.synthesize_ids(sentences[1], noise_scale=0, noise_scale_w=0)
    assert a.shape == b.shape and snr_db(b, a) >= 35.0


def test_checkpoint_default_dtype_keeps_durations_and_snr(
    vits_config: Path, vits_checkpoint: Path
) -> None:
    fast = load_voice(vits_config, vits_checkpoint, device="cpu")
    exact = load_voice(vits_config, vits_checkpoint, device="cpu", dtype="float32")
    for speaker, ids in zip((0, 1, 0), checkpoint_ids(), strict=True):
        assert compare(fast, exact, ids, speaker) >= 35.0


def test_float32_stays_available_and_exact() -> None:
    voice = load_voice(device="cpu", dtype="float32")
    ids = voice.text_to_ids("Yes.")[0]
    torch.manual_seed(5)
    a = voice.synthesize_ids(ids)
    torch.manual_seed(5)
    b = voice.synthesize_ids(ids)
    assert np.array_equal(a, b) and voice.dtype == torch.float32
