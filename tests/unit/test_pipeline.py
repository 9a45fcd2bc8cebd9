"""Channel pipeline with a fake voice (no broker): ordering, modes, cancellation, end events."""

from __future__ import annotations

import math
import threading
import time

import numpy as np
import pytest

from avatar_node.errors import EngineError, QueueFull, UnknownSpeaker
from avatar_node.media.alignment import Phone
from avatar_node.models import LoadedVoice, VoiceRegistry
from avatar_node.pipeline.channel import SentenceSource
from avatar_node.pipeline.items import Mode, SayCommand
from avatar_node.pipeline.service import Pipeline
from avatar_node.settings import Settings, VoiceSettings
from avatar_node.tts.streaming import WHOLE_SENTENCE
from avatar_node.tts.synthesis import Synthesis
from tests.unit.memory_sink import MemorySink


class FakeVoice:
    """16 kHz; each sentence gives 10 ms of tone per character; can be slow or fail on purpose."""

    sample_rate = 16000
    speakers = {"a": 0, "b": 1}

    def __init__(self, delay: float = 0.0, fail_on: str | None = None, ms_per_char: int = 10):
        self.delay = delay
        self.fail_on = fail_on
        self.ms_per_char = ms_per_char
        self.prepared: list[list[int]] = []

    def resolve_speaker(self, speaker):
        if speaker in (None, 0, 1, "a", "b"):
            return speaker
        raise UnknownSpeaker(f"unknown speaker {speaker!r}")

    def text_to_ids(self, text, language=None):
        if self.fail_on and self.fail_on in text:
            raise EngineError("fake failure")
        return [[len(text)]]

    def synthesize_ids(self, ids, speaker=None, noise_scale=None, noise_scale_w=None,
                       length_scale=1.0):
        time.sleep(self.delay)
        n = int(ids[0] * 16 * self.ms_per_char * length_scale)
        return (0.3 * np.sin(np.arange(n) / 5)).astype(np.float32)

    def synthesize_aligned(self, ids, options):
        audio = self.synthesize_ids(ids, length_scale=options.length_scale)
        end = audio.size * 1000 / self.sample_rate
        return Synthesis(audio, self.sample_rate, [Phone("a", "aa", 0.0, end)])

    def prepare(self, ids, options, plan):
        self.prepared.append(list(ids))
        return None  # Voice.stream_aligned computes the latent itself when given None

    def stream_aligned(self, ids, options, plan, prepared=None):
        """The whole-sentence audio in two windows, or whole for ``WHOLE_SENTENCE`` (like
        Voice.stream_aligned)."""
        whole = self.synthesize_aligned(ids, options)
        if plan is WHOLE_SENTENCE:
            yield Synthesis(whole.audio, self.sample_rate, whole.phones, 0, True)
            return
        audio = whole.audio
        cut = audio.size // 2
        for start, piece in ((0, audio[:cut]), (cut, audio[cut:])):
            end = piece.size * 1000 / self.sample_rate
            yield Synthesis(piece, self.sample_rate, [Phone("a", "aa", 0.0, end)], start,
                            start == cut)  # fmt: skip


