"""The models of the perf suite and how to get each one offline.

Each model names its real checkpoint (for users who are online) and an offline recipe: the
exact architecture from its config, with the bert-base-uncased WordPiece tokenizer. The
offline checkpoints are built once into ``.modelperf/checkpoints`` and rebuilt only when
their recipe changes; their weights are stand-ins, which the reports say.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHECKPOINT_DIR = Path(__file__).resolve().parent.parent / ".modelperf" / "checkpoints"


@dataclass(frozen=True)
class SuiteModel:
    name: str
    hub_id: str
    task: str
    offline_config: Callable[[], Any] | None  # None: a real checkpoint that ships offline

    def offline_checkpoint(self) -> Path:
        from pytest_modelperf.checkpoints import bert_uncased_tokenizer_dir, build_checkpoint

        if self.offline_config is None:
            return bert_uncased_tokenizer_dir()  # all-MiniLM-L6-v2 ships its weights with the tokenizer
        return build_checkpoint(
            self.offline_config(), CHECKPOINT_DIR / self.name, task=self.task,
            tokenizer_source=bert_uncased_tokenizer_dir(),
        )


def _bert(layers: int, hidden: int, heads: int) -> Callable[[], Any]:
    def config() -> Any:
        from transformers import BertConfig

        return BertConfig(
            num_hidden_layers=layers, hidden_size=hidden, num_attention_heads=heads,
            intermediate_size=4 * hidden, num_labels=4,
        )

    return config


MODELS: dict[str, SuiteModel] = {
    model.name: model
    for model in (
        SuiteModel("bert-tiny", "google/bert_uncased_L-2_H-128_A-2", "sequence-classification", _bert(2, 128, 2)),
        SuiteModel("bert-mini", "google/bert_uncased_L-4_H-256_A-4", "sequence-classification", _bert(4, 256, 4)),
        SuiteModel("all-minilm-l6-v2", "sentence-transformers/all-MiniLM-L6-v2", "feature-extraction", None),
    )
}
