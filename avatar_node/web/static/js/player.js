// Plays utterances in sync: audio chunks scheduled back-to-back on the AudioContext clock, frames
// drawn on a canvas when their pts comes due on that same clock (requestAnimationFrame).
//
// Clock: an utterance's media time m (ms, the contract's start_ms / pts_ms) plays at context time
// t0 + m/1000. If the next chunk is not ready when it is due (TTS slower than real time, or not
// enough frames buffered), t0 is pushed later for that chunk and everything after it: a short
// silence with the last frame held, never video behind audio. "Now" for drawing is the context
// time being heard (getOutputTimestamp), so output latency is accounted for.
//
// Memory: every utterance the node sends is kept and played in order, however many there are
// (the node paces frames at most node.frame_lead_s ahead of its playback clock, so a slow page
// falls behind without losing anything). What bounds memory is bytes and frames, not a count of
// utterances: encoded JPEG + WAV held (MAX_HELD_BYTES) and undrawn frames (MAX_HELD_FRAMES)
// over all queued utterances. Only the playing utterance's frames are decoded (~1 s ahead, see
// clock.js) and only the first AUDIO_DECODE_UTTERANCES utterances' audio.

import { decodeAudio, held } from "./audio.js";
import { closeBitmap, decodeSoon, drawDue, heardTime, scheduleAudio } from "./clock.js";
import { IdleLife } from "./idle.js";
import { Utterance } from "./utterance.js";

export const MAX_HELD_BYTES = 128 * 1024 * 1024; // ~6 min of 512 px video at 25 frames/s
export const MAX_HELD_FRAMES = 9000; // 6 min at 25 frames/s
const AUDIO_DECODE_UTTERANCES = 2; // the playing one and the next: decoded PCM stays small
const EARLY_DROP_MS = 60000; // frames whose utterance's first audio never came are dropped
const DONE_IDS = 256; // remembered finished/cancelled ids (late messages for them are ignored)

export class Player {
  constructor({ canvas, leadMs, hooks, onChange }) {
    this.canvas = canvas;
    this.g = canvas.getContext("2d");
    this.leadMs = leadMs;
    this.hooks = hooks;
    this.onChange = onChange || (() => {});
    this.ctx = new AudioContext({ latencyHint: "interactive" });
    this.out = this.ctx.createGain();
    this.out.connect(this.ctx.destination);
    this.fps = 25;
    this.idle = null; // ImageBitmap of the resting frame
    this.queue = []; // utterances in play order; queue[0] plays
    // Frames (QoS 0) can overtake their utterance's first audio chunk (QoS 1): a broker holds
    // QoS 1 messages back while a slow display's acknowledgements are outstanding (mosquitto's
    // max_inflight_messages) but lets QoS 0 through. Such frames wait here, id -> Utterance.
    this.early = new Map();
    this.doneIds = [];
    this.lastFrameRate = null; // the latest measured frame arrival rate (clock.js, gateOpen)
    this.showing = null; // "idle" | "frame" | "placeholder"
    this.state = "idle";
    this.idleLife = new IdleLife(this);
    this.onShown = () => {}; // called with what the canvas shows once it shows a picture
    this.drawPlaceholder();
    setInterval(() => this.tick(), 20);
    const loop = () => {
      this.draw();
      requestAnimationFrame(loop);
    };
    requestAnimationFrame(loop);
  }

  /** Context time being heard now (see clock.js). */
  audioNow() {
    return heardTime(this.ctx);
  }

  // ---- inbound ----------------------------------------------------------------------------

  async setAvatar(info) {
    this.fps = info.fps;
    this.hooks.face = info.face;
    if (info.width && info.height) {
      this.canvas.width = info.width;
      this.canvas.height = info.height;
    }
    if (!info.idle) return;
    try {
      const bmp = await createImageBitmap(new Blob([info.idle], { type: "image/jpeg" }));
      this.hooks.liveBitmaps++;
      closeBitmap(this, this.idle);
      this.idle = bmp;
      if (!info.width) {
        this.canvas.width = bmp.width;
        this.canvas.height = bmp.height;
      }
      if (this.showing !== "frame") this.drawIdle();
      this.hooks.avatarReady = true;
    } catch (e) {
      this.hooks.error(`idle frame undecodable: ${e.message || e}`);
    }
  }

