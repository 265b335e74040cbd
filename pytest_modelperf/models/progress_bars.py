"""Silencing the progress bars of transformers, huggingface_hub and datasets while a model or
its data loads, and putting them back as they were.

transformers draws a "Loading weights" bar per checkpoint and a "Writing model shards" bar
per save, datasets one per file it reads: inside a test they end up in the captured output of
every failure, and in CI logs as walls of carriage returns. ``quiet_progress_bars`` turns them
off for one block only: a user's own settings (an environment variable, a library call) hold
before and after it. transformers and huggingface_hub (dependencies of every load) are
imported to be silenced; datasets only when it is imported already: whoever reads data has.
"""

from __future__ import annotations

import importlib
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager


@contextmanager
def quiet_progress_bars() -> Iterator[None]:
    """transformers', huggingface_hub's and datasets' progress bars off inside the block."""
    # Both imported before either is silenced: transformers reads the hub's state on import.
    importlib.import_module("transformers.utils.logging")
    with ExitStack() as stack:
        # huggingface_hub first: transformers' switch turns the hub's bars on and off with its own,
        # so the hub's own state is put back last.
        for silence in (_hub, _transformers, _datasets):
            restore = silence()
            if restore is not None:
                stack.callback(restore)
        yield


def _hub() -> Callable[[], None] | None:
    module = importlib.import_module("huggingface_hub.utils.tqdm")
    states = getattr(module, "progress_bar_states", None)
    if not isinstance(states, dict):
        return None
    before = dict(states)
    with warnings.catch_warnings():  # HF_HUB_DISABLE_PROGRESS_BARS=0 has priority, and says so
        warnings.simplefilter("ignore")
        module.disable_progress_bars()

    def restore() -> None:
        states.clear()
        states.update(before)

    return restore


def _transformers() -> Callable[[], None] | None:
    logging = importlib.import_module("transformers.utils.logging")
    if not logging.is_progress_bar_enabled():
        return None
    logging.disable_progress_bar()

    def restore() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            logging.enable_progress_bar()

    return restore


def _datasets() -> Callable[[], None] | None:
    progress = sys.modules.get("datasets.utils.tqdm")
    if progress is None or progress.are_progress_bars_disabled():
        return None
    with warnings.catch_warnings():  # HF_DATASETS_DISABLE_PROGRESS_BARS=0 has priority, and says so
        warnings.simplefilter("ignore")
        progress.disable_progress_bars()

    def restore() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            progress.enable_progress_bars()

    return restore
