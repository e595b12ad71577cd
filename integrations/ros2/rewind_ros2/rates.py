"""Counting messages per topic between two reports.

Subscription callbacks call :meth:`TopicCounter.record` (from executor
threads); the periodic tick calls :meth:`TopicCounter.take`, which returns
what was counted since the previous take and starts over. The agent turns
those counts into ``topic.<topic>.rate_hz``; the local rate is only for logs.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable, Dict, Iterable


@dataclass(frozen=True)
class Counted:
    """Messages on one topic since the previous take."""

    count: int
    #: Seconds covered (since the previous take, or since tracking started).
    elapsed_s: float

    @property
    def rate_hz(self) -> float:
        """Messages per second over ``elapsed_s`` (0 when nothing elapsed)."""
        return self.count / self.elapsed_s if self.elapsed_s > 0 else 0.0


class TopicCounter:
    """Thread-safe message counts for a set of tracked topics."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._counts: Dict[str, int] = {}
        self._since: Dict[str, float] = {}

    def track(self, topic: str) -> None:
        """Starts counting ``topic`` (no effect if already tracked)."""
        with self._lock:
            if topic not in self._counts:
                self._counts[topic] = 0
                self._since[topic] = self._clock()

    def untrack(self, topic: str) -> None:
        """Stops counting ``topic`` and forgets its count."""
        with self._lock:
            self._counts.pop(topic, None)
            self._since.pop(topic, None)

    def tracked(self) -> set:
        with self._lock:
            return set(self._counts)

    def retain(self, topics: Iterable[str]) -> None:
        """Keeps only ``topics`` (tracking any that are new)."""
        wanted = set(topics)
        for t in self.tracked() - wanted:
            self.untrack(t)
        for t in wanted:
            self.track(t)

    def record(self, topic: str, n: int = 1) -> None:
        """Counts ``n`` messages on ``topic``; ignored if it is not tracked."""
        with self._lock:
            if topic in self._counts:
                self._counts[topic] += n

    def take(self) -> Dict[str, Counted]:
        """Counts since the previous take, per tracked topic; resets them."""
        now = self._clock()
        with self._lock:
            out = {t: Counted(c, max(0.0, now - self._since[t])) for t, c in self._counts.items()}
            for t in self._counts:
                self._counts[t] = 0
                self._since[t] = now
        return out
