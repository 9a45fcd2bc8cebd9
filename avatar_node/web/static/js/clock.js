// The two halves of playback on the AudioContext clock (see player.js for the model):
// scheduleAudio() starts audio chunks when they are decoded and enough frames are buffered,
// drawDue() draws the newest frame whose due time has come.

const START_MARGIN_S = 0.025; // scheduling slack ahead of ctx.currentTime (~2 audio buffers)
const DRAW_LOOKAHEAD_S = 0.008; // ~half a 60 Hz refresh: a frame shows at the next vsync
const LATE_DROP_FRAMES = 2; // a frame later than this many frame intervals is not drawn
const DECODE_AHEAD = 25; // decoded ImageBitmaps kept ahead of the draw position (~1 s)
const DECODE_NEXT = 6; // frames of the next utterance decoded while the current one plays
const FIRST_DECODED = 3; // an utterance starts once its first frames are decoded (or lead_ms)
const RATE_SAFETY = 0.85; // a pipe slower than real time is assumed this much slower still
const NO_FRAMES_WAIT_MS = 5000; // play audio without video when no frame comes for this long
const STALL_DROP_MS = 20000; // drop an utterance that gets no data and has nothing left to play

/**
 * May chunk `c` start now? Only when frames cover `leadMs` past its start (or the whole chunk),
 * so video is never behind audio, and, when frames arrive slower than real time (a node that
 * renders slowly, a broker that relays slowly), only once enough of the chunk is buffered that
 * the frames still missing arrive before they are due: at the arrival rate measured for this
 * utterance, or the page's last measured one while this one's is not measurable yet (none at
 * all on a fresh page: then it waits for a measurement, or for the whole chunk).
 */
function gateOpen(p, u, c, wall) {
  if (!u.started && !firstFramesDecoded(u, p.leadMs)) return false;
  const have = u.coveredMs(wall); // frames cover media time up to here, without a gap
  if (u.ended || (u.framesFinal && have >= u.maxPtsMs + u.frameMs)) return true;
  const endMs = c.startMs + c.durationMs;
  if (have >= endMs) return true;
  if (have >= c.startMs + p.leadMs) {
    let rate = u.frameRate();
    if (rate !== null) p.lastFrameRate = rate;
    else rate = p.lastFrameRate ?? null;
    if (rate !== null) {
      if (rate >= 1) return true;
      const r = rate * RATE_SAFETY;
      if (have >= endMs - r * (endMs - c.startMs + u.frameMs)) return true;
    }
  }
  // Frames stopped coming (a node without lip sync, lost QoS 0 frames): play the sound anyway.
  if (wall - Math.max(c.arrivedAt, u.lastFrameAt ?? 0) > NO_FRAMES_WAIT_MS) {
    p.hooks.stats.audioWithoutFrames++;
    return true;
  }
  return false;
}

/**
 * Before an utterance starts, its first frames must be decoded, or they would come due while
 * still decoding and be skipped. Frames that fail to decode are removed, so this cannot block.
 */
function firstFramesDecoded(u, leadMs) {
  const n = Math.min(FIRST_DECODED, u.frames.length);
  for (let i = 0; i < n; i++) {
    const f = u.frames[i];
    if (!f.bitmap && f.ptsMs < u.frames[0].ptsMs + leadMs) return false;
  }
  return true;
}

function startChunk(p, u, c) {
  const ctx = p.ctx;
  const minStart = ctx.currentTime + START_MARGIN_S;
  let when = u.started ? u.due(c.startMs) : null;
  if (when === null || when < minStart) {
    // First chunk, or the chunk is late: (re)anchor media time here, for this chunk onwards.
    if (u.started) p.hooks.stats.stalls++;
    else p.hooks.stats.utterancesStarted++;
    p.hooks.mark(u.started ? "stall" : "play", u.id, c.seq);
    u.segments.push({ fromMs: c.startMs, t0: minStart - c.startMs / 1000 });
    when = minStart;
  }
  const src = ctx.createBufferSource();
  src.buffer = c.buffer;
  src.connect(p.out);
  src.onended = () => {
    u.sources.delete(src);
    src.disconnect();
  };
  src.start(when);
  u.sources.add(src);
  u.scheduledEndMs = Math.max(u.scheduledEndMs, c.startMs + c.durationMs);
  u.audioEnd = Math.max(u.audioEnd ?? 0, when + c.buffer.duration);
  c.buffer = null; // the source node holds it until it has played
  u.audioBytes -= c.pcmBytes;
  c.pcmBytes = 0;
  p.hooks.stats.audioScheduled++;
}

function retire(p, u, why) {
  p.hooks.stats.framesUnplayed += u.release((bmp) => closeBitmap(p, bmp));
  p.queue = p.queue.filter((x) => x !== u);
  p.remember(u.id);
  if (why) p.hooks.error(`utterance ${u.id} dropped: ${why}`);
  else p.hooks.stats.utterancesDone++;
  if (p.showing === "frame") p.drawIdle();
}

