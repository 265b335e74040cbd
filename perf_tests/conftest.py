from __future__ import annotations

import os
from pathlib import Path

import pytest

from .models import MODELS, SuiteModel

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--online-checkpoints", action="store_true", default=False,
        help="load each model's real hub checkpoint instead of the offline one (needs the hub)",
    )


@pytest.fixture(scope="session")
def checkpoint_for(request: pytest.FixtureRequest):
    """The checkpoint (local directory or hub id) that the suite measures for a model name."""
    online = request.config.getoption("--online-checkpoints")
    cache: dict[str, str | Path] = {}

    def resolve(name: str) -> str | Path:
        model: SuiteModel = MODELS[name]
        if name not in cache:
            cache[name] = model.hub_id if online else model.offline_checkpoint()
        return cache[name]

    return resolve
