"""Progress bars: redrawn in place on a terminal, a line per redraw (throttled) in a log file."""

import io

import worldsim.progress_bar
from worldsim.progress_bar import log_now, progress_bar


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


def test_log_now_writes_a_bars_count_before_the_jobs_own_line():
    log = io.StringIO()
    bar = progress_bar(total=4, file=log, desc="control", mininterval=0)
    bar.update(2)  # within LOG_INTERVAL of the first line: not written on its own
    log_now(bar)
    log.write("control: an episode's line\n")
    bar.close()
    first, count, own = log.getvalue().splitlines()  # close adds no line: the count is unchanged
    assert "0/4" in first and "2/4" in count and own == "control: an episode's line"
    log_now(progress_bar(total=4, file=Terminal(), disable=True))  # a disabled bar: nothing to do
