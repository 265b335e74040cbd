from __future__ import annotations

import os
from pathlib import Path

# pytester's in-process runs restore sys.modules afterwards; torch cannot be imported a
# second time in one process, and datasets registers pyarrow extension types that cannot be
# registered twice, so they are imported here, before any inner run. So is every matplotlib
# module the plots use: the plots import them when drawing, and one first imported inside an
# inner run would be dropped after it while matplotlib's package kept the old one, leaving two
# Figure classes (matplotlib then refuses a legend whose figure is of the other one).
import datasets  # noqa: F401
import evaluate  # noqa: F401
import matplotlib.backends.backend_agg
import matplotlib.figure
import matplotlib.lines
import matplotlib.ticker
import matplotlib.transforms  # noqa: F401
import pytest
import sklearn.metrics  # noqa: F401
import torch  # noqa: F401
import transformers  # noqa: F401

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# Fast timing for tests that exercise behaviour, not speed.
FAST = (
    "--modelperf-min-rounds=3",
    "--modelperf-max-rounds=20",
    "--modelperf-max-time=0.05",
    "-o",
    "modelperf_warmup_rounds=1",
    "-o",
    "modelperf_warmup_time=0",
    "-p",
    "no:cacheprovider",
)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer BERT classifier (hidden 32) with the real bert-base-uncased tokenizer."""
    from transformers import BertConfig

    from pytest_modelperf.models.checkpoints import build_checkpoint

    config = BertConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        num_labels=2,
    )
    directory, _ = build_checkpoint(
        config,
        tmp_path_factory.mktemp("ckpt") / "tiny-bert",
        task="sequence-classification",
        tokenizer="bert-base-uncased",
    )
    return directory


@pytest.fixture
def run(pytester: pytest.Pytester, tiny_checkpoint: Path):
    """Run pytest in the pytester project with the fast timing options.

    Building ``tiny_checkpoint`` first saves and loads a model in this process, so that the
    modules transformers imports lazily on the way are imported before any inner run (which
    would otherwise import them again after pytester restores ``sys.modules``).
    """

    def runner(*args: str) -> pytest.RunResult:
        return pytester.runpytest(*FAST, *args)

    return runner


@pytest.fixture(scope="session")
def topic_classifier() -> Path:
    """BERT-tiny fine-tuned on the built-in topics set: the registry's ``bert-tiny-topics``,
    shared with the main job through the registry's checkpoint cache (trained once)."""
    from pytest_modelperf.models.registry import load_registry
    from pytest_modelperf.quality.prepare import registry_checkpoint

    registry = load_registry(Path(__file__).resolve().parent.parent / "perf_tests" / "models.toml")
    return Path(registry_checkpoint(registry, "bert-tiny-topics"))


@pytest.fixture(scope="session")
def question_answerer() -> Path:
    """all-MiniLM-L6-v2 fine-tuned on the built-in facts-qa set: the registry's ``minilm-qa``."""
    from pytest_modelperf.models.registry import load_registry
    from pytest_modelperf.quality.prepare import registry_checkpoint

    registry = load_registry(Path(__file__).resolve().parent.parent / "perf_tests" / "models.toml")
    return Path(registry_checkpoint(registry, "minilm-qa"))
