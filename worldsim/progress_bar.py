"""Progress bars that read well both on a terminal and in a log file.

On a terminal a tqdm bar redraws itself in place ('\\r', the bar, padding). Redirected to a file
(a job's log), those redraws pile up into one line of thousands of characters that no log reader
shows. So when the bar's stream is not a terminal, each redraw is written as a line of its own,
at most one every LOG_INTERVAL seconds: its first, then one an interval, and its last.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any, TextIO

from tqdm import tqdm

LOG_INTERVAL = 30.0  # seconds between a bar's lines when it writes to a file, not a terminal


class LineStream:
    """A file for tqdm that writes every redraw of a bar as one line, without the carriage
    return and padding, and drops blank redraws (a cleared bar) and repeats of the last line."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.last = ""

    def write(self, text: str) -> int:
        line = text.replace("\r", "").rstrip()
        if line and line != self.last:
            self.stream.write(line + "\n")
            self.last = line
        return len(text)

    def flush(self) -> None:
        self.stream.flush()


def progress_bar(iterable: Iterable | None = None, **kwargs: Any) -> tqdm:
    """tqdm(iterable, **kwargs), with a bar written line by line where its stream (`file`,
    stderr by default) is not a terminal."""
    stream = kwargs.pop("file", None) or sys.stderr
    if not getattr(stream, "isatty", lambda: False)():
        interval = max(kwargs.get("mininterval", 0.1), LOG_INTERVAL)
        # no `delay`: tqdm never draws a bar closed before its first interval, and a log keeps
        # every bar's first and last line
        kwargs |= {"mininterval": interval, "maxinterval": interval, "delay": 0}
        stream = LineStream(stream)
    return tqdm(iterable, file=stream, **kwargs)
