// MQTT over WebSockets with mqtt.js. mqtt.js's own reconnect timer is fixed-period, so it is off
// (reconnectPeriod 0) and this module reconnects with exponential back-off plus jitter instead:
// 0.5 s, 1 s, 2 s … capped at 30 s, reset after a successful connect.
//
// The pump: mosquitto 2.0 with libwebsockets (Debian's 2.0.11, measured) serves its WebSocket
// clients only when its main loop wakes (any inbound packet, else every 100 ms), writing about
// 4 KB to each per wake: ~40 KB/s, far below 25 frames/s of 60-80 KB (512 px JPEG in base64).
// So while an utterance streams, a worker (pump-worker.js) keeps the loop awake with MQTT
// PINGREQs at `pump_hz` (default 1200/s, 2 bytes each) over `pump_sockets` connections of its
// own (default 3). Pinging on the page's own connection tops out at ~0.7 MB/s: its PINGRESPs
// queue ahead of the frames, and page timers fire at most ~200 times a second; a worker's
// connections reach ~1.8 MB/s and keep the page's main thread free. `?pump=0` turns it off for
// brokers without this problem. Idle-life frames (a few per second, while nobody speaks) need far
// fewer wake-ups: they pump at IDLE_PUMP_HZ. The frames themselves come over links of their own
// (frame-links.js).

import mqtt from "../vendor/mqtt.esm.js";
import { FrameLinks } from "./frame-links.js";

const TOPICS = ["avatar", "audio", "frames", "events", "state", "control", "idle"];
const STREAM_KINDS = ["audio", "frames", "events"];
const QOS = { idle: 0 }; // idle-life frames are QoS 0 and disposable; everything else QoS 1
const IDLE_PUMP_HZ = 25;
const PUMP_HOLD_MS = 3000; // keep pumping this long after the last streamed message
const PUMP_CHECK_MS = 250;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30000;

/** The pump worker (pump-worker.js), or null when this browser cannot start one. */
function startPumper(url, sockets, onReport) {
  try {
    const w = new Worker(new URL("./pump-worker.js", import.meta.url));
    w.onmessage = (ev) => onReport(ev.data);
    w.postMessage({ url, sockets });
    return w;
  } catch (e) {
    console.warn("kiosk: no pump worker:", e);
    return null;
  }
}

export class Connection {
  /**
   * @param {{ws: string, prefix: string, channel: string}} params
   * @param {{onMessage(kind: string, payload: Uint8Array): void,
   *          onStatus(state: string, detail?: string): void}} handlers
   */
  constructor(params, handlers) {
    this.base = `${params.prefix}/${params.channel}`;
    this.url = params.ws;
    this.handlers = handlers;
    this.attempt = 0;
    this.timer = null;
    this.client = null;
    this.connected = false;
    this.pumpHz = params.pumpHz ?? 1200;
    this.pumpSockets = params.pumpSockets ?? 3;
    this.pumper = null; // the pump worker, started on the first connect
    this.pumpTimer = null;
    this.pumpRate = 0; // the rate the running pump timer was started with
    this.lastStreamAt = -Infinity; // last audio / frame / event received
    this.lastIdleAt = -Infinity; // last idle-life frame received
    this.frameLinks = new FrameLinks({
      url: this.url, base: this.base, count: params.frameSockets ?? 3,
      options: () => this.#options(), onPublish: (topic, payload) => this.#onPublish(topic, payload),
    });
  }

  #options() {
    return {
      clientId: `kiosk-${Math.random().toString(16).slice(2, 10)}`,
      clean: true,
      keepalive: 30,
      connectTimeout: 10000,
      reconnectPeriod: 0, // own back-off below
      protocolVersion: 4, // MQTT 3.1.1 works on every broker; the kiosk needs nothing of 5
    };
  }

  #onPublish(topic, payload) {
    const kind = topic.slice(this.base.length + 1);
    if (topic.startsWith(this.base + "/") && TOPICS.includes(kind)) {
      if (STREAM_KINDS.includes(kind)) this.lastStreamAt = performance.now();
      else if (kind === "idle") this.lastIdleAt = performance.now();
      this.#pump();
      this.handlers.onMessage(kind, payload);
    }
  }

  start() {
    this.client = mqtt.connect(this.url, this.#options());
    this.client.on("connect", () => this.#onConnect());
    this.client.on("close", () => this.#onClose());
    this.client.on("error", (err) => this.handlers.onStatus("error", String(err?.message || err)));
    this.client.on("message", (topic, payload) => this.#onPublish(topic, payload));
    this.handlers.onStatus("connecting");
  }

  #onConnect() {
    this.attempt = 0;
    this.connected = true;
    const topics = Object.fromEntries(
      TOPICS.map((t) => [`${this.base}/${t}`, { qos: QOS[t] ?? 1 }]),
    );
    this.client.subscribe(topics, (err) => {
      if (err) return this.handlers.onStatus("error", `subscribe failed: ${err.message || err}`);
      this.handlers.onStatus("connected");
      this.frameLinks.start(this.client); // frames move to links of their own if they can
      // The pump's connections open now, idle: a reply's first messages need wake-ups at once,
      // not after a worker has started and connected (which took 150-300 ms on the first say).
      if (this.pumpHz > 0) this.#startPumper();
    });
  }

  #onClose() {
    const was = this.connected;
    this.connected = false;
    this.frameLinks.stop(); // a new set comes with the next connect
    if (this.timer) return;
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.attempt);
    const jittered = Math.round(delay * (0.75 + Math.random() * 0.5));
    this.attempt += 1;
    this.handlers.onStatus(was ? "disconnected" : "reconnecting", `retry in ${jittered} ms`);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.handlers.onStatus("connecting", `attempt ${this.attempt}`);
      this.client.reconnect();
    }, jittered);
  }

  /** The ping rate wanted now: full while a reply streams, low for idle frames, else none. */
  #wantHz() {
    const now = performance.now();
    if (!this.connected || this.pumpHz <= 0) return 0;
    if (now - this.lastStreamAt < PUMP_HOLD_MS) return this.pumpHz;
    if (now - this.lastIdleAt < PUMP_HOLD_MS) return Math.min(this.pumpHz, IDLE_PUMP_HZ);
    return 0;
  }

  /** The pump worker, once (its connections stay open, idle, between replies). */
  #startPumper() {
    this.pumper ??= startPumper(this.url, this.pumpSockets, (r) => this.handlers.onPump?.(r));
  }

  /** Starts, re-paces or stops the wake-up pings; see the module comment. */
  #pump() {
    const hz = this.#wantHz();
    if (hz === this.pumpRate) return;
    this.pumpRate = hz;
    if (hz > 0) this.#startPumper();
    if (this.pumper) this.pumper.postMessage({ hz });
    if (this.pumpTimer) clearInterval(this.pumpTimer);
    // While pumping, re-check the wanted rate now and then (messages re-check it too).
    this.pumpTimer = hz > 0 ? setInterval(() => this.#pump(), PUMP_CHECK_MS) : null;
  }

  /** Publishes plain text to {prefix}/{channel}/say (QoS 1). */
  say(text) {
    if (!this.client || !this.connected) return false;
    this.client.publish(`${this.base}/say`, text, { qos: 1 });
    this.lastStreamAt = performance.now(); // the reply starts streaming in a moment
    this.#pump();
    return true;
  }
}
