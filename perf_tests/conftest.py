"""The perf suite runs every test that takes ``model_name`` once per studied model of the
registry, and every test that takes ``tuned_model`` once per model fine-tuned here for a task
that accuracy scores (not the masked language models).

The registry is ``perf_tests/models.toml`` (named by ``[tool.modelperf] registry`` in
pyproject.toml). Offline checkpoints are prepared on first use; ``modelperf prepare`` builds
them ahead of time with progress output. ``-k <name>`` selects one model.
"""

from __future__ import annotations

import os

import pytest

from pytest_modelperf.run.session import model_registry

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "model_name" in metafunc.fixturenames:
        metafunc.parametrize("model_name", model_registry(metafunc.config).names(fine_tuned=False))
    if "tuned_model" in metafunc.fixturenames:
        registry = model_registry(metafunc.config)
        scored = [name for name in registry.names(fine_tuned=True) if registry.model(name).task != "masked-lm"]
        metafunc.parametrize("tuned_model", scored)
