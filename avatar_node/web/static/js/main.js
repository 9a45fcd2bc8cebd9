// Kiosk entry point: reads the settings, connects to the broker and routes messages to the player.

import { Connection } from "./connection.js";
import { createHooks } from "./hooks.js";
import * as msg from "./messages.js";
import { readParams } from "./params.js";
import { Player } from "./player.js";
import { StatusCorner } from "./status.js";

const $ = (sel) => document.querySelector(sel);

function main() {
  const status = new StatusCorner($("#status"), true);
  const hooks = createHooks((m) => status.error(m));
  window.avatarKiosk = hooks;
  let params;
  try {
    params = readParams();
  } catch (e) {
    hooks.error(e.message);
    return;
  }
  hooks.params = params;
  status.root.hidden = !params.showStatus;

  const player = new Player({
    canvas: $("#avatar"),
    leadMs: params.leadMs,
    hooks,
    onChange: (s) => {
      hooks.state = s;
      status.playback(s);
    },
  });
  hooks.audioNow = () => player.audioNow();
  hooks.audioState = () => player.ctx.state;
  hooks.queueLength = () => player.queue.length;
  hooks.activeSources = () => player.queue.reduce((n, u) => n + u.sources.size, 0);
  hooks.held = () => player.held();

  // The server may put the avatar's resting frame in the page itself (<img id="idle-face">):
  // the face shows on the first paint; the canvas takes over once it has a picture.
  const img = $("#idle-face");
  const canvas = $("#avatar");
  const serverFace = img && img.getAttribute("src");
  if (serverFace) {
    canvas.hidden = true;
    const seen = () => {
      hooks.firstPicture ??= { what: "server", at: performance.now() };
    };
    if (img.complete) seen();
    else img.addEventListener("load", seen, { once: true });
  }
  player.onShown = (what) => {
    hooks.firstPicture ??= { what, at: performance.now() };
    if (canvas.hidden) {
      canvas.hidden = false;
      if (img) img.hidden = true;
    }
  };

  // Autoplay: a suspended AudioContext needs a user gesture (kiosks pass
  // --autoplay-policy=no-user-gesture-required to Chromium and never see the button).
  const unlock = $("#unlock");
  const checkAudio = () => {
    unlock.hidden = player.ctx.state === "running";
  };
  // An output device that goes away and comes back (a screen's HDMI sink sleeping) can leave the
  // context suspended or "interrupted": keep asking it to run (a no-op while autoplay blocks it).
  setInterval(() => {
    if (player.ctx.state !== "running" && player.ctx.state !== "closed") {
      player.ctx.resume().catch(() => {});
    }
  }, 5000);
  player.ctx.onstatechange = checkAudio;
  unlock.addEventListener("click", () => player.ctx.resume().then(checkAudio));
  document.addEventListener("pointerdown", () => player.ctx.resume(), { once: true });
  player.ctx.resume().catch(() => {});
  setTimeout(checkAudio, 300);

  const handlers = {
    avatar: (m) => {
      const a = msg.avatarInfo(m);
      return a ? player.setAvatar(a) : hooks.bad("bad avatar message");
    },
    audio: (m) => {
      const c = msg.audioChunk(m);
      return c ? player.onAudio(c) : hooks.bad("bad audio chunk");
    },
    frames: (m) => {
      const f = msg.videoFrame(m);
      return f ? player.onFrame(f) : hooks.bad("bad video frame");
    },
    idle: (m) => {
      const f = msg.videoFrame(m);
      return f ? player.onIdleFrame(f) : hooks.bad("bad idle frame");
    },
    events: (m) => {
      const e = msg.event(m);
      return e ? player.onEvent(e) : hooks.bad("bad event");
    },
    control: (m) => {
      const c = msg.control(m);
      if (c) player.onControl(c); // other control payloads are the node's business
    },
    state: (m) => {
      if (typeof m.state === "string") status.node(m.state);
    },
  };

  const conn = new Connection(params, {
    onMessage(kind, payload) {
      hooks.stats.messages++;
      if (kind === "avatar" && payload.length === 0) return; // retained message cleared
      const m = msg.parseJson(payload);
      if (!m) return hooks.bad(`${kind}: not a JSON object`);
      try {
        handlers[kind](m);
      } catch (e) {
        hooks.error(`${kind} handler failed: ${e?.message || e}`);
      }
    },
    onPump(report) {
      hooks.pump = report; // {open, sent, hz}: the pump worker's connections and pings
    },
    onStatus(state, detail) {
      if (state === "connected" && hooks.everConnected) hooks.stats.reconnects++;
      if (state === "connected") hooks.everConnected = true;
      if (hooks.connected && state !== "connected" && state !== "error") player.connectionLost();
      if (state !== "error") hooks.connected = state === "connected";
      if (state === "error") hooks.error(detail);
      status.connection(state, detail);
    },
  });
  conn.start();
  hooks.say = (text) => conn.say(text);
  hooks.frameLinks = () => conn.frameLinks.snapshot(); // {sharing, open, frames, why}

  const form = $("#say");
  form.hidden = !params.showInput;
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const input = $("#say-text");
    const text = input.value.trim();
    if (text && conn.say(text)) input.value = "";
  });
}

main();
