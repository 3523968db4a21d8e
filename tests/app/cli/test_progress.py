"""CLI progress: plain timestamped lines off a terminal, bars grouped by cell and assay on one."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from epigex.app.cli import progress
from epigex.app.cli.progress import single_bar, task_bars

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
STAMP = re.compile(r"^\[\s*\d+\.\d s\] (.*)$")


def plain_console() -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, width=200), buf


def terminal_console() -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, force_terminal=True, width=120, color_system=None), buf


def plain_lines(buf: io.StringIO) -> list[str]:
    out = []
    for line in buf.getvalue().splitlines():
        m = STAMP.match(line)
        assert m, line
        out.append(m.group(1))
    return out


def last_frame(buf: io.StringIO) -> dict[str, float]:
    """The bars of the final redraw: description → percentage."""
    frame = ANSI.sub("", buf.getvalue().rsplit("\r", 1)[-1])
    bars = {}
    for line in frame.splitlines():
        m = re.search(r"(\d+\.\d)%", line)
        if m:
            bars[line[: m.start()].rstrip("━ ").strip()] = float(m.group(1))
    return bars


def test_plain_lines_report_the_start_and_the_end_only_within_the_interval() -> None:
    console, buf = plain_console()
    with task_bars(console) as cb:
        cb("X1 DNase bigwig", 0.5)
        cb("X1 DNase bed", 1.0)  # within PLAIN_EVERY_S of the first line: silent
    assert plain_lines(buf) == [
        "ingest: X1 DNase bigwig 50% (latest: X1 DNase bigwig)",
        "ingest: 1 done, 1 running; finished",
    ]


def test_plain_lines_every_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "PLAIN_EVERY_S", 0.0)
    console, buf = plain_console()
    with task_bars(console, title="predict") as cb:
        cb("X1 DNase bigwig", 0.25)
        cb("X1 DNase bed", 1.0)
        cb("X1 DNase bigwig", 1.0)
    assert plain_lines(buf) == [
        "predict: X1 DNase bigwig 25% (latest: X1 DNase bigwig)",
        "predict: 1 done, 1 running (latest: X1 DNase bed)",
        "predict: 2 done, 0 running (latest: X1 DNase bigwig)",
        "predict: 2 done, 0 running; finished",
    ]


def test_nothing_reported_prints_nothing() -> None:
    console, buf = plain_console()
    with task_bars(console):
        pass
    with single_bar(console, "train"):
        pass
    assert buf.getvalue() == ""
    console, buf = terminal_console()
    with single_bar(console, "train"):
        pass
    assert buf.getvalue() == ""  # the bar appears with the first report only


def test_single_bar_off_a_terminal_shows_its_title_percentage() -> None:
    console, buf = plain_console()
    with single_bar(console, "train") as cb:
        cb("setup pooled", 0.4)
        cb("setup within:X1", 1.0)
    assert plain_lines(buf) == ["train: 40% (latest: train)", "train: 100%; finished"]


def test_labels_are_not_read_as_markup() -> None:
    console, buf = plain_console()
    with task_bars(console) as cb:
        cb("[bold]X1 DNase bed", 1.0)
    assert plain_lines(buf)[0] == "ingest: [bold]X1 DNase bed 100% (latest: [bold]X1 DNase bed)"


def test_bars_group_kinds_of_one_cell_and_assay() -> None:
    console, buf = terminal_console()
    with task_bars(console, kinds=2) as cb:
        cb("X1 DNase bigwig", 1.0)
        cb("X1 DNase bed", 0.5)
        cb("X2 H3K27ac bigwig", 1.0)
        cb("solo", 0.25)
    # X1 DNase: (1 + 0.5) / 2; X2 H3K27ac: 1 / 2 (the bed part not started); a one-word label is its own bar
    assert last_frame(buf) == {"X1 DNase": 75.0, "X2 H3K27ac": 50.0, "solo": 12.5}


def test_bars_with_more_kinds_than_expected_divide_by_what_was_seen() -> None:
    console, buf = terminal_console()
    with task_bars(console, kinds=1) as cb:
        cb("X1 DNase bigwig", 1.0)
        cb("X1 DNase bed", 0.5)
        cb("X1 DNase extra", 0.0)
    assert last_frame(buf) == {"X1 DNase": 50.0}


def test_single_bar_on_a_terminal_shows_the_latest_label() -> None:
    console, buf = terminal_console()
    with single_bar(console, "train") as cb:
        cb("setup pooled", 0.5)
        cb("[b]setup within:X1", 0.75)
    assert last_frame(buf) == {"train: [b]setup within:X1": 75.0}
