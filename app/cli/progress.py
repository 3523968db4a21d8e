"""Rich progress bars for long CLI work: one bar per (cell, assay), fed by ``(label, fraction)`` callbacks."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn


@contextmanager
def task_bars(console: Console, kinds: int = 2) -> Iterator[Callable[[str, float], None]]:
    """Yield a callback ``(label, fraction)``; labels ``"CELL ASSAY KIND"`` share the ``"CELL ASSAY"`` bar."""
    bars: dict[str, TaskID] = {}
    parts: dict[str, dict[str, float]] = {}
    lock = threading.Lock()
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
                    bars[key] = progress.add_task(key, total=1.0)
                parts.setdefault(key, {})[kind] = fraction
                done = parts[key]
                progress.update(bars[key], completed=sum(done.values()) / max(kinds, len(done)))

        yield update


@contextmanager
def single_bar(console: Console, title: str) -> Iterator[Callable[[str, float], None]]:
    """Yield a callback ``(label, fraction)`` that drives one bar whose text shows the current label."""
    with Progress(
        TextColumn("{task.description:<40}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task(title, total=1.0)

        def update(label: str, fraction: float) -> None:
            progress.update(task, completed=fraction, description=f"{title}: {label}")

        yield update
