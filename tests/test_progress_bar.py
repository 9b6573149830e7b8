"""Progress bars: redrawn in place on a terminal, one line per redraw in a log file."""

import io

from worldsim.progress_bar import progress_bar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_bar_in_a_log_file_writes_lines_and_a_terminal_redraws_in_place():
    log = io.StringIO()
    for _ in progress_bar(range(300), file=log, desc="encode", unit="ep"):
        pass
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue() and lines[0].startswith("encode:   0%")
    assert "300/300" in lines[-1] and len(lines) <= 3  # one line per LOG_INTERVAL, then the last

    terminal = Terminal()
    for _ in progress_bar(range(300), file=terminal, desc="encode", mininterval=0):
        pass
    assert terminal.getvalue().count("\r") > 100  # every redraw in place, as tqdm draws it
