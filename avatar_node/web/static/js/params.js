// Page settings: server-injected defaults (window.AVATAR_KIOSK_DEFAULTS, from /config.js),
// overridden by query parameters: ws, channel, prefix, lead_ms, status, input, pump,
// pump_sockets, frame_sockets.

const NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;

function flag(value, fallback) {
  if (value === undefined || value === null || value === "") return fallback;
  if (typeof value === "boolean") return value;
  return !["0", "false", "no", "off", "hide"].includes(String(value).toLowerCase());
}

function defaultWs() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${location.hostname || "127.0.0.1"}:9001`;
}

/** Returns the effective settings; throws an Error naming the bad parameter. */
export function readParams(
  search = location.search,
  defaults = globalThis.AVATAR_KIOSK_DEFAULTS,
) {
  const d = defaults || {};
  const q = new URLSearchParams(search);
  const pick = (key) => (q.has(key) ? q.get(key) : d[key]);
  const p = {
    ws: pick("ws") || defaultWs(),
    channel: pick("channel") || "default",
    prefix: pick("prefix") || "avatar",
    leadMs: Number(pick("lead_ms") ?? 200),
    showStatus: flag(pick("status"), true),
    showInput: flag(pick("input"), true),
    pumpHz: Number(pick("pump") ?? 1200),
    pumpSockets: Number(pick("pump_sockets") ?? 3),
    frameSockets: Number(pick("frame_sockets") ?? 3),
  };
  // "{host}" stands for the host the page was loaded from: a node that only knows its broker as
  // 127.0.0.1 can still hand remote kiosks a usable URL (ws://{host}:9001).
  p.ws = p.ws.replaceAll("{host}", location.hostname || "127.0.0.1");
  if (!NAME_RE.test(p.channel)) throw new Error(`bad channel: ${p.channel}`);
  // A prefix may contain '/' levels but never MQTT wildcards.
  if (!p.prefix || /[#+]/.test(p.prefix)) throw new Error(`bad prefix: ${p.prefix}`);
  if (!/^wss?:\/\//.test(p.ws)) throw new Error(`bad ws url: ${p.ws}`);
  if (!Number.isFinite(p.leadMs) || p.leadMs < 0 || p.leadMs > 10000) p.leadMs = 200;
  if (!Number.isFinite(p.pumpHz) || p.pumpHz < 0 || p.pumpHz > 5000) p.pumpHz = 1200;
  if (!Number.isInteger(p.pumpSockets) || p.pumpSockets < 1 || p.pumpSockets > 8) p.pumpSockets = 3;
  if (!Number.isInteger(p.frameSockets) || p.frameSockets < 0 || p.frameSockets > 8) p.frameSockets = 3;
  return p;
}
