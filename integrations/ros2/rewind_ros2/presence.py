"""Which nodes appeared in and vanished from the graph since the last look."""

from __future__ import annotations

from typing import Iterable, List, Set, Tuple


class NodePresence:
    """Remembers the node names seen at the previous :meth:`update`."""

    def __init__(self) -> None:
        self._present: Set[str] = set()

    @property
    def present(self) -> Set[str]:
        return set(self._present)

    def update(self, names: Iterable[str]) -> Tuple[List[str], List[str]]:
        """Replaces the known set with ``names``; returns (appeared, vanished), sorted."""
        now = set(names)
        appeared = sorted(now - self._present)
        vanished = sorted(self._present - now)
        self._present = now
        return appeared, vanished
