// Frame links: the frames come over `frame_sockets` connections of their own (default 3).
//
// A mosquitto 2.0 broker writes about the same few KB to *each* WebSocket client per wake of its
// main loop (see connection.js, the pump), so one connection carrying every frame is the narrow
// pipe: 25 frames/s of a 512 px portrait (~77 KB each as base64 JSON) are about all it carries,
// and the first frames of a reply queue behind each other. These links subscribe to the frames
// and the idle-life frames as MQTT shared subscriptions of this page's own
// (`$share/kiosk-<random>/…/frames`, which mosquitto serves to 3.1.1 clients too): the broker
// hands each frame to one link in turn, each link carries a share, and the page's main
// connection keeps the audio and events to itself (no frame holds up a reply's first audio).
// Frames are sorted by seq on arrival (utterance.js), so the interleaving does not matter.
//
// A broker may accept a `$share/` filter without sharing anything (the demo's amqtt delivers
// nothing to it). So the main connection keeps its plain frames subscription until a probe
// published to a topic of this page's own has come back through the shared subscription; only
// then does it unsubscribe. No probe within PROBE_WAIT_MS, or a link that drops: the links are
// closed and the frames stay on (or return to) the main connection.

import mqtt from "../vendor/mqtt.esm.js";

const PROBE_WAIT_MS = 4000;
// Frames of replies and of the idle life: an idle frame on the main connection would hold up the
// next reply's first audio and events behind it (as slow as the idle pump makes it).
const LINK_KINDS = ["frames", "idle"];
const QOS = { frames: 1, idle: 0 }; // as on the main connection (connection.js)

export class FrameLinks {
  /**
   * @param {{url: string, base: string, count: number, options: () => object,
   *          onPublish(topic: string, payload: Uint8Array): void}} o
   */
  constructor({ url, base, count, options, onPublish }) {
    Object.assign(this, { url, base, count, options, onPublish });
    this.links = [];
    this.main = null;
    this.sharing = false;
    this.confirming = false;
    this.timer = null;
    this.why = null; // why the frames are on the main connection alone, once known
  }

  /** Opens the links beside `main` (connected, with frames subscribed plainly). */
  start(main) {
    this.stop();
    this.why = this.count < 1 ? "frame_sockets=0" : null;
    if (this.count < 1) return;
    this.main = main;
    const group = `kiosk-${Math.random().toString(16).slice(2, 10)}`;
    const probe = `${this.base}/kiosk/probe-${group}`;
    const share = (topic, qos) => [`$share/${group}/${topic}`, { qos }];
    const topics = Object.fromEntries([
      ...LINK_KINDS.map((k) => share(`${this.base}/${k}`, QOS[k])), share(probe, 1),
    ]);
    let subscribed = 0;
    for (let i = 0; i < this.count; i++) {
      const link = mqtt.connect(this.url, { ...this.options(), reconnectPeriod: 0 });
      const entry = { link, frames: 0, up: false };
      link.on("connect", () => {
        entry.up = true;
        link.subscribe(topics, (err) => {
          if (err) return this.fallBack(`link subscribe failed: ${err.message || err}`);
          if (++subscribed === this.count) main.publish(probe, "probe", { qos: 1 });
        });
      });
      link.on("message", (topic, payload) => {
        if (topic === probe) return this.confirmed();
        if (topic.endsWith("/frames")) entry.frames++;
        this.onPublish(topic, payload);
      });
      link.on("close", () => entry.up && this.fallBack("a frame link closed"));
      link.on("error", () => {}); // the main connection reports the broker's state
      this.links.push(entry);
    }
    this.timer = setTimeout(() => this.fallBack("no shared subscriptions on this broker"), PROBE_WAIT_MS);
  }

  confirmed() {
    clearTimeout(this.timer);
    if (this.confirming || !this.main) return;
    this.confirming = true;
    const main = this.main;
    // Sharing once the broker has dropped the plain subscription (no frame comes twice after).
    main.unsubscribe(LINK_KINDS.map((k) => `${this.base}/${k}`), (err) => {
      if (err) return this.fallBack(`unsubscribe failed: ${err.message || err}`);
      if (this.main === main) this.sharing = true;
    });
  }

  /** Frames back on the main connection alone. */
  fallBack(why) {
    const main = this.main;
    if (!main) return;
    const plain = Object.fromEntries(LINK_KINDS.map((k) => [`${this.base}/${k}`, { qos: QOS[k] }]));
    if (this.confirming) main.subscribe(plain); // it had been dropped for the shared one
    else console.info(`kiosk: frames on one connection (${why})`);
    this.stop();
    this.why = why;
  }

  /** Closes the links (the main connection closed, or falling back). */
  stop() {
    clearTimeout(this.timer);
    const links = this.links;
    this.links = [];
    this.sharing = false;
    this.confirming = false;
    this.main = null;
    for (const e of links) {
      e.up = false; // closing on purpose: not a reason to fall back
      e.link.end(true);
    }
  }

  /** {sharing, open, frames (per link), why}: for the page's hooks and the tests. */
  snapshot() {
    const open = this.links.filter((e) => e.up).length;
    return { sharing: this.sharing, open, frames: this.links.map((e) => e.frames), why: this.why };
  }
}
