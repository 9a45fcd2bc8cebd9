// The pump (see connection.js), in a worker with broker connections of its own: bare MQTT 3.1.1
// sessions over WebSockets that send PINGREQs at the rate the page asks for and read nothing but
// the answers. Each ping wakes a mosquitto 2.0 broker's main loop, which then writes its next
// buffer to every WebSocket client, the page's own connection included. The PINGRESPs queue on
// these connections, never ahead of the page's frames, and the timers run off the main thread.
//
// Messages from the page: {url, sockets} once, then {hz} whenever the wanted rate changes.
// Messages to the page (twice a second while anything changed): {open, sent, hz}.

const PINGREQ = new Uint8Array([0xc0, 0x00]);
const TICK_MS = 4; // browsers run repeating timers at most about this often
const MAX_BURST = 8; // pings owed after a late tick are capped (no flood after a stall)
const KEEPALIVE_S = 60;
const IDLE_PING_MS = 20000; // keeps the idle sessions inside their keepalive
const RETRY_MIN_MS = 2000;
const RETRY_MAX_MS = 60000;

const socks = [];
let turn = 0;
let hz = 0;
let timer = null;
let credit = 0;
let last = 0;
let sent = 0;
let reported = "";

function connectPacket(clientId) {
  const id = new TextEncoder().encode(clientId);
  // protocol name "MQTT", level 4 (3.1.1), flags: clean session, keepalive, client id
  const body = [0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, KEEPALIVE_S, 0, id.length, ...id];
  return new Uint8Array([0x10, body.length, ...body]);
}

function open(url, i, retryMs = RETRY_MIN_MS) {
  const ws = new WebSocket(url, "mqtt");
  const s = { ws, ready: false };
  socks[i] = s;
  ws.binaryType = "arraybuffer";
  ws.onopen = () => {
    ws.send(connectPacket(`kiosk-pump-${Math.random().toString(16).slice(2, 10)}`));
    s.ready = true;
  };
  ws.onclose = () => {
    const wasReady = s.ready;
    s.ready = false;
    // A broker that refuses us (authentication) closes at once: back off, never hammer it.
    const next = wasReady ? RETRY_MIN_MS : Math.min(RETRY_MAX_MS, retryMs * 2);
    setTimeout(() => open(url, i, next), retryMs);
  };
  ws.onerror = () => {};
  ws.onmessage = () => {}; // CONNACK and PINGRESPs: nothing to do
}

function send(s) {
  if (s && s.ready && s.ws.bufferedAmount < 4096) {
    s.ws.send(PINGREQ);
    sent++;
  }
}

function report() {
  const r = { open: socks.filter((s) => s.ready).length, sent, hz };
  const key = JSON.stringify(r);
  if (key !== reported) self.postMessage(r);
  reported = key;
}

function tick() {
  const now = performance.now();
  credit = Math.min(credit + ((now - last) * hz) / 1000, MAX_BURST);
  last = now;
  for (; credit >= 1; credit--) send(socks[turn++ % socks.length]);
}

self.onmessage = (ev) => {
  const m = ev.data;
  if (m.url && !socks.length) {
    const n = Math.max(1, Math.min(8, m.sockets || 1));
    for (let i = 0; i < n; i++) open(m.url, i);
    setInterval(() => socks.forEach(send), IDLE_PING_MS);
    setInterval(report, 500);
  }
  if (typeof m.hz === "number") {
    hz = Math.max(0, m.hz);
    if (hz > 0 && !timer) {
      last = performance.now();
      timer = setInterval(tick, TICK_MS);
    } else if (hz === 0 && timer) {
      clearInterval(timer);
      timer = null;
      credit = 0;
    }
  }
};