  onAudio(c) {
    let u = this.find(c.id);
    if (!u) {
      if (this.doneIds.includes(c.id)) return this.hooks.ignore("audio for a finished utterance");
      if (c.seq !== 0) return this.hooks.ignore(`audio seq ${c.seq} for unknown id ${c.id}`);
      // A suspended AudioContext (autoplay blocked, no tap yet) has a stopped clock: buffering
      // would only pile up utterances that play late, all at once. Skip them.
      if (this.ctx.state !== "running") {
        this.remember(c.id);
        return this.hooks.error("sound is blocked by the browser: tap the page to start");
      }
      u = this.early.get(c.id) ?? new Utterance(c.id, this.fps);
      this.early.delete(c.id);
      this.queue.push(u);
    }
    if (u.chunks.has(c.seq)) return this.hooks.ignore("duplicate audio chunk");
    if (this.full(c.wav.byteLength, 0)) {
      this.hooks.stats.audioRefused++;
      this.hooks.error(`buffer full (${this.heldSummary()}): audio ${c.id}/${c.seq} not kept`);
      if (!u.chunks.size) this.cancel(u, false);
      return;
    }
    this.hooks.mark("audio", c.id, c.seq);
    // decodeAudioData detaches the buffer it is given: keep a copy of exactly the WAV bytes.
    const wav = c.wav.buffer.slice(c.wav.byteOffset, c.wav.byteOffset + c.wav.byteLength);
    const chunk = {
      ...c, wav, wavBytes: wav.byteLength, pcmBytes: 0, buffer: null, decoding: false,
      failed: false, arrivedAt: performance.now(),
    };
    u.chunks.set(c.seq, chunk);
    u.firstAudioAt ??= chunk.arrivedAt;
    u.audioBytes += chunk.wavBytes;
    u.lastDataAt = chunk.arrivedAt;
    if (c.final) u.finalSeq = c.seq;
    this.decodeAudio();
  }

  /** Decodes the waiting audio of the first utterances in the queue (the rest stays WAV). */
  decodeAudio() {
    decodeAudio(this, AUDIO_DECODE_UTTERANCES);
  }

  /** Would holding `bytes` and `frames` more go over the page's memory budget? */
  full(bytes, frames) {
    const h = this.held();
    return h.bytes + bytes > MAX_HELD_BYTES || h.frames + frames > MAX_HELD_FRAMES;
  }

  /** What the page holds: queued utterances and early frames (the memory budget). */
  held() {
    return held(this.queue, this.early.values());
  }

  heldSummary() {
    const h = this.held();
    return `${h.utterances} utterances, ${h.frames} frames, ${(h.bytes / 1048576).toFixed(1)} MB`;
  }

  onFrame(f) {
    let u = this.find(f.id) ?? this.early.get(f.id);
    if (!u) {
      if (this.doneIds.includes(f.id)) return; // late frames after a stop are normal
      u = new Utterance(f.id, this.fps);
      this.early.set(f.id, u);
    }
    if (this.full(f.jpeg.byteLength, 1)) {
      this.hooks.stats.framesRefused++;
      return this.hooks.error(`buffer full (${this.heldSummary()}): frame ${f.id}/${f.seq} not kept`);
    }
    if (u.addFrame(f, new Blob([f.jpeg], { type: "image/jpeg" }))) {
      this.hooks.stats.framesReceived++;
      if (f.seq === 0) this.hooks.mark("frame0", f.id, 0);
      if (!u.started && (u === this.queue[0] || u === this.queue[1])) decodeSoon(this, u);
      this.tick();
    }
  }

  onIdleFrame(f) {
    this.idleLife.onFrame(f);
  }

  /** Is an utterance being heard and shown (idle-life frames are ignored meanwhile)? */
  playing() {
    return Boolean(this.queue[0]?.started);
  }

