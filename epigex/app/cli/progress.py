"""Progress for long CLI work: rich bars on a terminal, plain timestamped lines in a file, a pipe or a log.

Both are fed by ``(label, fraction)`` callbacks. Off a terminal (CI logs, ``nohup``, a service's log), a bar that
redraws in place shows nothing for minutes; there a line is printed when a task starts, at most every
:data:`PLAIN_EVERY_S` seconds while it runs, and when it ends.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from epigex.store.types import ProgressFn

PLAIN_EVERY_S = 10.0


class _PlainLines:
    """``(label, fraction)`` → a line when work starts, at most every few seconds after, and at the end."""

    def __init__(self, console: Console, title: str) -> None:
        self.console = console
        self.title = title
        self.t0 = time.monotonic()
        self.last = float("-inf")
        self.fractions: dict[str, float] = {}
        self.lock = threading.Lock()

    def say(self, text: str) -> None:
        self.console.print(f"[{time.monotonic() - self.t0:7.1f} s] {escape(text)}", highlight=False)

    def status(self) -> str:
        done = sum(1 for f in self.fractions.values() if f >= 1.0)
        running = len(self.fractions) - done
        if len(self.fractions) == 1:
            label, f = next(iter(self.fractions.items()))
            return f"{100 * f:.0f}%" if label == self.title else f"{label} {100 * f:.0f}%"
        return f"{done} done, {running} running"

    def __call__(self, label: str, fraction: float) -> None:
        with self.lock:
            first = not self.fractions
            self.fractions[label] = fraction
            now = time.monotonic()
            if first or now - self.last >= PLAIN_EVERY_S:
                self.last = now
                self.say(f"{self.title}: {self.status()} (latest: {label})")

    def close(self) -> None:
        if self.fractions:  # nothing was reported: nothing to close
            self.say(f"{self.title}: {self.status()}; finished")


@contextmanager
def task_bars(console: Console, kinds: int = 2, title: str = "ingest") -> Iterator[ProgressFn]:
    """Yield a callback ``(label, fraction)``; labels ``"CELL ASSAY KIND"`` share the ``"CELL ASSAY"`` bar."""
    bars: dict[str, TaskID] = {}
    parts: dict[str, dict[str, float]] = {}
    lock = threading.Lock()
    if not console.is_terminal:
        plain = _PlainLines(console, title)
        yield plain
        plain.close()
        return
    with Progress(
        TextColumn("{task.description:<20}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:

        def update(label: str, fraction: float) -> None:
            key, _, kind = label.rpartition(" ")
            key = key or label
            with lock:
                if key not in bars:
                    bars[key] = progress.add_task(escape(key), total=1.0)
                parts.setdefault(key, {})[kind] = fraction
                done = parts[key]
                progress.update(bars[key], completed=sum(done.values()) / max(kinds, len(done)))

        yield update


@contextmanager
def single_bar(console: Console, title: str) -> Iterator[ProgressFn]:
    """Yield a callback ``(label, fraction)`` that drives one bar whose text shows the current label.

    The bar appears with the first report, so a command that fails while checking its input shows none.
    """
    if not console.is_terminal:
        plain = _PlainLines(console, title)
        yield lambda label, fraction: plain(title, fraction)
        plain.close()
        return
    progress = Progress(
        TextColumn("{task.description:<40}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TimeElapsedColumn(),
        console=console,
    )
    task: list[TaskID] = []

    def update(label: str, fraction: float) -> None:
        if not task:
            progress.start()
            task.append(progress.add_task(escape(title), total=1.0))
        progress.update(task[0], completed=fraction, description=escape(f"{title}: {label}"))

    try:
        yield update
    finally:
        if task:
            progress.stop()
