// One utterance as the kiosk buffers it: audio chunks by seq, frames sorted by seq, and the clock
// segments that map media time (ms from the utterance start) to AudioContext time.

const RATE_MIN_MS = 300; // arrival rates are measured over at least this long
const RATE_WINDOW_MS = 1000; // the recent arrival rate looks this far back
const ARRIVALS_KEPT = 64;
const GAP_WAIT_MS = 250; // a missing frame this long after a later one came is lost (QoS 0)

export class Utterance {
  constructor(id, fps) {
    this.id = id;
    this.frameMs = 1000 / fps;
    this.chunks = new Map(); // seq -> {seq, startMs, durationMs, buffer, failed, arrivedAt}
    this.nextChunk = 0; // next chunk seq to schedule
    this.finalSeq = null; // seq of the chunk flagged final
    this.frames = []; // [{seq, ptsMs, blob, bytes, bitmap, decoding}] sorted by seq, undrawn only
    this.frameBytes = 0; // encoded bytes of `frames` (the page's memory budget counts these)
    this.audioBytes = 0; // WAV bytes not yet decoded + decoded samples not yet scheduled
    this.maxPtsMs = -Infinity; // highest frame pts received
    this.lastDrawnSeq = -1;
    this.framesFinal = false;
    this.ended = false; // the node reported finished / error: nothing more will come
    this.segments = []; // [{fromMs, t0}] t0 = context time of media time 0 for pts >= fromMs
    this.scheduledEndMs = 0; // media time up to which audio is scheduled
    this.audioEnd = null; // context time at which the scheduled audio ends
    this.sources = new Set();
    this.createdAt = performance.now();
    this.lastDataAt = this.createdAt;
    this.lastFrameAt = null; // wall ms of the latest frame
    this.firstFrameAt = null; // wall ms of the first frame, for the arrival-rate estimate
    this.firstFramePts = null;
    this.firstAudioAt = null; // wall ms of the first audio chunk
    this.arrivals = []; // [wall ms, highest pts so far] of the latest frames (rate estimate)
  }

  get started() {
    return this.segments.length > 0;
  }

  /** Context time at which media time `ms` is due (null before playback starts). */
  due(ms) {
    for (let i = this.segments.length - 1; i >= 0; i--) {
      if (ms >= this.segments[i].fromMs) return this.segments[i].t0 + ms / 1000;
    }
    return this.segments.length ? this.segments[0].t0 + ms / 1000 : null;
  }

  /** Media time (ms) heard at context time `t` (null before playback starts). */
  mediaAt(t) {
    for (let i = this.segments.length - 1; i >= 0; i--) {
      const s = this.segments[i];
      const m = (t - s.t0) * 1000;
      if (m >= s.fromMs || i === 0) return m;
    }
    return null;
  }

  /** The viseme at media time `m` from the chunks' alignment (contract v1.1), else null. */
  visemeAt(m) {
    for (const c of this.chunks.values()) {
      if (!c.alignment || m < c.startMs || m >= c.startMs + (c.durationMs ?? 0)) continue;
      const e = c.alignment.find((a) => m >= a.startMs && m < a.endMs);
      return e ? e.v : null;
    }
    return null;
  }

  /** Encoded and decoded bytes this utterance holds (frames + audio). */
  get heldBytes() {
    return this.frameBytes + this.audioBytes;
  }

  /** Removes the first `n` frames (drawn or skipped) and returns them. */
  takeFrames(n) {
    const out = this.frames.splice(0, n);
    for (const f of out) this.frameBytes -= f.bytes;
    return out;
  }

  /** Removes one frame (an undecodable one). */
  removeFrame(f) {
    const i = this.frames.indexOf(f);
    if (i >= 0) this.frameBytes -= this.frames.splice(i, 1)[0].bytes;
  }

  /**
   * Media time (ms) up to which the frames to draw are all here. Frames come over several links
   * (frame-links.js) and may arrive out of order: coverage ends at the first missing frame,
   * unless a later frame came more than GAP_WAIT_MS ago (the missing one was lost).
   */
  coveredMs(now = performance.now()) {
    let next = this.lastDrawnSeq + 1;
    for (const f of this.frames) {
      if (f.seq > next && now - f.recvAt < GAP_WAIT_MS) return f.ptsMs - (f.seq - next) * this.frameMs;
      next = f.seq + 1;
    }
    return this.maxPtsMs + this.frameMs;
  }

  /**
   * Media-ms of frames received per wall-ms so far, null until measurable: the lower of the
   * rate since the utterance's media began to arrive (its first audio chunk, or frame) until now
   * and the rate over the last RATE_WINDOW_MS. So neither the burst a node sends ahead of its
   * clock nor its lip sync's batches hide a pipe or a renderer slower than real time.
   */
  frameRate(now = performance.now()) {
    if (this.firstFrameAt === null) return null;
    const from = Math.min(this.firstFrameAt, this.firstAudioAt ?? Infinity);
    if (now - from < RATE_MIN_MS) return null;
    const overall = (this.maxPtsMs + this.frameMs - this.firstFramePts) / (now - from);
    const a = this.arrivals;
    let i = 0;
    while (i < a.length - 1 && now - a[i][0] > RATE_WINDOW_MS) i++;
    const span = now - a[i][0];
    if (span < RATE_MIN_MS) return overall;
    return Math.min(overall, (this.maxPtsMs - a[i][1]) / span);
  }

  addFrame(f, blob) {
    if (f.seq <= this.lastDrawnSeq) return false; // too late to be drawn
    const now = performance.now();
    this.lastDataAt = now;
    this.lastFrameAt = now;
    if (this.firstFrameAt === null) {
      this.firstFrameAt = now;
      this.firstFramePts = f.ptsMs;
    }
    this.maxPtsMs = Math.max(this.maxPtsMs, f.ptsMs);
    this.arrivals.push([now, this.maxPtsMs]);
    if (this.arrivals.length > ARRIVALS_KEPT) this.arrivals.shift();
    if (f.final) this.framesFinal = true;
    const bytes = blob ? blob.size : 0;
    const entry = {
      seq: f.seq, ptsMs: f.ptsMs, blob, bytes, bitmap: null, decoding: false, recvAt: now,
      decodedAt: null,
    };
    // Frames normally arrive in order; insert from the back.
    let i = this.frames.length;
    while (i > 0 && this.frames[i - 1].seq > f.seq) i--;
    if (i > 0 && this.frames[i - 1].seq === f.seq) return false; // duplicate
    this.frames.splice(i, 0, entry);
    this.frameBytes += bytes;
    return true;
  }

  /** All audio chunks are known and handled (scheduled or failed). */
  get audioComplete() {
    const last = this.finalSeq ?? (this.ended ? Math.max(-1, ...this.chunks.keys()) : null);
    return last !== null && this.nextChunk > last;
  }

  /** Stops sound and frees every frame (decoded ones through `close(bitmap)`); returns how many
   * frames were never drawn. */
  release(close) {
    const undrawn = this.frames.length;
    for (const s of this.sources) {
      try {
        s.stop();
      } catch {
        /* not started or already stopped */
      }
      s.disconnect();
    }
    this.sources.clear();
    for (const f of this.frames) if (f.bitmap) close(f.bitmap);
    this.frames = [];
    this.frameBytes = 0;
    for (const c of this.chunks.values()) {
      c.wav = null;
      c.buffer = null;
    }
    this.audioBytes = 0;
    return undrawn;
  }
}
