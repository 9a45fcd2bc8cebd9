"""The decoder runs on its fixed lengths only, and that changes nothing but the speed: padded and
tiled decodes equal the plain decode, on the bundled voice's real weights."""

from __future__ import annotations

import resource
import threading
import time

import numpy as np
import pytest
import torch

from avatar_node import memory
from avatar_node.device import at_most_threads
from avatar_node.tts import Voice, load_voice
from avatar_node.tts.lookahead import LatentWorker
from avatar_node.tts.vits.shapes import (
    DECODER_SIZES,
    balanced_tiles,
    decode_fixed,
    receptive_field,
    tiles,
)
from tests.integration.test_voice_alignment import snr_db

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def exact() -> Voice:
    return load_voice(device="cpu", dtype="float32")


@pytest.mark.parametrize("frames", [1, 20, 33, 100, 256, 257, 300, 731])
def test_fixed_length_decode_equals_the_plain_decode(exact: Voice, frames: int) -> None:
    model = exact.model
    z = torch.randn(
        1, model.hp.inter_channels, frames, generator=torch.Generator().manual_seed(frames)
    )
    with torch.inference_mode():
        plain = model.dec(z)
        fixed = decode_fixed(model.dec, z, None, model.hp)
    assert fixed.shape == plain.shape == (1, 1, frames * exact.hop_length)
    assert snr_db(plain.double().numpy(), fixed.double().numpy()) >= 80.0


def test_the_decoder_only_sees_its_fixed_lengths(exact: Voice) -> None:
    seen: list[int] = []
    hook = exact.model.dec.register_forward_pre_hook(
        lambda _m, args: seen.append(args[0].shape[-1])
    )
    try:
        for text in ("Yes.", "The old lighthouse keeper climbed the narrow stairs every evening "
                     "at dusk, polished the great lens and checked the oil twice."):  # fmt: skip
            for ids in exact.text_to_ids(text):
                exact.synthesize_ids(ids)
                list(exact.stream_aligned(ids))
    finally:
        hook.remove()
    assert seen and set(seen) <= set(DECODER_SIZES), sorted(set(seen))
    assert max(seen) == max(DECODER_SIZES)  # the long sentence was tiled


@pytest.mark.parametrize("cut", [tiles, balanced_tiles])
def test_tiles_cover_the_latent_with_a_full_context(cut) -> None:  # type: ignore[no-untyped-def]
    ctx = 12
    for frames in (300, 488, 489, 1000):
        spans = cut(frames, 256, ctx)
        assert [a for a, *_ in spans] == [0] + [b for _, b, *_ in spans[:-1]]
        assert spans[-1][1] == frames
        for a, b, lo, hi in spans:
            assert hi - lo <= 256 and a < b
            assert lo == 0 or a - lo >= ctx
            assert hi == frames or hi - b >= ctx
    with pytest.raises(ValueError, match="context"):
        cut(300, 24, ctx)


def test_balanced_tiles_are_the_fewest_of_about_equal_length() -> None:
    assert balanced_tiles(200, 256, 12) == [(0, 200, 0, 200)]
    for frames, count in ((257, 2), (300, 2), (464, 2), (465, 3), (731, 4)):
        kept = [b - a for a, b, *_ in balanced_tiles(frames, 256, 12)]
        assert len(kept) == count and max(kept) - min(kept) <= 1


@pytest.mark.parametrize("frames", [257, 400, 731])
def test_tiles_on_two_lanes_equal_the_plain_decode(
    exact: Voice, frames: int, two_threads: None
) -> None:
    model, lanes = exact.model, LatentWorker()
    z = torch.randn(
        1, model.hp.inter_channels, frames, generator=torch.Generator().manual_seed(frames)
    )
    with torch.inference_mode():
        plain = model.dec(z)
        fixed = decode_fixed(model.dec, z, None, model.hp, run_tiles=lanes.run_tiles)
    assert fixed.shape == plain.shape
    assert snr_db(plain.double().numpy(), fixed.double().numpy()) >= 80.0


def test_receptive_field_of_the_bundled_voice(exact: Voice) -> None:
    assert receptive_field(exact.model.hp) == 12


def test_warmup_builds_every_length_and_at_most_threads_restores() -> None:
    voice = load_voice(device="cpu", dtype="float32")
    seen: list[int] = []
    hook = voice.model.dec.register_forward_pre_hook(
        lambda _m, args: seen.append(args[0].shape[-1])
    )
    try:
        voice.warmup()
    finally:
        hook.remove()
    assert set(DECODER_SIZES) <= set(seen)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with at_most_threads(1):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_a_reply_stopped_early_leaves_its_later_latents_uncomputed(
    exact: Voice, two_threads: None
) -> None:
    text = " ".join(f"Ship number {k} passed the lighthouse." for k in range(10))
    calls = exact.text_to_ids(text)
    assert len(calls) == 10
    latents = [0]

    def count(*_: object) -> None:
        latents[0] += 1

    hook = exact.model.enc_p.register_forward_hook(count)
    try:
        pieces = exact.stream_calls(calls)
        assert next(pieces).audio.size > 0
        pieces.close()  # the listener interrupted the reply
        worker = exact._worker
        for _ in range(300):  # the latent running when it stopped ends; the rest never start
            if not worker._pending:
                break
            time.sleep(0.1)
    finally:
        hook.remove()
    assert not worker._pending
    assert latents[0] < len(calls)


def test_latents_ahead_on_the_worker_give_the_sequential_audio(exact: Voice) -> None:
    text = "The lens was polished. The oil was checked, twice. Ships passed safely by."
    calls = exact.text_to_ids(text)
    assert len(calls) == 3
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        torch.manual_seed(11)
        ahead = list(exact.synthesize(text))
        workers = [t.name for t in threading.enumerate() if t.name.startswith("vits-latent")]
    finally:
        torch.set_num_threads(before)
    torch.manual_seed(11)
    sequential = [exact.synthesize_ids(ids) for ids in calls]  # noise drawn in the same order
    assert workers, "two threads allowed: latents run on the voice's worker thread"
    assert [a.size for a in ahead] == [s.size for s in sequential]
    for a, s in zip(ahead, sequential, strict=True):
        assert snr_db(s.astype(np.float64), a.astype(np.float64)) >= 60.0


@pytest.mark.skipif(
    not memory.keep_buffers_in_heap(), reason="not glibc, or MALLOC_MMAP_THRESHOLD_ is set"
)
def test_a_decode_in_a_worker_thread_reuses_its_buffers_without_page_faults(exact: Voice) -> None:
    # glibc's default maps each 1-8 MB activation afresh and faults it in page by page: ~5000-8400
    # minor faults (20-28 ms of system time) per 256-frame decode, in the node's TTS thread too.
    z = torch.zeros(1, exact.model.hp.inter_channels, 256)
    faults: list[float] = []

    def decode() -> None:
        with torch.inference_mode():
            for _ in range(2):
                exact.model.dec(z)
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            for _ in range(4):
                exact.model.dec(z)
            faults.append((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 4)

    worker = threading.Thread(target=decode)
    worker.start()
    worker.join()
    assert faults[0] < 1000
