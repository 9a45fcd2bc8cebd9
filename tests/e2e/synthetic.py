"""A stand-in for the node: publishes contract-shaped ``avatar``/``audio``/``frames``/``events``.

Used by the kiosk e2e tests for what the real node never sends (bad messages) and to drive the
page with exactly known timing. Messages are built with the node's own wire models so they stay
in step with the contract.
"""

from __future__ import annotations

import base64
import io
import json
import math
import threading
import time
import uuid
import wave

import cv2
import numpy as np
import paho.mqtt.client as mqtt

from avatar_node.wire import AudioChunk, AvatarInfo, Event, VideoFrame

SIZE = 256
FPS = 25.0
RATE = 16000
#: The mouth box of the synthetic face, as (x0, y0, x1, y1) fractions of the frame.
MOUTH_BOX = (0.3, 0.6, 0.7, 0.85)


def face_jpeg(openness: float, size: int = SIZE) -> bytes:
    """A cartoon face whose mouth is open by ``openness`` (0..1), JPEG-encoded."""
    img = np.full((size, size, 3), (60, 40, 30), np.uint8)
    c = size // 2
    cv2.circle(img, (c, c), int(size * 0.42), (150, 190, 230), -1)
    for dx in (-1, 1):
        cv2.circle(img, (c + dx * size // 6, int(size * 0.4)), size // 20, (40, 40, 40), -1)
    h = max(2, int(size * 0.12 * openness))
    cv2.ellipse(img, (c, int(size * 0.7)), (size // 7, h), 0, 0, 360, (30, 20, 120), -1)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return buf.tobytes()


def tone_wav(duration_ms: float, rate: int = RATE) -> tuple[bytes, np.ndarray]:
    """A speech-like tone (syllable envelope at 4 Hz): WAV bytes and the per-frame loudness."""
    n = int(rate * duration_ms / 1000)
    t = np.arange(n) / rate
    env = 0.5 * (1 - np.cos(2 * math.pi * 4 * t))
    sig = (0.3 * env * np.sin(2 * math.pi * 220 * t)).astype(np.float32)
    pcm = (sig * 32767).astype("<i2").tobytes()
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    frames = round(duration_ms * FPS / 1000)
    loud = np.array([env[min(n - 1, int(i * rate / FPS))] for i in range(frames)])
    return out.getvalue(), loud


def visemes(start_ms: float, dur: float, step: float = 200.0) -> list[dict[str, object]]:
    """A contiguous alignment covering [start_ms, start_ms + dur): ``aa``/``PP`` alternating."""
    out, t, i = [], start_ms, 0
    while t < start_ms + dur:
        end = min(t + step, start_ms + dur)
        out.append({"p": "a" if i % 2 == 0 else "p", "v": "aa" if i % 2 == 0 else "PP",
                    "start_ms": t, "end_ms": end})  # fmt: skip
        t, i = end, i + 1
    return out


class SyntheticNode:
    """Publishes like a node on ``{prefix}/{channel}/...`` (paho-mqtt 2.x, TCP)."""

    def __init__(self, host: str, port: int, prefix: str, channel: str = "default"):
        self.base = f"{prefix}/{channel}"
        self.channel = channel
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"syn-{uuid.uuid4().hex[:8]}"
        )
        self.client.connect(host, port)
        self.client.loop_start()
        self._lock = threading.Lock()

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()

    def publish(self, kind: str, payload: bytes | str, qos: int = 1, retain: bool = False) -> None:
        self.client.publish(
            f"{self.base}/{kind}", payload, qos=qos, retain=retain
        ).wait_for_publish(5)

    def avatar(self, face: list[int] | None = None) -> None:
        """The retained AvatarInfo; ``face`` adds v1.1's ``face`` box (raw JSON, any model)."""
        info = AvatarInfo(
            name="synthetic",
            width=SIZE,
            height=SIZE,
            fps=FPS,
            idle=base64.b64encode(face_jpeg(0.0)).decode(),
            lipsync="energy",
        )
        msg = json.loads(info.to_json())
        if face is not None:
            msg["face"] = face
        self.publish("avatar", json.dumps(msg), retain=True)

    def idle_frame(self, seq: int, openness: float) -> None:
        """One idle-life frame (contract v1.1) on ``{prefix}/{channel}/idle``, QoS 0."""
        msg = {
            "id": "idle", "seq": seq, "pts_ms": seq * 1000 / FPS, "width": SIZE, "height": SIZE,
            "jpeg": base64.b64encode(face_jpeg(openness)).decode(), "final": False,
        }  # fmt: skip
        self.publish("idle", json.dumps(msg), qos=0)

    def event(self, uid: str | None, type_: str) -> None:
        ev = Event(id=uid, type=type_, ts=time.time(), node="synthetic", channel=self.channel)
        self.publish("events", ev.to_json())

    def utterance(
        self,
        sentences_ms: list[float],
        uid: str | None = None,
        speed: float = 4.0,
        finish: bool = True,
        stop: threading.Event | None = None,
        alignment: bool = False,
    ) -> str:
        """Publishes one utterance: per sentence its audio chunk then its frames, ``speed``× real
        time (frames in batches of 8, as a lip-sync engine would). ``alignment`` adds v1.1's
        ``AudioChunk.alignment`` (200 ms of ``aa`` then 200 ms of ``PP``, repeated)."""
        uid = uid or uuid.uuid4().hex
        self.event(uid, "started")
        start_ms, frame_seq = 0.0, 0
        total_frames = sum(round(d * FPS / 1000) for d in sentences_ms)
        for k, dur in enumerate(sentences_ms):
            wav, loud = tone_wav(dur)
            chunk = AudioChunk(
                id=uid,
                seq=k,
                text=f"sentence {k}",
                start_ms=start_ms,
                duration_ms=dur,
                sample_rate=RATE,
                channels=1,
                sample_format="pcm_s16le",
                wav=base64.b64encode(wav).decode(),
                final=k == len(sentences_ms) - 1,
            )
            msg = json.loads(chunk.to_json())
            if alignment:
                msg["alignment"] = visemes(start_ms, dur)
            self.publish("audio", json.dumps(msg))
            t_batch = time.monotonic()
            for i, level in enumerate(loud):
                if stop is not None and stop.is_set():
                    return uid
                frame = VideoFrame(
                    id=uid,
                    seq=frame_seq,
                    pts_ms=frame_seq * 1000 / FPS,
                    width=SIZE,
                    height=SIZE,
                    jpeg=base64.b64encode(face_jpeg(float(level))).decode(),
                    final=frame_seq == total_frames - 1,
                )
                self.publish("frames", frame.to_json(), qos=0)
                frame_seq += 1
                if i % 8 == 7:  # pace batches at `speed` x real time
                    due = t_batch + 8 / FPS / speed
                    time.sleep(max(0.0, due - time.monotonic()))
                    t_batch = time.monotonic()
            start_ms += dur
        if finish:
            self.event(uid, "finished")
        return uid
