"""torch's intra-op thread count: pinned for a whole run, so that every timing and the speed
reference beside it run under the same count."""

from __future__ import annotations


def pin_threads(count: int | None) -> None:
    """Set torch's intra-op threads to ``count`` for the rest of the process; None leaves torch's
    own choice (one per core) and does not import torch."""
    if count is None:
        return
    import torch

    torch.set_num_threads(count)
