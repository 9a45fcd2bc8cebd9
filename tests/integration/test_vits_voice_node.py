"""A VITS-fast-fine-tuning checkpoint voice with two speakers, spoken through the broker.

The node gets two voices: the bundled ``default`` (shared, already loaded) and ``mine``, the
reference fixture's ``G_latest.pth`` (rebuilt once per session into the pytest temp folder, as the
parity tests do). The fixture's weights are random, so only the structure of the audio is checked:
rate, length, not silent, the speaker changes it, and it equals an in-process synthesis.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from avatar_node.app import Node
from avatar_node.media.wav import decode_wav_base64
from avatar_node.models import VoiceRegistry
from avatar_node.settings import VoiceSettings
from tests.conftest import fixture_path
from tests.integration.conftest import node_settings, wait_subscribed

pytestmark = pytest.mark.integration

# chinese_cleaners turns Han and Latin letters into bopomofo, which this config's symbols lack
# (dropped, with a warning): what survives is the full-width punctuation and the spaces between
# words, so the text is rich in punctuation to give a varied id sequence.
TEXT = "《你好》：世界，“测试”、（一）；好吗？"


@pytest.fixture(scope="module")
def vits_registry(vits_checkpoint: Path, bundled_voices: VoiceRegistry) -> VoiceRegistry:
    mine = VoiceSettings(
        model=str(vits_checkpoint),
        config=str(fixture_path("reference", "vits", "finetune_speaker.json")),
        language="zh", noise_scale=0.0, noise_scale_w=0.0, device="cpu",
    )  # fmt: skip
    reg = VoiceRegistry({"default": VoiceSettings(), "mine": mine})
    reg.voices["default"] = bundled_voices.voices["default"]  # shared, not loaded again
    reg.load_all()
    assert not reg.failures, reg.failures
    return reg


@pytest.fixture
def vits_node(broker, prefix, client, vits_registry: VoiceRegistry) -> Iterator[Node]:
    mine = vits_registry.configs["mine"]
    voices = {
        "default": {},
        "mine": {"model": mine.model, "config": mine.config, "language": "zh",
                 "noise_scale": 0.0, "noise_scale_w": 0.0, "device": "cpu"},
    }  # fmt: skip
    settings = node_settings(broker, prefix, voices=voices)
    node = Node(settings, load_avatars=False, voices=vits_registry)
    node.start(connect_timeout=10)
    try:
        assert node.transport.connected.is_set(), "node did not connect to the test broker"
        wait_subscribed(client, prefix)
        yield node
    finally:
        node.stop()


def utterance_chunks(utt) -> list[tuple[str, np.ndarray, int]]:  # type: ignore[no-untyped-def]
    """(text, samples, rate) of each audio chunk of a finished utterance, in order."""
    assert utt.end["type"] == "finished", utt.end
    chunks = sorted(utt.audio, key=lambda c: c["seq"])
    assert [c["seq"] for c in chunks] == list(range(len(chunks))) and chunks[-1]["final"]
    out = []
    for c in chunks:
        samples, rate = decode_wav_base64(c["wav"])
        assert rate == c["sample_rate"] and c["channels"] == 1
        out.append((c["text"], samples.astype(np.float32), rate))
    return out


def utterance_audio(utt) -> tuple[np.ndarray, int]:  # type: ignore[no-untyped-def]
    chunks = utterance_chunks(utt)
    rates = {rate for _, _, rate in chunks}
    assert len(rates) == 1
    return np.concatenate([samples for _, samples, _ in chunks]), rates.pop()


def test_vits_checkpoint_voice_two_speakers_through_the_broker(
    vits_node: Node, vits_registry: VoiceRegistry, client, collector
) -> None:
    voice = vits_registry.get("mine").voice
    assert voice.speakers == {"dingzhen": 0, "taffy": 1}
    (ids,) = voice.text_to_ids(TEXT, "zh")
    assert len(ids) > 30 and len(set(ids)) > 8, ids  # a non-trivial input, blanks included

    by_name = collector.wait_end(client.say(TEXT, id="ding", voice="mine", speaker="dingzhen"))
    by_id = collector.wait_end(client.say(TEXT, id="taffy1", voice="mine", speaker=1))
    by_taffy = collector.wait_end(client.say(TEXT, id="taffy", voice="mine", speaker="taffy"))
    ding, rate = utterance_audio(by_name)
    taffy1, rate1 = utterance_audio(by_id)
    taffy, rate2 = utterance_audio(by_taffy)
    assert rate == rate1 == rate2 == voice.sample_rate == 22050
    for audio in (ding, taffy1, taffy):
        assert audio.size > 0 and audio.size % voice.hop_length == 0
        assert float(np.sqrt(np.mean(audio**2))) > 0.01, "audio is silent"
    # noise scales are 0 for this voice: the output is a function of (ids, speaker)
    assert np.array_equal(taffy, taffy1), "speaker 1 and 'taffy' are the same speaker"
    n = min(ding.size, taffy.size)
    assert ding.size != taffy.size or np.abs(ding[:n] - taffy[:n]).max() > 0.01, (
        "the two speakers gave the same audio"
    )
    # and each sentence is what the voice gives in process (16-bit PCM on the wire): the first
    # arrives in decoder windows (only its first carries the text) that put together are the
    # whole-sentence decode, the same length; exact in float32, SNR >= 40 dB in bfloat16
    sentences: list[tuple[str, list[np.ndarray]]] = []
    for text, samples, _ in utterance_chunks(by_name):
        if text:
            sentences.append((text, [samples]))
        else:
            sentences[-1][1].append(samples)
    assert len(utterance_chunks(by_name)) > len(sentences), "the first sentence was not streamed"
    for text, pieces in sentences:
        samples = np.concatenate(pieces)
        direct = np.concatenate([voice.synthesize_ids(i, "dingzhen", 0.0, 0.0, 1.0)
                                 for i in voice.text_to_ids(text, "zh")])  # fmt: skip
        assert direct.size == samples.size
        direct = np.clip(direct, -1, 1)
        if voice.dtype == torch.float32:
            assert np.abs(direct - samples).max() <= 2.0 / 32768
        else:
            noise = float(np.sum((direct - samples) ** 2))
            assert 10 * np.log10(float(np.sum(direct**2)) / max(noise, 1e-20)) >= 40.0

    n_events = len(collector.all_events)
    client.say(TEXT, id="nobody", voice="mine", speaker="nobody")
    rejected = collector.wait_end("nobody")
    assert rejected.end["type"] == "rejected" and rejected.end["code"] == "unknown_speaker"
    assert "nobody" in rejected.end["message"]
    assert len(collector.all_events) == n_events + 1

    plain = collector.wait_end(client.say("The default voice still speaks.", id="plain"))
    audio, rate = utterance_audio(plain)
    assert rate == vits_registry.get("default").voice.sample_rate
    assert float(np.sqrt(np.mean(audio**2))) > 0.01, "audio is silent"
