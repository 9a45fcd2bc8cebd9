"""The Voice API: load a VITS checkpoint or Piper voice and turn text into float32 audio.

``load_voice("config.json", "G_latest.pth")``, ``load_voice("x.onnx")`` or ``load_voice()`` (the
bundled Piper voice ``en_US-joe-medium``). A :class:`Voice` is synchronous and thread-compatible
(one call at a time per voice); every model call runs under ``torch.inference_mode``.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence
from concurrent.futures import Future

import numpy as np
import structlog
import torch

from avatar_node.device import at_most_threads, resolve_device, resolve_dtype
from avatar_node.errors import BadRequest

from .alignment import SymbolTable, frame_phones, to_phones
from .lookahead import LatentWorker, PreparedCall
from .precision import auto_decoder_dtype
from .speakers import resolve_speaker
from .streaming import WHOLE_SENTENCE, StreamPlan, decode_windows, plan_windows, whole_flow
from .synthesis import Synthesis, SynthesisOptions
from .vits.frontends import TextFrontend
from .vits.model import VitsOutputs, VitsSynthesizer
from .vits.shapes import warm as warm_decoder

log = structlog.get_logger(__name__)


class Voice:
    """A loaded VITS voice: text front-end + generator on one device."""

    def __init__(
        self,
        name: str,
        model: VitsSynthesizer,
        frontend: TextFrontend,
        sample_rate: int,
        speakers: dict[str, int],
        noise_scale: float,
        noise_scale_w: float,
        length_scale: float = 1.0,
        default_speaker: int = 0,
        device: torch.device | None = None,
    ) -> None:
        self.name = name
        self.model = model
        self.frontend = frontend
        self.sample_rate = int(sample_rate)
        self.speakers = dict(speakers)
        self.noise_scale = noise_scale
        """Default prior noise (``noise_scale``)."""
        self.noise_scale_w = noise_scale_w
        """Default duration noise (``noise_scale_w`` / Piper ``noise_w``)."""
        self.length_scale = length_scale
        """Default length scale at speed 1."""
        self.default_speaker = default_speaker
        self.device = device or torch.device("cpu")
        self.n_speakers = model.hp.n_speakers
        self._worker = LatentWorker()

    @property
    def languages(self) -> list[str]:
        return list(self.frontend.languages)

    @property
    def hop_length(self) -> int:
        return self.model.hp.hop_length

    def __repr__(self) -> str:
        return f"Voice({self.name!r}, {self.sample_rate} Hz, {self.n_speakers} speakers)"

    def resolve_speaker(self, speaker: str | int | None) -> int | None:
        """Name or id → id (None for single-speaker voices); raises UnknownSpeaker."""
        return resolve_speaker(
            self.name, self.speakers, self.n_speakers, self.default_speaker, speaker
        )

    def text_to_ids(self, text: str, language: str | None = None) -> list[list[int]]:
        """Model input ids, one list per model call, as the voice's reference front-end does."""
        return self.frontend.text_to_ids(text, language)

    def infer(
        self,
        ids: Sequence[int] | torch.Tensor,
        speaker: str | int | None = None,
        noise_scale: float | None = None,
        noise_scale_w: float | None = None,
        length_scale: float | None = None,
        eps_dp: torch.Tensor | None = None,
        eps_z: torch.Tensor | None = None,
        intermediates: bool = False,
        decode: bool = True,
        run_flow: bool = True,
    ) -> VitsOutputs:
        """Lower level: one batch-1 model call returning :class:`VitsOutputs` (tensors).

        ``eps_dp`` ``[2, ≥L]`` / ``eps_z`` ``[C, ≥T]`` inject the standard-normal noise. With
        ``decode`` false the decoder is not run (``audio`` empty; ``z_masked``/``g`` are set);
        ``run_flow`` false (with ``decode`` false) stops before the flow (``z_p``/``y_mask``).
        """
        x = torch.as_tensor(ids, dtype=torch.long).reshape(1, -1).to(self.device)
        if x.shape[1] == 0:
            raise BadRequest("cannot synthesize an empty id sequence")
        if int(x.min()) < 0 or int(x.max()) >= self.model.hp.n_vocab:
            raise BadRequest(f"symbol ids must lie in 0..{self.model.hp.n_vocab - 1}")
        sid = self.resolve_speaker(speaker)
        sid_t = None if sid is None else torch.tensor([sid], device=self.device)
        lengths = torch.tensor([x.shape[1]], device=self.device)
        with torch.inference_mode():
            if not decode:
                return self.model.latent(
                    x,
                    lengths,
                    sid_t,
                    noise_scale=self.noise_scale if noise_scale is None else noise_scale,
                    noise_scale_w=self.noise_scale_w if noise_scale_w is None else noise_scale_w,
                    length_scale=self.length_scale if length_scale is None else length_scale,
                    eps_dp=eps_dp,
                    eps_z=eps_z,
                    intermediates=intermediates,
                    run_flow=run_flow,
                )
            return self.model.infer(
                x,
                lengths,
                sid_t,
                noise_scale=self.noise_scale if noise_scale is None else noise_scale,
                noise_scale_w=self.noise_scale_w if noise_scale_w is None else noise_scale_w,
                length_scale=self.length_scale if length_scale is None else length_scale,
                eps_dp=eps_dp,
                eps_z=eps_z,
                intermediates=intermediates,
            )

    def synthesize_ids(
        self,
        ids: Sequence[int],
        speaker: str | int | None = None,
        noise_scale: float | None = None,
        noise_scale_w: float | None = None,
        length_scale: float | None = None,
    ) -> np.ndarray:
        """Raw model audio (float32 mono, tanh range, not peak-normalised) for one id sequence.

        ``length_scale`` None is the voice's default (1.0 unless a Piper json sets it).
        """
        if len(ids) == 0:
            return np.zeros(0, dtype=np.float32)
        out = self.infer(ids, speaker, noise_scale, noise_scale_w, length_scale)
        samples = int(out.y_lengths[0]) * self.hop_length
        return out.audio[0, 0, :samples].cpu().numpy()

    def options(
        self,
        speaker: str | int | None = None,
        speed: float = 1.0,
        noise_scale: float | None = None,
        noise_scale_w: float | None = None,
    ) -> SynthesisOptions:
        """Options for a ``speed`` (> 1 is faster): ``length_scale`` = the voice's own / speed."""
        if not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        return SynthesisOptions(speaker, noise_scale, noise_scale_w, self.length_scale / speed)

    @property
    def symbol_table(self) -> SymbolTable:
        """What each id stands for (a front-end without one: ids named ``#id``)."""
        table = getattr(self.frontend, "symbol_table", None)
        return table if isinstance(table, SymbolTable) else SymbolTable({})

    def _latent(
        self, ids: Sequence[int], options: SynthesisOptions, run_flow: bool = True
    ) -> VitsOutputs:
        o = options
        return self.infer(
            ids,
            o.speaker,
            o.noise_scale,
            o.noise_scale_w,
            o.length_scale,
            decode=False,
            run_flow=run_flow,
        )

    def _timeline(self, ids: Sequence[int], out: VitsOutputs) -> list:  # type: ignore[type-arg]
        return frame_phones(list(ids), out.w_ceil[0, 0].tolist(), self.symbol_table)

    def synthesize_aligned(
        self, ids: Sequence[int], options: SynthesisOptions | None = None
    ) -> Synthesis:
        """One model call: its audio and its phones, timed by the model's own durations."""
        if len(ids) == 0:
            return Synthesis(np.zeros(0, dtype=np.float32), self.sample_rate, [])
        out = self._latent(ids, options or SynthesisOptions())
        assert out.z_masked is not None
        with torch.inference_mode():
            decoded = self.model.decode(out.z_masked, out.g, self._worker.lanes())
        audio = decoded[0, 0].cpu().numpy()
        phones = to_phones(self._timeline(ids, out), self.hop_length, self.sample_rate)
        return Synthesis(audio, self.sample_rate, phones)

    def prepare(
        self,
        ids: Sequence[int],
        options: SynthesisOptions | None = None,
        plan: StreamPlan | None = None,
    ) -> Future[PreparedCall]:
        """Start one model call's latent (:mod:`.lookahead`: on the voice's worker thread where
        two torch threads are allowed) for :meth:`stream_aligned` to decode with ``plan``."""
        options, plan = options or SynthesisOptions(), plan or StreamPlan()

        def job() -> PreparedCall:
            out = self._latent(ids, options, run_flow=False)
            assert out.z_p is not None
            frames = int(out.y_lengths[0])
            whole = len(plan_windows(frames, plan)) == 1
            return PreparedCall(
                out, frames, whole_flow(self.model, out.z_p, out.g) if whole else None
            )

        return self._worker.submit(job)

    def stream_aligned(
        self,
        ids: Sequence[int],
        options: SynthesisOptions | None = None,
        plan: StreamPlan | None = None,
        prepared: Future[PreparedCall] | None = None,
    ) -> Generator[Synthesis, None, None]:
        """One model call in pieces: durations, flow and encoder run once, then the decoder
        runs window by window (:mod:`.streaming`); each piece is yielded as soon as it is
        vocoded, with its own phones on its own clock. The pieces put together are
        :meth:`synthesize_aligned`'s audio (same length to the sample). ``prepared`` is this
        call's :meth:`prepare` with the same ``ids``, ``options`` and ``plan``, started early."""
        if len(ids) == 0:
            return
        plan = plan or StreamPlan()
        call = (prepared or self.prepare(ids, options, plan)).result()
        out, frames = call.out, call.frames
        assert out.z_p is not None
        timeline = self._timeline(ids, out)
        hop, rate = self.hop_length, self.sample_rate
        windows = decode_windows(
            self.model, out.z_p, out.g, frames, plan, z=call.z, run_tiles=self._worker.lanes()
        )
        while True:  # each tile on the threads a busy latent worker leaves free (run_tiles)
            with torch.inference_mode():
                window = next(windows, None)
            if window is None:
                return
            a, b, audio = window
            phones = to_phones(timeline, hop, rate, float(a), float(b))
            yield Synthesis(audio.cpu().numpy(), rate, phones, a * hop, b == frames)

    def synthesize(
        self,
        text: str,
        speaker: str | int | None = None,
        language: str | None = None,
        speed: float = 1.0,
        noise_scale: float | None = None,
        noise_scale_w: float | None = None,
    ) -> Iterator[np.ndarray]:
        """Yield one float32 array per model call (Piper: per sentence); ``speed`` > 1 is faster."""
        options = self.options(speaker, speed, noise_scale, noise_scale_w)
        self.resolve_speaker(speaker)  # fail before any work
        calls = self.text_to_ids(text, language)
        pieces = self.stream_calls(calls, options)  # one piece per non-empty call
        for ids in calls:
            yield next(pieces).audio if len(ids) else np.zeros(0, dtype=np.float32)

    def stream_calls(
        self,
        calls: Sequence[Sequence[int]],
        options: SynthesisOptions | None = None,
        first: StreamPlan = WHOLE_SENTENCE,
    ) -> Generator[Synthesis, None, None]:
        """:meth:`stream_aligned` over several model calls, the first with ``first`` and the
        rest whole; every call's latent is queued on the worker at once, in order (streaming
        the first call, a latent started only when its call's turn came left the worker idle
        for 50-75 ms per sentence)."""
        plans = [first] + [WHOLE_SENTENCE] * (len(calls) - 1)
        work = [(ids, plan) for ids, plan in zip(calls, plans, strict=True) if len(ids)]
        ahead = [self.prepare(ids, options, plan) for ids, plan in work]  # the worker never idles
        try:
            for (ids, plan), prepared in zip(work, ahead, strict=True):
                yield from self.stream_aligned(ids, options, plan, prepared)
        finally:  # closed early: drop the latents not started
            for prepared in ahead:
                prepared.cancel()

    def warmup(self, text: str = "Hello.") -> None:
        """Run one short synthesis so the first real sentence does not pay for lazy set-up
        (espeak-ng / cleaner packages, oneDNN kernels, allocator): the decoder's kernels for
        every length it runs on (:mod:`.vits.shapes`) are built here, for the thread counts
        its decodes use (:meth:`LatentWorker.decode_thread_counts`). Front-end failures such
        as a missing optional package are left for the real call to report."""
        if self.model.decoder_sizes:  # oneDNN kernels are per thread count too
            for threads in self._worker.decode_thread_counts():
                with at_most_threads(threads):
                    warm_decoder(self.model.dec, self.model.hp, self.model.decoder_sizes)
        try:
            sequences = self.text_to_ids(text)
        except Exception:  # noqa: BLE001 - reported by the first real call instead
            sequences = []
        ids = sequences[0] if sequences else [i % self.model.hp.n_vocab for i in range(9)]
        self.synthesize_ids(ids)

    def to(self, device: str | torch.device = "auto", dtype: str | torch.dtype = "auto") -> Voice:
        """Move to a device; ``dtype`` applies to the HiFi-GAN decoder (the rest stays float32
        so durations and the spline flows keep full precision). ``auto`` is bfloat16 where the
        CPU has native bfloat16 and a timed decode finds it faster (:mod:`.precision`), else
        float32; ``float32`` is exact parity."""
        dev = device if isinstance(device, torch.device) else resolve_device(device)
        if isinstance(dtype, torch.dtype):
            dt = dtype
        elif (dtype or "auto").strip().lower() == "auto":
            hp = self.model.hp
            dt = auto_decoder_dtype(dev, self.model.dec, hp.inter_channels, hp.gin_channels)
        else:
            dt = resolve_dtype(dtype, dev)
        self.model.to(dev)
        self.model.dec.to(dt)
        self.device = dev
        return self

    @property
    def dtype(self) -> torch.dtype:
        """The HiFi-GAN decoder's dtype (everything else runs in float32)."""
        return self.model.decoder_dtype