class Harness:
    """The real pipeline (queue, runner, stages) with a fake voice and an in-memory sink."""

    def __init__(self, voice: FakeVoice, depth: int = 8, avatars=None, cache_mb: float = 0.0,
                 stream: bool = True, frame_lead_s: float = 0.0):  # fmt: skip
        settings = Settings(node={"channels": ["c"], "queue_depth": depth,
                                  "frame_lead_s": frame_lead_s,
                                  "phrase_cache_mb": cache_mb})  # fmt: skip
        voices = VoiceRegistry({"default": VoiceSettings()})
        cfg = VoiceSettings(stream=stream)
        voices.voices["default"] = LoadedVoice("default", voice, cfg, threading.Lock())
        self.pipeline = Pipeline(settings, voices, avatars)
        self.sink = MemorySink()
        self.pipeline.add_sink(self.sink)
        self.pipeline.build()
        self.pipeline.start()
        self.runner = self.pipeline.runners["c"]
        self.queue = self.runner.queue
        self.messages = self.sink.messages
        self.lock = self.sink.lock

    def say(self, text, utt_id, **kw):
        if "mode" in kw:
            kw["mode"] = Mode(kw["mode"])
        return self.pipeline.submit(SayCommand(channel="c", id=utt_id, text=text, **kw))

    def events(self, utt_id=None):
        with self.lock:
            return [m for leaf, m in self.messages if leaf == "events"
                    and (utt_id is None or m["id"] == utt_id)]

    def wait_end(self, utt_id, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ends = [e for e in self.events(utt_id)
                    if e["type"] in ("finished", "cancelled", "error")]
            if ends:
                return ends[0]
            time.sleep(0.01)
        raise AssertionError(f"no end for {utt_id}: {self.events(utt_id)}")

    def audio(self, utt_id, leaf_name="audio"):
        with self.lock:
            return [m for leaf, m in self.messages if leaf == leaf_name and m["id"] == utt_id]


def energy_avatars(tmp_path):
    """The bundled portrait at 25 frames/s on the energy engine, enrolled into ``tmp_path``."""
    from avatar_node.models import AvatarRegistry
    from avatar_node.settings import AvatarSettings, LipsyncSettings

    avatars = AvatarRegistry({"default": AvatarSettings(fps=25)},
                             LipsyncSettings(engine="energy", cache_dir=str(tmp_path)))  # fmt: skip
    avatars.load_all()
    return avatars


@pytest.fixture
def harness():
    h = Harness(FakeVoice(delay=0.05))
    yield h
    h.pipeline.close()


def test_event_sequence_and_audio_clock(harness):
    harness.say("One. Two two. Three three three.", "u1")
    assert harness.wait_end("u1")["type"] == "finished"
    types = [e["type"] for e in harness.events("u1")]
    assert types == ["queued", "started", "sentence", "sentence", "sentence", "finished"]
    chunks = harness.audio("u1")
    # The first sentence goes out in decoder windows (two here), the later ones whole.
    assert [c["seq"] for c in chunks] == [0, 1, 2, 3]
    assert [c["final"] for c in chunks] == [False, False, False, True]
    assert [c["sentence_end"] for c in chunks] == [False, True, True, True]
    assert [c["text"] for c in chunks] == ["One.", "", "Two two.", "Three three three."]
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert b["start_ms"] == pytest.approx(a["start_ms"] + a["duration_ms"], abs=1e-3)
    for c in chunks:  # each window's alignment covers it, on the utterance clock
        assert c["alignment"][0]["start_ms"] == pytest.approx(c["start_ms"], abs=1e-3)
        end = c["start_ms"] + c["duration_ms"]
        assert c["alignment"][-1]["end_ms"] == pytest.approx(end, abs=1e-3)


def test_whole_sentences_when_streaming_is_off():
    h = Harness(FakeVoice(), stream=False)
    try:
        h.say("One. Two two.", "u1")
        assert h.wait_end("u1")["type"] == "finished"
        chunks = h.audio("u1")
        assert [c["text"] for c in chunks] == ["One.", "Two two."]
        assert all(c["sentence_end"] for c in chunks)
    finally:
        h.pipeline.close()


def test_priority_order_fifo_within_priority():
    h = Harness(FakeVoice(delay=0.2))
    try:
        h.say("Blocker.", "b0")
        time.sleep(0.05)  # b0 is now being spoken
        for i, prio in enumerate([1, 9, 5, 9, 1]):
            h.say(f"Item {i}.", f"p{i}", priority=prio)
        for i in range(5):
            h.wait_end(f"p{i}")
        started = [e["id"] for e in h.events() if e["type"] == "started"]
        assert started == ["b0", "p1", "p3", "p2", "p0", "p4"]
    finally:
        h.pipeline.close()


def test_interrupt_keeps_queue_and_replace_clears_it():
    h = Harness(FakeVoice(delay=0.15))
    try:
        h.say("Long one. " * 8, "long")
        h.say("Queued.", "q1")
        time.sleep(0.1)
        h.say("Urgent.", "urgent", mode="interrupt")
        assert h.wait_end("long")["type"] == "cancelled"
        assert h.wait_end("urgent")["type"] == "finished"
        assert h.wait_end("q1")["type"] == "finished"
        started = [e["id"] for e in h.events() if e["type"] == "started"]
        assert started == ["long", "urgent", "q1"]

        h.say("Long two. " * 8, "long2")
        h.say("Waiting.", "w1")
        time.sleep(0.1)
        h.say("Instead.", "instead", mode="replace")
        assert h.wait_end("long2")["type"] == "cancelled"
        assert h.wait_end("w1")["type"] == "cancelled"
        assert h.wait_end("instead")["type"] == "finished"
        assert "started" not in [e["type"] for e in h.events("w1")]
    finally:
        h.pipeline.close()


def test_stop_current_stop_queued_and_clear():
    h = Harness(FakeVoice(delay=0.15))
    try:
        h.say("Sentence. " * 10, "cur")
        h.say("Queued one.", "qa")
        h.say("Queued two.", "qb")
        h.say("Queued three.", "qc")
        time.sleep(0.1)
        assert h.queue.stop("qb") is True
        assert h.wait_end("qb")["type"] == "cancelled"
        assert h.runner.cancel_current(None) is True
        assert h.wait_end("cur")["type"] == "cancelled"
        assert len(h.audio("cur")) < 10  # stopped between chunks
        assert h.queue.clear() in (1, 2)
        for u in ("qa", "qc"):
            h.wait_end(u)
    finally:
        h.pipeline.close()


def test_queue_full():
    h = Harness(FakeVoice(delay=0.2), depth=2)
    try:
        h.say("Busy.", "x0")
        time.sleep(0.05)
        h.say("A.", "x1")
        h.say("B.", "x2")
        with pytest.raises(QueueFull):
            h.say("C.", "x3")
    finally:
        h.pipeline.close()


def test_engine_error_ends_with_error_and_next_request_works():
    h = Harness(FakeVoice(fail_on="boom"))
    try:
        h.say("This goes boom.", "bad")
        end = h.wait_end("bad")
        assert end["type"] == "error" and end["code"] == "engine_error"
        h.say("This is fine.", "good")
        assert h.wait_end("good")["type"] == "finished"
    finally:
        h.pipeline.close()


def test_streaming_source_gives_sentences_as_they_complete():
    src = SentenceSource(streaming=True, idle_timeout_s=0.3)
    never = threading.Event()
    src.push("Hello there. How")
    assert src.next(never) == "Hello there."
    src.push(" are you")
    t0 = time.monotonic()
    assert src.next(never) == "How are you"  # flushed by the idle timeout
    assert time.monotonic() - t0 >= 0.2
    assert src.next(never) is None and src.exhausted()


def test_frames_follow_the_audio_clock_without_drift(tmp_path):
    avatars = energy_avatars(tmp_path)
    h = Harness(FakeVoice(), avatars=avatars)
    try:
        # Odd sentence lengths so chunk boundaries fall between frames.
        h.say("A b. Ccc dd eee. F. Gggg hhhh iiii jjjj kkkk. Lm nop.", "fr")
        assert h.wait_end("fr")["type"] == "finished"
        chunks = h.audio("fr")
        frames = h.audio("fr", "frames")
        total_ms = sum(c["duration_ms"] for c in chunks)
        assert [f["seq"] for f in frames] == list(range(len(frames)))
        assert len(frames) == math.floor(total_ms * 25 / 1000 + 0.5)  # the clock rule: half-up
        assert [f["final"] for f in frames].count(True) == 1 and frames[-1]["final"]
        for f in frames:
            assert f["pts_ms"] == pytest.approx(f["seq"] * 40.0)
        for c in chunks:  # each chunk gets round(duration * fps) frames, +-1
            inside = [f for f in frames if c["start_ms"] <= f["pts_ms"] + 20 < c["start_ms"]
                      + c["duration_ms"]]  # fmt: skip
            assert abs(len(inside) - c["duration_ms"] * 25 / 1000) <= 1
        # audio of a chunk goes out before its frames
        order = [(leaf, m.get("seq")) for leaf, m in h.messages if leaf in ("audio", "frames")]
        assert order[0] == ("audio", 0)
    finally:
        h.pipeline.close()


def test_interrupt_after_all_speech_is_made_starts_the_next_clock_at_once(tmp_path):
    """The current utterance's speech is all made (its end is only waiting for its paced
    frames) when an interrupt comes: the interrupting one's clock, and so its paced frames,
    start at once, not when the cut-short audio would have ended."""
    avatars = energy_avatars(tmp_path)
    h = Harness(FakeVoice(ms_per_char=500), avatars=avatars, frame_lead_s=0.3)
    try:
        h.say("Thirty seconds of speech in two short sentences. And this one.", "long")
        deadline = time.monotonic() + 20
        while not h.audio("long") or h.audio("long")[-1]["final"] is not True:
            assert time.monotonic() < deadline, "the long utterance's speech was never all made"
            time.sleep(0.01)
        assert sum(c["duration_ms"] for c in h.audio("long")) > 30000
        assert h.events("long")[-1]["type"] == "sentence"  # not ended: its frames still go out
        t0 = time.monotonic()
        h.say("Hi.", "urgent", mode="interrupt")
        assert h.wait_end("long")["type"] == "cancelled"
        assert h.wait_end("urgent", timeout=40)["type"] == "finished"
        # "Hi." is 1.5 s long; paced after the cut-short 30 s it would end after ~30 s.
        assert time.monotonic() - t0 < 15, "the interrupting utterance waited for the old clock"
        assert len(h.audio("urgent", "frames")) == 38  # 1.5 s at 25 frames/s
    finally:
        h.pipeline.close()


def test_phrase_cache_replays_byte_identical_media(tmp_path):
    avatars = energy_avatars(tmp_path)
    voice = FakeVoice(delay=0.05)
    h = Harness(voice, avatars=avatars, cache_mb=8)
    try:
        text = "The garage door is open. Please close it."
        h.say(text, "first")
        assert h.wait_end("first")["detail"] is None
        voice.delay = 5.0  # a second rendering would now be very slow
        t0 = time.monotonic()
        h.say(text, "second")
        end = h.wait_end("second")
        assert time.monotonic() - t0 < 2.0
        assert end["type"] == "finished" and end["detail"] == {"cache": "hit"}
        started = [e for e in h.events("second") if e["type"] == "started"][0]
        assert started["detail"] == {"cache": "hit"}
        for leaf, field in (("audio", "wav"), ("frames", "jpeg")):
            a, b = h.audio("first", leaf), h.audio("second", leaf)
            assert len(a) == len(b) > 0
            assert [m[field] for m in a] == [m[field] for m in b]
            assert [m["final"] for m in a] == [m["final"] for m in b]
        assert h.runner.status.metrics.cache_hits == 1
        assert h.runner.status.metrics.cache_misses == 1
        voice.delay = 0.0
        h.say(text, "third", speed=1.5)  # another speed is another phrase
        assert h.wait_end("third")["detail"] is None
    finally:
        h.pipeline.close()


def test_phrase_cache_is_lru_and_bounded():
    from avatar_node.pipeline.cache import CachedChunk, PhraseCache
    from avatar_node.pipeline.items import AudioOut

    def chunk(n):
        out = AudioOut("c", "x", 0, "t", 0.0, 1.0, 16000, "pcm_s16le", 1, True, None)
        return (CachedChunk(out, b"x" * n, ()),)

    cache = PhraseCache(1000)
    assert cache.put(("a",), chunk(300)) and cache.put(("b",), chunk(300))
    assert cache.get(("a",)) is not None  # a is now most recent
    assert cache.put(("c",), chunk(300))
    assert cache.get(("b",)) is None and cache.get(("a",)) is not None
    assert cache.size_bytes <= 1000
    assert not cache.put(("huge",), chunk(5000))


def test_the_next_sentence_is_prepared_ahead_and_its_failure_waits_for_its_turn():
    voice = FakeVoice(fail_on="boom")
    h = Harness(voice)
    try:
        h.say("First one here. Second one. This goes boom.", "ahead")
        end = h.wait_end("ahead")
        assert end["type"] == "error" and end["code"] == "engine_error"
        # the two sentences before the failing one were spoken in full, in order
        assert [c["text"] for c in h.audio("ahead") if c["text"]] == [
            "First one here.", "Second one."]  # fmt: skip
        # each sentence before the failure was prepared once, in order
        assert voice.prepared == [[len("First one here.")], [len("Second one.")]]
    finally:
        h.pipeline.close()
