// MQTT over WebSockets with mqtt.js. mqtt.js's own reconnect timer is fixed-period, so it is off
// (reconnectPeriod 0) and this module reconnects with exponential back-off plus jitter instead:
// 0.5 s, 1 s, 2 s … capped at 30 s, reset after a successful connect.
//
// The pump: mosquitto 2.0 with libwebsockets (Debian's 2.0.11, measured) writes to WebSocket
// clients only when its main loop wakes, about every 100 ms when nothing else happens, one
// buffer at a time: ~40 KB/s, far below 25 frames/s of 10-20 KB. Any inbound packet wakes it,
// so while an utterance streams the kiosk sends MQTT PINGREQs at `pump_hz` (default 200;
// 2 bytes each, answered by 2-byte PINGRESPs). `?pump=0` turns it off for brokers without
// this problem. Idle-life frames (a few per second, while nobody speaks) need far fewer wake-ups:
// they pump at IDLE_PUMP_HZ.

import mqtt from "../vendor/mqtt.esm.js";

const TOPICS = ["avatar", "audio", "frames", "events", "state", "control", "idle"];
const STREAM_KINDS = ["audio", "frames", "events"];
const QOS = { idle: 0 }; // idle-life frames are QoS 0 and disposable; everything else QoS 1
const IDLE_PUMP_HZ = 25;
const PUMP_HOLD_MS = 3000; // keep pumping this long after the last streamed message
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30000;

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
    this.pumpHz = params.pumpHz ?? 200;
    this.pumpTimer = null;
    this.pumpRate = 0; // the rate the running pump timer was started with
    this.lastStreamAt = -Infinity; // last audio / frame / event received
    this.lastIdleAt = -Infinity; // last idle-life frame received
  }

  start() {
    this.client = mqtt.connect(this.url, {
      clientId: `kiosk-${Math.random().toString(16).slice(2, 10)}`,
      clean: true,
      keepalive: 30,
      connectTimeout: 10000,
      reconnectPeriod: 0, // own back-off below
      protocolVersion: 4, // MQTT 3.1.1 works on every broker; the kiosk needs nothing of 5
    });
    this.client.on("connect", () => this.#onConnect());
    this.client.on("close", () => this.#onClose());
    this.client.on("error", (err) => this.handlers.onStatus("error", String(err?.message || err)));
    this.client.on("message", (topic, payload) => {
      const kind = topic.slice(this.base.length + 1);
      if (topic.startsWith(this.base + "/") && TOPICS.includes(kind)) {
        if (STREAM_KINDS.includes(kind)) this.lastStreamAt = performance.now();
        else if (kind === "idle") this.lastIdleAt = performance.now();
        this.#pump();
        this.handlers.onMessage(kind, payload);
      }
    });
    this.handlers.onStatus("connecting");
  }

  #onConnect() {
    this.attempt = 0;
    this.connected = true;
    const topics = Object.fromEntries(
      TOPICS.map((t) => [`${this.base}/${t}`, { qos: QOS[t] ?? 1 }]),
    );
    this.client.subscribe(topics, (err) => {
      if (err) this.handlers.onStatus("error", `subscribe failed: ${err.message || err}`);
      else this.handlers.onStatus("connected");
    });
  }

  #onClose() {
    const was = this.connected;
    this.connected = false;
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

  /** Starts, re-paces or stops the wake-up pings; see the module comment. */
  #pump() {
    const hz = this.#wantHz();
    if (hz === this.pumpRate) return;
    if (this.pumpTimer) clearInterval(this.pumpTimer);
    this.pumpTimer = null;
    this.pumpRate = hz;
    if (hz > 0) {
      this.pumpTimer = setInterval(() => {
        if (this.#wantHz() !== this.pumpRate) this.#pump();
        else this.client.sendPing();
      }, 1000 / hz);
    }
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
