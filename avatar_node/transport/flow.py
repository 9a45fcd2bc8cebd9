"""Outgoing flow control of the transport: how many messages may wait, by QoS and priority.

With ``mqtt.max_outgoing`` = N:

- QoS 1: a message of :class:`Priority` P is refused once ``N * P`` QoS 1 messages are
  unacknowledged. Media (audio) go first, events later, an utterance's end last: its end is not
  lost to a queue full of audio or sentence events.
- QoS 0 (frames, snapshots): at most N wait for the socket; a publisher on another thread than
  paho's waits up to :data:`QOS0_WAIT_S` for room (back-pressure on the frame stage).
"""

from __future__ import annotations

import threading
from enum import IntEnum

QOS0_WAIT_S = 5.0
"""Longest wait of a QoS 0 publisher for room in the socket backlog, in seconds."""


class Priority(IntEnum):
    """Flow-control tier of an outgoing QoS 1 message, chosen by the caller.

    The value is the multiple of ``mqtt.max_outgoing`` unacknowledged QoS 1 messages at which
    the message is refused.
    """

    MEDIA = 1
    """Audio chunks: the first to be refused."""
    EVENT = 2
    """Events other than ends, retained state, status."""
    END = 4
    """An utterance's end event (finished, cancelled, error, rejected): the last refused."""


class OutgoingFlow:
    """Counts messages paho has not yet written (QoS 0) or had acknowledged (QoS 1).

    ``cond`` guards everything here and the transport's ``online`` flag.
    """

    def __init__(self, limit: int):
        self.limit = limit
        self.cond = threading.Condition()
        self.online = False
        """The broker accepted our CONNECT (publishing works); under ``cond``."""
        self._pending: dict[int, int] = {}
        """mid → QoS."""
        self._n = [0, 0]
        """How many of ``_pending`` are QoS 0 and QoS 1."""
        self._acked_early: set[int] = set()

    def room_qos1(self, priority: Priority) -> bool:
        """Call under ``cond``."""
        return self._n[1] < self.limit * int(priority)

    def wait_room_qos0(self, on_net_thread: bool) -> bool:
        """True when a QoS 0 message may go out now (waiting, off paho's thread, for room)."""
        with self.cond:
            if not self.online:
                return False
            if self._n[0] < self.limit:
                return True
            if on_net_thread:
                return False
            self.cond.wait_for(lambda: not self.online or self._n[0] < self.limit, QOS0_WAIT_S)
            return self.online and self._n[0] < self.limit

    def track(self, mid: int, qos: int) -> None:
        with self.cond:
            if mid in self._acked_early:
                self._acked_early.discard(mid)
            elif mid not in self._pending:
                self._pending[mid] = qos
                self._n[min(qos, 1)] += 1

    def written(self, mid: int) -> None:
        """paho wrote (QoS 0) or the broker acknowledged (QoS 1) message ``mid``."""
        with self.cond:
            qos = self._pending.pop(mid, None)
            if qos is None:
                self._acked_early.add(mid)  # written before publish() could record it
            else:
                self._n[min(qos, 1)] -= 1
            self.cond.notify_all()

    def forget_qos0(self) -> None:
        """paho discards unwritten QoS 0 packets on reconnect: forget them (and wake waiters)."""
        with self.cond:
            for mid in [m for m, q in self._pending.items() if q == 0]:
                del self._pending[mid]
            self._n[0] = 0
            self.cond.notify_all()

    def reset(self) -> None:
        """The paho client was replaced: its queue is gone with it."""
        with self.cond:
            self._pending.clear()
            self._n = [0, 0]
            self._acked_early.clear()
            self.cond.notify_all()

    def backlog(self) -> tuple[int, int]:
        with self.cond:
            return self._n[0], self._n[1]