  onEvent(ev) {
    this.hooks.mark(ev.type, ev.id);
    const u = ev.id ? this.find(ev.id) : null;
    if (ev.type === "cancelled") {
      if (u) this.cancel(u);
      else if (ev.id) this.forget(ev.id);
    } else if (ev.type === "finished" || ev.type === "error") {
      if (u) {
        u.ended = true;
        u.framesFinal = true;
      }
      if (ev.type === "error") this.hooks.error(`${ev.code || "error"}: ${ev.message || ev.id}`);
    } else if (ev.type === "rejected") {
      this.hooks.error(`rejected (${ev.code || "?"}): ${ev.message || ""}`);
    }
  }

  onControl(c) {
    if (c.action === "stop") {
      const u = c.id ? this.find(c.id) : this.queue[0];
      if (u) this.cancel(u);
      else if (c.id) this.forget(c.id);
    } else {
      for (const u of this.queue.slice(1)) if (!u.started) this.cancel(u);
    }
  }

  /** The connection dropped: what was buffered plays, nothing more will come for those ids. */
  connectionLost() {
    for (const id of [...this.early.keys()]) this.forget(id);
    for (const u of [...this.queue]) {
      if (u.started) {
        u.ended = true;
        u.framesFinal = true;
      } else {
        this.cancel(u, false);
      }
    }
  }

  cancel(u, count = true) {
    const wasShown = u === this.queue[0] && u.started;
    this.hooks.stats.framesUnplayed += u.release((bmp) => closeBitmap(this, bmp));
    this.queue = this.queue.filter((x) => x !== u);
    this.remember(u.id);
    if (count) this.hooks.stats.cancelled++;
    if (wasShown || this.showing === "frame") this.drawIdle();
    this.setState(this.queue[0]?.started ? "speaking" : "idle");
  }

  /** Ends `id` before its first audio chunk came: its early frames are freed. */
  forget(id) {
    const u = this.early.get(id);
    if (u) this.hooks.stats.framesUnplayed += u.release((bmp) => closeBitmap(this, bmp));
    this.early.delete(id);
    this.remember(id);
  }

  /** Drops early frames whose audio has not come for EARLY_DROP_MS (lost, or never sent). */
  expireEarly(wall) {
    for (const [id, u] of this.early) {
      if (wall - u.lastDataAt > EARLY_DROP_MS) {
        this.hooks.ignore(`frames of ${id} without audio`);
        this.forget(id);
      }
    }
  }

  find(id) {
    return this.queue.find((u) => u.id === id);
  }

  remember(id) {
    this.doneIds.push(id);
    if (this.doneIds.length > DONE_IDS) this.doneIds.shift();
  }

  setState(s) {
    if (s !== this.state) {
      this.state = s;
      this.onChange(s);
    }
  }

  // ---- clock ------------------------------------------------------------------------------

  /** Schedules ready audio, retires finished utterances (every 20 ms and on each message). */
  tick() {
    scheduleAudio(this, this.audioNow());
    this.decodeAudio();
    if (this.early.size) this.expireEarly(performance.now());
  }

  /** Draws the frame that is due (every animation frame). */
  draw() {
    const now = this.audioNow();
    drawDue(this, now);
    const u = this.queue[0]; // the viseme heard now (AudioChunk.alignment, v1.1), else null
    this.hooks.viseme = u?.started ? u.visemeAt(u.mediaAt(now)) : null;
  }

  /** Records what the canvas shows; the first real picture replaces the server's idle image. */
  shown(what) {
    this.showing = what;
    if (what !== "placeholder") this.onShown(what);
  }

  // ---- canvas -----------------------------------------------------------------------------

  drawIdle() {
    if (!this.idle) return this.drawPlaceholder();
    this.g.drawImage(this.idle, 0, 0, this.canvas.width, this.canvas.height);
    this.shown("idle");
  }

  drawPlaceholder() {
    const { g, canvas } = this;
    g.fillStyle = "#111";
    g.fillRect(0, 0, canvas.width, canvas.height);
    g.fillStyle = "#666";
    g.font = `${Math.round(canvas.width / 24)}px system-ui, sans-serif`;
    g.textAlign = "center";
    g.fillText("waiting for the avatar…", canvas.width / 2, canvas.height / 2);
    this.showing = "placeholder";
  }
}
