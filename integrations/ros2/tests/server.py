"""A tiny line-collecting Unix socket server standing in for the agent."""

from __future__ import annotations

import os
import queue
import socket
import threading
from typing import List


class LineServer:
    """Accepts connections on ``path`` and queues every line received."""

    def __init__(self, path: str) -> None:
        self.path = path
        if os.path.exists(path):
            os.unlink(path)
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(path)
        self._listener.listen(8)
        self._listener.settimeout(0.05)
        self.lines: "queue.Queue[str]" = queue.Queue()
        self.connections: List[socket.socket] = []
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._listener.accept()
            except (socket.timeout, OSError):
                continue
            self.connections.append(conn)
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        buf = b""
        while True:
            try:
                data = conn.recv(4096)
            except OSError:
                return
            if not data:
                return
            buf += data
            *done, buf = buf.split(b"\n")
            for line in done:
                self.lines.put(line.decode())

    def take(self, n: int, timeout: float = 5.0) -> List[str]:
        """The next ``n`` lines (fails the test by raising on timeout)."""
        return [self.lines.get(timeout=timeout) for _ in range(n)]

    def close(self) -> None:
        self._closed.set()
        self._thread.join()
        for c in self.connections:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()
        self._listener.close()
        if os.path.exists(self.path):
            os.unlink(self.path)
