// Counters and measurements exposed on window.avatarKiosk for tests, benchmarks and debugging.

const OFFSETS_KEPT = 5000;

export function createHooks(onError) {
  const hooks = {
    connected: false,
    avatarReady: false,
    state: "idle", // idle | buffering | speaking
    lastError: null,
    pump: null, // {open, sent, hz} from the pump worker (connection.js), null before it starts
    liveBitmaps: 0, // decoded frames not yet closed (the idle frame included): a leak check
    viseme: null, // the viseme heard now (AudioChunk.alignment), null without alignment
    face: null, // AvatarInfo.face: [x1, y1, x2, y2] of the enrolled face, or null
    firstPicture: null, // {what, at}: the first avatar picture shown (server image or canvas)
    stats: {
      messages: 0, badMessages: 0, ignored: 0, errors: 0,
      audioDecoded: 0, audioScheduled: 0, audioWithoutFrames: 0, stalls: 0,
      framesReceived: 0, framesDrawn: 0, framesSkipped: 0, framesLate: 0, badFrames: 0,
      utterancesStarted: 0, utterancesDone: 0, cancelled: 0, reconnects: 0,
      framesRefused: 0, framesUnplayed: 0, audioRefused: 0, idleReceived: 0, idleDrawn: 0, idleIgnored: 0,
    },
    /** Per drawn frame: {id, seq, offsetMs, at}; offsetMs = drawn − due (AudioContext clock). */
    offsets: [],
    firstFrameAt: {}, // utterance id -> performance.now() when its first frame was drawn
    longTasks: { count: 0, totalMs: 0, maxMs: 0 }, // main-thread tasks > 50 ms (longtask API)
    /** Per frame leaving the queue: [id, seq, recvAt, decodedAt, dueAt, at, outcome] (perf ms). */
    frameLog: [],
    frameTimed(id, f, dueAt, at, outcome) {
      hooks.frameLog.push([id, f.seq, f.recvAt, f.decodedAt, dueAt, at, outcome]);
      if (hooks.frameLog.length > OFFSETS_KEPT) hooks.frameLog.splice(0, OFFSETS_KEPT / 5);
    },
    /** Recent milestones {at, what, id, n} (events, audio chunks, first frame received). */
    trace: [],
    /** Ids in the order their playback started (the last 1000). */
    order: [],
    mark(what, id, n = null) {
      if (what === "play") {
        hooks.order.push(id);
        if (hooks.order.length > 1000) hooks.order.shift();
      }
      hooks.trace.push({ at: performance.now(), what, id, n });
      if (hooks.trace.length > 300) hooks.trace.splice(0, 100);
    },
    frameDrawn(id, seq, offsetMs) {
      hooks.stats.framesDrawn++;
      const at = performance.now();
      if (!(id in hooks.firstFrameAt)) {
        hooks.firstFrameAt[id] = at;
        const ids = Object.keys(hooks.firstFrameAt);
        if (ids.length > 100) delete hooks.firstFrameAt[ids[0]];
      }
      hooks.offsets.push({ id, seq, offsetMs, at });
      if (hooks.offsets.length > OFFSETS_KEPT) hooks.offsets.splice(0, OFFSETS_KEPT / 5);
    },
    /** A message that is well-formed but not for us now (unknown id, duplicate …). */
    ignore(why) {
      hooks.stats.ignored++;
      console.debug("kiosk: ignored", why);
    },
    /** A malformed message (not JSON, missing fields, bad base64). */
    bad(why) {
      hooks.stats.badMessages++;
      hooks.error(why);
    },
    error(msg) {
      hooks.stats.errors++;
      hooks.lastError = { message: msg, at: new Date().toISOString() };
      console.warn("kiosk:", msg);
      onError(msg);
    },
    /** Offsets summary for an utterance (all drawn frames when id is omitted). */
    offsetSummary(id) {
      const xs = hooks.offsets.filter((o) => !id || o.id === id).map((o) => o.offsetMs);
      if (!xs.length) return { count: 0 };
      const sorted = [...xs].sort((a, b) => a - b);
      const abs = xs.map(Math.abs);
      return {
        count: xs.length, min: sorted[0], max: sorted[sorted.length - 1],
        median: sorted[Math.floor(sorted.length / 2)], maxAbs: Math.max(...abs),
      };
    },
  };
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        const t = hooks.longTasks;
        t.count++;
        t.totalMs += e.duration;
        t.maxMs = Math.max(t.maxMs, e.duration);
      }
    }).observe({ type: "longtask" });
  } catch {
    /* no longtask API in this browser */
  }
  return hooks;
}
