"""Building the JSON lines of the agent protocol (docs/agent-protocol.md)."""

from __future__ import annotations

import json
from typing import Optional

#: Longest name (topic, node) the agent accepts.
MAX_NAME = 128
#: Longest line the agent accepts by default, newline excluded.
MAX_LINE = 64 * 1024


def valid_name(name: str) -> bool:
    """1-128 printable ASCII characters without spaces, as the agent requires."""
    return 0 < len(name) <= MAX_NAME and all(33 <= ord(c) <= 126 for c in name)


def _line(obj: dict) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def topic_message(
    topic: str,
    *,
    count: Optional[int] = None,
    publishers: Optional[int] = None,
    ts: Optional[float] = None,
) -> Optional[str]:
    """A ``topic`` report: ``count`` messages since the previous report of
    ``topic``, its current ``publishers``, counted at ``ts`` (Unix seconds).
    ``None`` when the topic name is not acceptable to the agent."""
    if not valid_name(topic):
        return None
    obj: dict = {"type": "topic", "topic": topic}
    if count is not None:
        obj["count"] = max(0, min(int(count), 1_000_000_000))
    if publishers is not None:
        obj["publishers"] = max(0, min(int(publishers), 4_294_967_295))
    if ts is not None:
        obj["ts"] = round(ts, 6)
    return _line(obj)


def heartbeat_message(node: str, ttl_s: float) -> Optional[str]:
    """A ``heartbeat`` of ``node`` valid for ``ttl_s`` seconds (0.05-3600)."""
    if not valid_name(node):
        return None
    ttl = max(0.05, min(float(ttl_s), 3600.0))
    return _line({"type": "heartbeat", "node": node, "ttl_s": ttl})


def event_message(kind: str, message: str, *, level: str = "info", fields: Optional[dict] = None) -> Optional[str]:
    """An ``event`` of ``kind`` (custom name or typed kind) at ``level``."""
    if not valid_name(kind):
        return None
    obj: dict = {"type": "event", "kind": kind, "level": level, "message": message}
    if fields:
        obj["fields"] = {str(k): v for k, v in list(fields.items())[:64] if valid_name(str(k))}
    line = _line(obj)
    return line if len(line.encode()) <= MAX_LINE else None


def qualified_node_name(name: str, namespace: str) -> str:
    """``/ns/name`` from rclpy's ``(name, namespace)`` pairs."""
    ns = namespace.rstrip("/")
    if ns and not ns.startswith("/"):
        ns = "/" + ns
    return f"{ns}/{name}"
