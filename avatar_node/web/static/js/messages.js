// Wire messages (CONTRACT.md): parse and check the fields the kiosk needs. Every function
// returns null for a message it cannot use; callers count those as ignored bad messages.

const ID_RE = /^[A-Za-z0-9._:-]{1,64}$/;

export function parseJson(payload) {
  try {
    const v = JSON.parse(new TextDecoder().decode(payload));
    return v && typeof v === "object" && !Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
}

/** base64 → Uint8Array; null when the text is not base64. */
export function b64bytes(text) {
  if (typeof text !== "string" || text.length === 0) return null;
  try {
    const bin = atob(text);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}

const isNum = (v) => typeof v === "number" && Number.isFinite(v);
const isSeq = (v) => Number.isInteger(v) && v >= 0;

const MAX_ALIGNMENT = 20000; // entries kept per chunk (a minute of speech has ~800)

/**
 * AudioChunk.alignment (contract v1.1, optional) → [{p, v, startMs, endMs}] on the utterance
 * clock, or null when absent. Malformed entries are skipped, never fatal: the sound still plays.
 */
export function alignment(a) {
  if (!Array.isArray(a)) return null;
  const out = [];
  for (const e of a.slice(0, MAX_ALIGNMENT)) {
    if (!e || typeof e !== "object" || !isNum(e.start_ms) || !isNum(e.end_ms)) continue;
    out.push({
      p: typeof e.p === "string" ? e.p : "", v: typeof e.v === "string" ? e.v : "sil",
      startMs: e.start_ms, endMs: e.end_ms,
    });
  }
  return out;
}

/** AudioChunk → {id, seq, startMs, durationMs, text, final, wav: Uint8Array, alignment} */
export function audioChunk(m) {
  if (!m || !ID_RE.test(m.id ?? "") || !isSeq(m.seq) || !isNum(m.start_ms)) return null;
  const wav = b64bytes(m.wav);
  if (!wav || wav.length < 44) return null;
  return {
    id: m.id, seq: m.seq, startMs: m.start_ms,
    durationMs: isNum(m.duration_ms) ? m.duration_ms : null,
    text: typeof m.text === "string" ? m.text : "", final: m.final === true, wav,
    alignment: alignment(m.alignment),
  };
}

/** VideoFrame → {id, seq, ptsMs, final, jpeg: Uint8Array} */
export function videoFrame(m) {
  if (!m || !ID_RE.test(m.id ?? "") || !isSeq(m.seq) || !isNum(m.pts_ms)) return null;
  const jpeg = b64bytes(m.jpeg);
  if (!jpeg) return null;
  return { id: m.id, seq: m.seq, ptsMs: m.pts_ms, final: m.final === true, jpeg };
}

/** AvatarInfo.face (v1.1): [x1, y1, x2, y2] of the enrolled face, else null. */
function faceBox(f) {
  return Array.isArray(f) && f.length === 4 && f.every(isNum) ? [...f] : null;
}

/** AvatarInfo → {name, width, height, fps, idle: Uint8Array|null, face: number[4]|null} */
export function avatarInfo(m) {
  if (!m) return null;
  return {
    name: typeof m.name === "string" ? m.name : "",
    width: Number.isInteger(m.width) && m.width > 0 ? m.width : null,
    height: Number.isInteger(m.height) && m.height > 0 ? m.height : null,
    fps: isNum(m.fps) && m.fps > 0 ? m.fps : 25,
    idle: b64bytes(m.idle),
    face: faceBox(m.face),
  };
}

/** Event → {id|null, type, code, message} */
export function event(m) {
  if (!m || typeof m.type !== "string") return null;
  return {
    id: typeof m.id === "string" ? m.id : null, type: m.type,
    code: typeof m.code === "string" ? m.code : null,
    message: typeof m.message === "string" ? m.message : null,
  };
}

/** Control → {action, id|null} */
export function control(m) {
  if (!m || (m.action !== "stop" && m.action !== "clear")) return null;
  return { action: m.action, id: typeof m.id === "string" ? m.id : null };
}
