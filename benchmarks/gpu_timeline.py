"""Where a training step's GPU time goes between kernels, from a profiler's kernel intervals.

A step longer than its kernels' time has GPU gaps. Short ones (a few µs each) are the cost of
launching one kernel after another and shrink only with fewer kernels; long ones are the GPU
starved, waiting on the host or on a sync. Session 33's `dit_b` step had 4-6 ms of gaps, and the
profile's top-kernel table could not say which kind (benchmarks/README).
"""

from __future__ import annotations

import torch

SHORT_GAP_US = 20.0  # a gap up to this long is one kernel launched after another


def gaps(intervals: list[tuple[float, float]], steps: int, short_us: float = SHORT_GAP_US) -> dict:
    """Kernel (start, end) intervals in µs over `steps` steps -> per step: kernels, busy time (their
    union), span (first start to last end), and the idle time in short and in long gaps."""
    if not intervals:
        return {}
    ordered = sorted(intervals)
    busy = short = long = 0.0
    largest: list[float] = []
    run_start, run_end = ordered[0]
    for start, end in ordered[1:]:
        if start <= run_end:  # overlapping kernels (other streams) count once
            run_end = max(run_end, end)
            continue
        busy += run_end - run_start
        gap = start - run_end
        if gap <= short_us:
            short += gap
        else:
            long += gap
            largest.append(gap)
        run_start, run_end = start, end
    busy += run_end - run_start
    per_step = 1e3 * steps  # µs over all steps -> ms a step
    return {
        "kernels_per_step": len(ordered) / steps,
        "busy_ms_per_step": busy / per_step,
        "span_ms_per_step": (ordered[-1][1] - ordered[0][0]) / per_step,
        "short_gaps_ms_per_step": short / per_step,
        "long_gaps_ms_per_step": long / per_step,
        "short_gap_us": short_us,
        "largest_gaps_ms": [g / 1e3 for g in sorted(largest, reverse=True)[:10]],
    }


def is_kernel(event) -> bool:
    """A profiler event (or its average) that is GPU work itself: aten ops and annotated ranges
    (optimizer.step) would count their kernels' time twice."""
    return event.device_type == torch.autograd.DeviceType.CUDA and not event.is_user_annotation


def kernel_intervals(prof: torch.profiler.profile) -> list[tuple[float, float]]:
    """The (start, end) in µs of every GPU kernel a profiler recorded."""
    return [(e.time_range.start, e.time_range.end) for e in prof.events() if is_kernel(e)]
