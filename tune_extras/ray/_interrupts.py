"""Ctrl-C as a request: SIGINT sets a flag that the driver reads between two storage writes.

Python raises ``KeyboardInterrupt`` wherever the main thread happens to be, so a Ctrl-C could land
inside ``study.tell`` (a trial left RUNNING, or an SQLite transaction left open: "database is
locked") or inside the clean-up that a first Ctrl-C started. Inside :class:`InterruptFlag` SIGINT
only counts; the driver stops at its next safe point, records the running trials, and then raises
``KeyboardInterrupt`` itself. Further Ctrl-C during that clean-up are counted and ignored (it
writes to the storage only and never waits for Ray).
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType
from typing import Any


class InterruptFlag:
    """Count SIGINT instead of raising, while the context is open.

    Installed only in the main thread (the only one Python delivers signals to) and only where
    SIGINT is not ignored; elsewhere ``count`` stays 0 and nothing changes.
    """

    def __init__(self) -> None:
        self.count = 0
        self._previous: Any = None
        self._installed = False

    @property
    def requested(self) -> bool:
        """Whether at least one SIGINT arrived."""
        return self.count > 0

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1

    def __enter__(self) -> InterruptFlag:
        if threading.current_thread() is threading.main_thread():
            previous = signal.getsignal(signal.SIGINT)
            if previous not in (signal.SIG_IGN, None):
                self._previous = signal.signal(signal.SIGINT, self._on_signal)
                self._installed = True
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False
