// Audio decoding and the page's memory accounting. WAV bytes are decoded to PCM (decodeAudioData,
// resampled to the context rate: 4 bytes per sample) only for the first utterances in the queue,
// so a long queue holds compact WAV and not decoded sound.

/** Starts decoding every waiting chunk of the first `n` utterances of `p.queue`. */
export function decodeAudio(p, n) {
  for (const u of p.queue.slice(0, n)) {
    for (const chunk of u.chunks.values()) {
      if (chunk.wav && !chunk.decoding) decodeChunk(p, u, chunk);
    }
  }
}

function decodeChunk(p, u, chunk) {
  chunk.decoding = true;
  // decodeAudioData detaches the buffer it is given; chunk.wav stays set until it answers, so
  // a release meanwhile (chunk.wav = null) is seen.
  p.ctx.decodeAudioData(chunk.wav).then(
    (buf) => {
      chunk.decoding = false;
      if (!chunk.wav) return; // released meanwhile
      chunk.wav = null;
      chunk.buffer = buf;
      chunk.pcmBytes = buf.length * buf.numberOfChannels * 4;
      u.audioBytes += chunk.pcmBytes - chunk.wavBytes;
      if (chunk.durationMs === null) chunk.durationMs = buf.duration * 1000;
      p.hooks.stats.audioDecoded++;
      p.tick();
    },
    (e) => {
      chunk.decoding = false;
      if (!chunk.wav) return;
      chunk.wav = null;
      u.audioBytes -= chunk.wavBytes;
      chunk.failed = true;
      p.hooks.error(`audio chunk ${u.id}/${chunk.seq} undecodable: ${e?.message || e}`);
      p.tick();
    },
  );
}

/** Bytes (encoded frames, WAV, decoded PCM not yet scheduled) and undrawn frames held. */
export function held(queue, early = []) {
  let bytes = 0;
  let frames = 0;
  for (const list of [queue, early]) {
    for (const u of list) {
      bytes += u.heldBytes;
      frames += u.frames.length;
    }
  }
  return { bytes, frames, utterances: queue.length };
}