export function scheduleAudio(p, now) {
  const u = p.queue[0];
  if (!u) return p.setState("idle");
  const wall = performance.now();
  for (;;) {
    const c = u.chunks.get(u.nextChunk);
    if (!c || (!c.buffer && !c.failed)) break; // not here yet, or still decoding
    if (c.failed) {
      // Undecodable audio: its span stays silent but its frames may still be shown.
      if (u.started) u.scheduledEndMs = Math.max(u.scheduledEndMs, c.startMs + (c.durationMs ?? 0));
      u.nextChunk++;
      continue;
    }
    if (!gateOpen(p, u, c, wall)) break;
    startChunk(p, u, c);
    u.nextChunk++;
  }
  if (!u.started) {
    if (u.audioComplete) return retire(p, u, "nothing playable");
    if (wall - u.lastDataAt > STALL_DROP_MS) return retire(p, u, "stalled before start");
    return p.setState("buffering");
  }
  if (now >= u.audioEnd + u.frameMs / 1000) {
    if (u.audioComplete) return retire(p, u, null);
    if (wall - u.lastDataAt > STALL_DROP_MS) return retire(p, u, "stalled");
  }
  p.setState("speaking");
}

/** Frees a decoded frame now rather than whenever the garbage collector runs. */
export function closeBitmap(p, bmp) {
  if (!bmp) return;
  bmp.close();
  p.hooks.liveBitmaps--;
}

function startDecode(p, u, f) {
  f.decoding = true;
  createImageBitmap(f.blob).then(
    (bmp) => {
      f.decoding = false;
      f.blob = null;
      f.decodedAt = performance.now();
      p.hooks.liveBitmaps++;
      if (u.frames.includes(f)) f.bitmap = bmp;
      else closeBitmap(p, bmp); // dropped or cancelled meanwhile
      if (!u.started) p.tick(); // the start may wait for this frame
    },
    (e) => {
      f.decoding = false;
      u.removeFrame(f);
      p.hooks.stats.badFrames++;
      p.hooks.error(`frame ${u.id}/${f.seq} undecodable: ${e?.message || e}`);
    },
  );
}

/** Starts decoding the first frames of `u` now (on arrival, not at the next animation frame). */
export function decodeSoon(p, u) {
  decodeAhead(p, u, u === p.queue[0] ? DECODE_AHEAD : DECODE_NEXT);
}

function decodeAhead(p, u, n) {
  for (let i = 0; i < Math.min(n, u.frames.length); i++) {
    const f = u.frames[i];
    if (!f.bitmap && !f.decoding) startDecode(p, u, f);
  }
}

export function drawDue(p, now) {
  const u = p.queue[0];
  if (!u) {
    if (p.showing === "frame") p.drawIdle();
    return;
  }
  decodeAhead(p, u, DECODE_AHEAD);
  if (p.queue[1]) decodeAhead(p, p.queue[1], DECODE_NEXT);
  if (!u.started) return;
  // The newest undrawn frame that is due and whose audio is scheduled (never video ahead).
  const target = now + DRAW_LOOKAHEAD_S;
  let k = -1;
  for (let i = 0; i < u.frames.length; i++) {
    const f = u.frames[i];
    if (f.ptsMs >= u.scheduledEndMs || u.due(f.ptsMs) > target) break;
    k = i;
  }
  if (k < 0) return;
  const f = u.frames[k];
  if (!f.bitmap) return; // still decoding: try again next animation frame
  const offsetMs = (now - u.due(f.ptsMs)) * 1000;
  const wall = performance.now();
  const timed = (g, outcome) => p.hooks.frameTimed(u.id, g, wall + (u.due(g.ptsMs) - now) * 1000, wall, outcome);
  for (let i = 0; i < k; i++) {
    closeBitmap(p, u.frames[i].bitmap);
    p.hooks.stats.framesSkipped++;
    timed(u.frames[i], "skipped");
  }
  u.takeFrames(k + 1);
  u.lastDrawnSeq = f.seq;
  if (offsetMs > LATE_DROP_FRAMES * u.frameMs) {
    p.hooks.stats.framesLate++; // arrived or decoded too late: hold the previous picture
    timed(f, "late");
  } else {
    timed(f, "drawn");
    p.g.drawImage(f.bitmap, 0, 0, p.canvas.width, p.canvas.height);
    p.shown("frame");
    p.hooks.frameDrawn(u.id, f.seq, offsetMs);
  }
  closeBitmap(p, f.bitmap);
  f.bitmap = null;
}

/** Context time being heard now (getOutputTimestamp; currentTime without an output timestamp). */
export function heardTime(ctx) {
  if (ctx.state === "running" && ctx.getOutputTimestamp) {
    const ts = ctx.getOutputTimestamp();
    if (ts.contextTime > 0 && ts.performanceTime > 0) {
      const t = ts.contextTime + (performance.now() - ts.performanceTime) / 1000;
      return Math.min(t, ctx.currentTime);
    }
  }
  return ctx.currentTime;
}
