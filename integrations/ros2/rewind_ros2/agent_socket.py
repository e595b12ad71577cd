"""Writing lines to the agent's Unix socket, reconnecting with backoff.

Nothing is queued: lines that cannot be written now (agent down, socket
missing, a write that would block for longer than ``timeout_s``) are
dropped and counted, so the caller never blocks for long and memory never
grows. A failed connection is retried after ``backoff_initial_s``, doubling
up to ``backoff_max_s``; a success resets the delay. Error lines the agent
sends back are read without blocking and kept (the last 20) for logging.
"""

from __future__ import annotations

import collections
import errno
import socket
import time
from typing import Callable, Deque, Iterable, Optional

#: Most reply bytes read per send.
_MAX_REPLY_BYTES = 64 * 1024


class AgentSocket:
    """A reconnecting, never-queueing writer of JSON lines."""

    def __init__(
        self,
        path: str,
        *,
        timeout_s: float = 0.5,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        log: Optional[Callable[[str], None]] = None,
    ) -> None:
        self.path = path
        self.timeout_s = timeout_s
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self._clock = clock
        self._log = log or (lambda _msg: None)
        self._sock: Optional[socket.socket] = None
        self._backoff = backoff_initial_s
        self._next_attempt = 0.0
        self._partial = b""
        #: Lines written, and lines dropped because the agent was unreachable.
        self.sent = 0
        self.dropped = 0
        #: The agent's last error replies (parsed lines as text).
        self.replies: Deque[str] = collections.deque(maxlen=20)

    @property
    def connected(self) -> bool:
        return self._sock is not None

    def send_lines(self, lines: Iterable[str]) -> bool:
        """Writes ``lines`` (without newlines) in one go; False if they were dropped."""
        batch = [line for line in lines if line]
        if not batch:
            return True
        if self._sock is None and not self._connect():
            self.dropped += len(batch)
            return False
        sock = self._sock
        if sock is None:
            return False
        data = ("\n".join(batch) + "\n").encode("utf-8")
        try:
            sock.sendall(data)
        except OSError as e:  # includes socket.timeout
            self._fail(f"write failed: {e}")
            self.dropped += len(batch)
            return False
        self.sent += len(batch)
        self._read_replies()
        return True

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None
                self._partial = b""

    def _connect(self) -> bool:
        if self._clock() < self._next_attempt:
            return False
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout_s)
        try:
            s.connect(self.path)
        except OSError as e:
            s.close()
            self._schedule_retry(f"cannot connect to {self.path}: {e}")
            return False
        self._sock = s
        self._backoff = self.backoff_initial_s
        self._log(f"connected to the agent at {self.path}")
        return True

    def _fail(self, why: str) -> None:
        self.close()
        self._schedule_retry(why)

    def _schedule_retry(self, why: str) -> None:
        self._log(f"{why}; retrying in {self._backoff:.1f} s")
        self._next_attempt = self._clock() + self._backoff
        self._backoff = min(self._backoff * 2, self.backoff_max_s)

    def _read_replies(self) -> None:
        """Reads what the agent wrote back, without blocking."""
        sock = self._sock
        if sock is None:
            return
        # A socket with a timeout waits for readability even with
        # MSG_DONTWAIT: make it non-blocking for this one read.
        sock.setblocking(False)
        try:
            data = sock.recv(_MAX_REPLY_BYTES)
        except (BlockingIOError, InterruptedError, socket.timeout):
            return
        except OSError as e:
            if e.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                return
            self._fail(f"read failed: {e}")
            return
        finally:
            if self._sock is not None:
                sock.settimeout(self.timeout_s)
        if not data:
            self._fail("the agent closed the connection")
            return
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()[-_MAX_REPLY_BYTES:]
        for raw in lines:
            text = raw.decode("utf-8", "replace")
            self.replies.append(text)
            self._log(f"the agent refused a line: {text}")
