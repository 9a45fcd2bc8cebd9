// Idle life (contract v1.1): while no utterance plays, the node publishes low-rate frames
// (blinks, breathing) on {prefix}/{channel}/idle, QoS 0, not retained. Each is drawn as soon as
// it is decoded; frames that come during speech are ignored. One decode runs at a time and only
// the newest waiting frame is kept, so a burst never piles up decoded pictures.

const SEQ_RESTART = 100; // a seq this far below the last one means the node restarted

export class IdleLife {
  constructor(player) {
    this.p = player;
    this.lastSeq = -1;
    this.decoding = false;
    this.pending = null; // the newest frame waiting for the decoder
  }

  onFrame(f) {
    const p = this.p;
    if (p.playing()) {
      p.hooks.stats.idleIgnored++;
      return;
    }
    if (f.seq <= this.lastSeq && this.lastSeq - f.seq < SEQ_RESTART) {
      return p.hooks.ignore(`stale idle frame ${f.seq}`);
    }
    this.lastSeq = f.seq;
    p.hooks.stats.idleReceived++;
    this.pending = f;
    if (!this.decoding) this.#next();
  }

  #next() {
    const f = this.pending;
    this.pending = null;
    if (!f) return;
    const p = this.p;
    this.decoding = true;
    createImageBitmap(new Blob([f.jpeg], { type: "image/jpeg" })).then(
      (bmp) => {
        this.decoding = false;
        if (!p.playing() && !this.pending) {
          p.g.drawImage(bmp, 0, 0, p.canvas.width, p.canvas.height);
          p.shown("idle");
          p.hooks.stats.idleDrawn++;
        }
        bmp.close();
        this.#next();
      },
      (e) => {
        this.decoding = false;
        p.hooks.stats.badFrames++;
        p.hooks.error(`idle frame ${f.seq} undecodable: ${e?.message || e}`);
        this.#next();
      },
    );
  }
}
