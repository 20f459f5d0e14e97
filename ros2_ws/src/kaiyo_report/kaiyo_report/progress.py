"""A small progress bar for long runs (pure; no dependency).

Drawn on stderr only when stderr is a terminal, at most every `min_interval_s`, so piped
output and logs stay clean. `Progress.silent()` draws nothing (tests, library use).

    bar = Progress.for_stderr()
    bar.start('frames', total=1000)
    for ...: bar.advance()
    bar.finish()
"""
from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, stream: TextIO | None, width: int = 30, min_interval_s: float = 0.1):
        self.stream = stream
        self.width = width
        self.min_interval_s = min_interval_s
        self.label = ''
        self.total = 0
        self.done = 0
        self._t0 = 0.0
        self._last = 0.0

    @classmethod
    def for_stderr(cls) -> Progress:
        """A bar on stderr if it is a terminal, else a silent one."""
        return cls(sys.stderr if sys.stderr.isatty() else None)

    @classmethod
    def silent(cls) -> Progress:
        return cls(None)

    def start(self, label: str, total: int = 0) -> None:
        """Begin a stage; total = number of steps (0: unknown, shows a count only)."""
        self.label, self.total, self.done = label, max(0, int(total)), 0
        self._t0 = self._last = time.monotonic()
        self._draw(force=True)

    def advance(self, n: int = 1) -> None:
        self.done += n
        self._draw()

    def finish(self) -> None:
        self._draw(force=True)
        if self.stream is not None:
            self.stream.write('\n')
            self.stream.flush()

    def text(self) -> str:
        """The bar as text, e.g. 'frames [#####-----]  500/1000  50%  3.2 s'."""
        elapsed = time.monotonic() - self._t0
        if self.total:
            frac = min(1.0, self.done / self.total)
            filled = int(frac * self.width)
            bar = '#' * filled + '-' * (self.width - filled)
            return (f'{self.label} [{bar}] {self.done}/{self.total} {frac * 100:3.0f}%  '
                    f'{elapsed:.1f} s')
        return f'{self.label} {self.done}  {elapsed:.1f} s'

    def _draw(self, force: bool = False) -> None:
        if self.stream is None:
            return
        now = time.monotonic()
        if not force and now - self._last < self.min_interval_s:
            return
        self._last = now
        self.stream.write('\r' + self.text())
        self.stream.flush()
