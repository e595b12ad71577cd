"""The collector's logic, independent of rclpy.

Every period, the ROS node hands :meth:`Collector.tick` what the graph looks
like (topics with their publisher counts, node names); the collector adds
the message counts gathered since the previous tick and writes one ``topic``
line per topic and one ``heartbeat`` line per node to the agent.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Optional, Sequence

from .agent_socket import AgentSocket
from .presence import NodePresence
from .protocol import heartbeat_message, topic_message
from .rates import TopicCounter

#: Where the agent listens by default.
DEFAULT_SOCKET = "/run/rewind/agent.sock"


@dataclass
class Settings:
    """What the collector does; the ROS node reads these from parameters."""

    socket_path: str = DEFAULT_SOCKET
    #: Seconds between two reports.
    period_s: float = 1.0
    #: TTL of each heartbeat: a node is missing this long after it left the graph.
    ttl_s: float = 3.0
    #: Most topics subscribed to for rates (publisher counts are sent for all reported topics).
    max_topics: int = 200
    #: Topics reported at all: full-match regular expressions.
    include_topics: Sequence[str] = (".*",)
    exclude_topics: Sequence[str] = ("/rosout", "/parameter_events")
    #: Whether to subscribe to topics to measure their rates.
    measure_rates: bool = True


@dataclass
class Tick:
    """What one tick did."""

    appeared: List[str] = field(default_factory=list)
    vanished: List[str] = field(default_factory=list)
    lines: int = 0
    delivered: bool = True
    rates_hz: Dict[str, float] = field(default_factory=dict)


class Collector:
    """Counts, diffs and reports; the caller owns ROS and the timer."""

    def __init__(
        self,
        settings: Settings,
        out: AgentSocket,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.out = out
        self.counter = TopicCounter(clock)
        self.presence = NodePresence()
        self._include = [re.compile(p) for p in settings.include_topics]
        self._exclude = [re.compile(p) for p in settings.exclude_topics]
        # Timestamps from the monotonic clock, anchored once to the wall
        # clock: differences between reports stay exact when NTP steps.
        self._clock = clock
        self._offset = wall() - clock()

    def reported(self, topic: str) -> bool:
        """Whether ``topic`` passes the include and exclude patterns."""
        return any(p.fullmatch(topic) for p in self._include) and not any(p.fullmatch(topic) for p in self._exclude)

    def to_measure(self, publishers: Dict[str, int]) -> List[str]:
        """The topics to subscribe to, at most ``max_topics``: reported topics
        with publishers, by name; then topics already measured whose
        publishers are gone but that are still in the graph, so that their
        rate reads 0 instead of vanishing."""
        if not self.settings.measure_rates:
            return []
        live = sorted(t for t, n in publishers.items() if n > 0 and self.reported(t))
        gone = sorted(t for t in self.counter.tracked() if publishers.get(t) == 0 and self.reported(t))
        return (live + gone)[: max(0, self.settings.max_topics)]

    def measuring(self, topics: Iterable[str]) -> None:
        """Tells which topics now have a subscription (counted from now on)."""
        self.counter.retain(topics)

    def on_message(self, topic: str) -> None:
        """A subscription callback: one message on ``topic``."""
        self.counter.record(topic)

    def tick(self, publishers: Dict[str, int], nodes: Iterable[str]) -> Tick:
        """Reports the graph: ``publishers`` per topic, the ``nodes`` present."""
        appeared, vanished = self.presence.update(nodes)
        counted = self.counter.take()
        ts = self._offset + self._clock()
        lines: List[Optional[str]] = []
        for topic in sorted(t for t in publishers if self.reported(t)):
            c = counted.get(topic)
            lines.append(topic_message(topic, count=c.count if c else None, publishers=publishers[topic], ts=ts))
        ttl = self.settings.ttl_s
        lines.extend(heartbeat_message(n, ttl) for n in sorted(self.presence.present))
        kept = [line for line in lines if line]
        delivered = self.out.send_lines(kept)
        rates = {t: c.rate_hz for t, c in counted.items()}
        return Tick(appeared, vanished, len(kept), delivered, rates)
