"""The learning rate's factor at a step: linear warm-up from 0, constant, then an optional linear
cool-down to 0 that ends at the run's last step (the warmup-stable-decay schedule: a run of any
length, or one continued from another's weights, ends annealed; Hägele et al., 2024)."""


def lr_factor(step: int, warmup_steps: int, decay_steps: int = 0, max_steps: int = 0) -> float:
    """Multiplier of the peak learning rate at optimiser `step` (0-based): (step + 1) / warmup up
    to 1, and with `decay_steps` > 0 at most (max_steps - step) / decay_steps."""
    warm = min(1.0, (step + 1) / max(1, warmup_steps))
    if decay_steps <= 0:
        return warm
    return min(warm, max(0.0, (max_steps - step) / decay_steps))
