"""The longest-clip benchmark's search (a CPU never runs out of memory, so its smoke cannot)."""

from benchmarks.bench_longest_clip import longest


def test_the_search_doubles_then_bisects_to_within_an_eighth_and_never_passes_the_cap():
    tried = []

    def fits(frames: int) -> bool:
        tried.append(frames)
        return frames <= 1300

    assert longest(fits, 16, 2048) == 1280
    assert tried == [16, 32, 64, 128, 256, 512, 1024, 2048, 1536, 1280, 1408]
    assert longest(lambda n: True, 16, 1000) == 1000  # capped: 512, then 1000, never 1024
    assert longest(lambda n: n <= 10, 16, 2048) == 10  # the first count already too long
    assert longest(lambda n: False, 16, 2048) == 0
