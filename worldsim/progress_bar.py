"""Progress bars that read well both on a terminal and in a log file.

On a terminal a tqdm bar redraws itself in place ('\\r', the bar, padding). Redirected to a file
(a job's log), those redraws pile up into one line of thousands of characters that no log reader
shows. So when the bar's stream is not a terminal, its redraws are written as lines of their own:
the first, then at most one every LOG_INTERVAL seconds, and the last when the bar closes. tqdm
decides when a bar draws at all (its `delay`), so a job that fails at once prints no bar.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from typing import Any, TextIO

from tqdm import tqdm

LOG_INTERVAL = 30.0  # seconds between a bar's lines when it writes to a file, not a terminal


class LineStream:
    """A file for tqdm that writes a bar's redraws as lines, without the carriage returns and
    padding: the first, one per LOG_INTERVAL, and the one drawn last when the bar closes (tqdm
    then writes a newline), unless it counts what the line before it did (only the times moved)."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.pending = ""  # the latest redraw not written yet
        self.written = ""  # the last line written
        self.written_at = -float("inf")  # time.monotonic() of that line

    def write(self, text: str) -> int:
        line = text.replace("\r", "").replace("\n", "").rstrip()
        if line:
            self.pending = line
        if self.pending and ("\n" in text or time.monotonic() - self.written_at >= LOG_INTERVAL):
            if counted(self.pending) != counted(self.written):
                self.stream.write(self.pending + "\n")
            self.written, self.written_at, self.pending = self.pending, time.monotonic(), ""
        return len(text)

    def write_pending(self) -> None:
        """The latest redraw written now, interval or not (a job's own line follows it)."""
        if self.pending and counted(self.pending) != counted(self.written):
            self.stream.write(self.pending + "\n")
            self.written, self.written_at = self.pending, time.monotonic()
        self.pending = ""

    def flush(self) -> None:
        self.stream.flush()


def counted(line: str) -> str:
    """A bar's line without its times and rate: 'encode:  50%|#####     | 3/6'."""
    return line.split(" [")[0]


def progress_bar(iterable: Iterable | None = None, **kwargs: Any) -> tqdm:
    """tqdm(iterable, **kwargs), with a bar written line by line where its stream (`file`,
    stderr by default) is not a terminal."""
    stream = kwargs.pop("file", None) or sys.stderr
    if not getattr(stream, "isatty", lambda: False)():
        stream = LineStream(stream)
    return tqdm(iterable, file=stream, **kwargs)


def log_now(bar: tqdm) -> None:
    """Bring `bar` up to date before a line of the job's own: in a log its count is written now,
    so that the line reads after the progress it reports (a terminal bar is always current)."""
    bar.refresh()
    getattr(getattr(bar, "fp", None), "write_pending", lambda: None)()


def restart(bar: tqdm, total: int, done: int = 0, unit: str = "it") -> tqdm:
    """`bar` counting a new phase of `total` units (`unit`), `done` of them done already, at a
    rate of its own. tqdm's reset draws at once, so a bar that has counted nothing yet (an input
    refused before any work must leave it undrawn) only takes the new total; one that has drawn
    loses its `delay`, which would otherwise keep its close from drawing a short phase's last
    count."""
    if bar.n:
        bar.delay = 0
        bar.reset(total)
    else:
        bar.total = total
    bar.initial = bar.n = done  # the rate counts this run's units alone
    bar.unit = unit
    return bar
