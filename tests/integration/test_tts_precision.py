"""The bfloat16 decoder (what ``dtype: auto`` picks where it measures faster) against float32:
identical durations, SNR >= 35 dB, on the bundled Piper voice and the reference VITS checkpoint,
with the same injected noise; and how ``auto`` chooses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from avatar_node.tts import Voice, load_voice
from avatar_node.tts.precision import (
    REQUIRED_GAIN,
    auto_decoder_dtype,
    cpu_has_native_bf16,
    faster_dtype,
    measure_decoder,
)
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


def test_auto_is_bfloat16_only_where_the_cpu_has_it_and_it_measures_faster() -> None:
    assert faster_dtype(1.0, REQUIRED_GAIN) == torch.bfloat16
    assert faster_dtype(1.0, REQUIRED_GAIN + 0.01) == torch.float32
    assert faster_dtype(1.0, 2.5) == torch.float32  # an AMX CPU under torch 2.13, measured
    voice = load_voice(device="cpu", dtype="float32")
    hp = voice.model.hp
    dec = voice.model.dec
    assert auto_decoder_dtype(torch.device("meta"), dec, hp.inter_channels) == torch.float32
    auto = load_voice(device="cpu")
    if not cpu_has_native_bf16():
        assert auto.dtype == torch.float32
        return
    t32, t16 = measure_decoder(dec, hp.inter_channels, hp.gin_channels)
    assert t32 > 0 and t16 > 0
    assert auto.dtype in (torch.bfloat16, torch.float32)
    assert dec.conv_pre.weight.dtype == torch.float32  # measuring leaves the voice as it was


def test_piper_bfloat16_keeps_durations_and_snr() -> None:
    fast = load_voice(device="cpu", dtype="bfloat16")
    exact = load_voice(device="cpu", dtype="float32")
    assert fast.dtype == torch.bfloat16
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


def test_checkpoint_bfloat16_keeps_durations_and_snr(
    vits_config: Path, vits_checkpoint: Path
) -> None:
    fast = load_voice(vits_config, vits_checkpoint, device="cpu", dtype="bfloat16")
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
