// The status corner: connection, playback state and the last error (hideable with ?status=0).

export class StatusCorner {
  constructor(root, visible) {
    this.root = root;
    this.dot = root.querySelector("#st-conn");
    this.conn = root.querySelector("#st-conn-text");
    this.play = root.querySelector("#st-play");
    this.err = root.querySelector("#st-error");
    root.hidden = !visible;
    this.nodeState = null;
  }

  connection(state, detail) {
    const cls = state === "connected" ? " on" : state === "connecting" ? " wait" : "";
    this.dot.className = "dot" + cls;
    this.conn.textContent = detail ? `${state} (${detail})` : state;
  }

  playback(state) {
    this.play.textContent = this.nodeState ? `${state} · node ${this.nodeState}` : state;
    this.lastPlayback = state;
  }

  node(state) {
    this.nodeState = state;
    this.playback(this.lastPlayback || "idle");
  }

  error(message) {
    const t = new Date().toLocaleTimeString();
    this.err.textContent = `${t} ${message}`;
    this.err.title = message;
  }
}
