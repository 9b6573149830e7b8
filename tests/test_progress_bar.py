"""Progress bars: redrawn in place on a terminal, a line per redraw (throttled) in a log file."""

import io

import worldsim.progress_bar
from worldsim.progress_bar import progress_bar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def draw(stream, **kwargs) -> str:
    for _ in progress_bar(range(300), file=stream, desc="encode", mininterval=0, **kwargs):
        pass
    return stream.getvalue()


def test_a_bar_in_a_log_file_writes_its_first_and_last_draw_as_lines(monkeypatch):
    lines = draw(io.StringIO()).splitlines()  # 301 redraws within LOG_INTERVAL
    assert len(lines) == 2 and lines[0].startswith("encode:   0%") and "300/300" in lines[1]
    monkeypatch.setattr(worldsim.progress_bar, "LOG_INTERVAL", 0.0)
    log = draw(io.StringIO())
    assert "\r" not in log and len(log.splitlines()) >= 301  # every redraw, a line each


def test_a_bar_on_a_terminal_redraws_in_place():
    assert draw(Terminal()).count("\r") > 300
