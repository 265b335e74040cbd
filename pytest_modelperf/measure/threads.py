"""torch's intra-op thread count: pinned for a whole run, so that every timing and the speed
reference beside it run under the same count.

``auto`` (a count of None) chooses from the cores this process may use, shared among the
pytest-xdist workers of the run: on a share of two cores or
fewer, one thread. On the project's 2-core runners two threads were 1.4-1.6x faster on a quiet
machine, but with one other busy process 1.9x slower at the median and 6x at p99, while one
thread hardly moved (docs/noise.md; ``python benchmarks/threads.py``). A gate needs the steady
figure more than the fast one. On a larger share, each worker gets its share; a single process
keeps torch's own choice (one thread per physical core).
"""

from __future__ import annotations

from .environment import usable_cores

SMALL_SHARE_CORES = 2


def auto_thread_count(cores: int, workers: int) -> int | None:
    """The count ``auto`` pins for ``workers`` processes sharing ``cores``; None for torch's own choice."""
    share = cores // max(workers, 1)
    if share <= SMALL_SHARE_CORES:
        return 1
    return share if workers > 1 else None


def resolve_thread_count(count: int | None, workers: int = 1) -> int | None:
    """The count a run of ``workers`` processes pins: ``count`` as given, or ``auto``'s choice."""
    return count if count is not None else auto_thread_count(usable_cores(), workers)


def pin_threads(count: int | None, workers: int = 1) -> None:
    """Set torch's intra-op threads for the rest of the process: ``count``, or ``auto``'s choice for
    None in a run of ``workers`` processes; torch is not imported when that choice is torch's own."""
    chosen = resolve_thread_count(count, workers)
    if chosen is None:
        return
    import torch

    torch.set_num_threads(chosen)
