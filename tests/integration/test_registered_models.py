"""Registry models in pytest: load_registered, offline preparation, --modelperf-online, N/A cells."""

from __future__ import annotations

import json

REGISTRY = """
checkpoint_dir = "ckpts"

[models.micro]
checkpoint = "example-org/micro-bert-that-is-not-cached"
task = "sequence-classification"
description = "a 2-layer BERT, hidden 32"
offline = { architecture = "bert", tokenizer = "bert-base-uncased", config = { num_hidden_layers = 2, hidden_size = 32, num_attention_heads = 2, intermediate_size = 64, max_position_embeddings = 64, num_labels = 3 } }
"""

SUITE = """
from pytest_modelperf.run.session import model_registry

def pytest_generate_tests(metafunc):
    if "model_name" in metafunc.fixturenames:
        metafunc.parametrize("model_name", model_registry(metafunc.config).names())

def test_facts(modelperf, model_name):
    model = modelperf.load_registered(model_name)
    assert model.task == "sequence-classification"
    modelperf.check(modelperf.model_facts(model).parameter_count)
"""


def make_project(pytester, registry: str = REGISTRY) -> None:
    pytester.makefile(".toml", pyproject='[tool.modelperf]\nregistry = "models.toml"\n', models=registry)
    pytester.makepyfile(test_suite=SUITE)


def test_registry_models_are_prepared_offline_and_flagged_as_stand_ins(pytester, run):
    make_project(pytester)
    result = run("--modelperf-update", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*test_facts?micro?*PASSED*", "*micro: weights are a stand-in*"])
    assert (pytester.path / "ckpts" / "micro" / "config.json").is_file()
    stored = json.loads(next((pytester.path / "baselines").rglob("test_suite.json")).read_text())
    assert stored["tests"]["test_facts[micro]"]["parameters"]["summary"]["value"] > 0
    run().assert_outcomes(passed=1)  # the prepared checkpoint is reused and matches exactly


def test_a_users_own_folder_where_a_model_would_be_prepared_fails_the_test_and_is_kept(pytester, run):
    make_project(pytester)
    mine = pytester.path / "ckpts" / "micro"
    mine.mkdir(parents=True)
    (mine / "model.safetensors").write_bytes(b"my own trained weights")
    result = run()
    result.assert_outcomes(errors=0, failed=1)
    result.stdout.fnmatch_lines([f"*PrepareRefused: {mine}: it has no .modelperf-prepared.json*delete it by hand*"])
    assert [path.name for path in mine.iterdir()] == ["model.safetensors"]
    assert (mine / "model.safetensors").read_bytes() == b"my own trained weights"


def test_a_registered_model_goes_by_its_registry_name_whatever_its_folder_is_called(pytester, run, tiny_checkpoint):
    registry = f'[models.tiny-alias]\ncheckpoint = "example-org/tiny"\ntask = "sequence-classification"\noffline = {{ path = "{tiny_checkpoint}" }}\n'
    pytester.makefile(".toml", pyproject='[tool.modelperf]\nregistry = "models.toml"\n', models=registry)
    pytester.makepyfile(
        test_alias="""
def test_alias(modelperf):
    model = modelperf.load_registered("tiny-alias")
    assert model.name == "tiny-alias" and model.checkpoint.endswith("tiny-bert")
"""
    )
    run().assert_outcomes(passed=1)


def test_online_loads_the_real_checkpoint_and_says_why_it_cannot(pytester, run):
    make_project(pytester)
    result = run("--modelperf-online")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*example-org/micro-bert-that-is-not-cached*not in the local hub cache*HF_HUB_OFFLINE=1*"])


def test_a_fine_tuned_model_on_an_absent_device_skips_with_the_reason(pytester, run):
    tuned = (
        REGISTRY
        + """
[models.micro-tuned]
task = "sequence-classification"

[models.micro-tuned.finetune]
from = "micro"
dataset = "topics"
"""
    )
    make_project(pytester, tuned)
    pytester.makepyfile(test_suite="def test_tuned(modelperf):\n    modelperf.load_registered('micro-tuned')\n")
    result = run("--modelperf-device", "cuda", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*SKIPPED*device 'cuda' requested but*"])
    assert not (pytester.path / "ckpts" / "micro-tuned").exists()


def test_registry_option_overrides_the_pyproject(pytester, run):
    make_project(pytester)
    (pytester.path / "other.toml").write_text(REGISTRY.replace("[models.micro]", "[models.nano]"))
    result = run("--modelperf-registry=other.toml", "-v")
    result.stdout.fnmatch_lines(["*test_facts?nano?*PASSED*"])


def test_a_broken_registry_is_a_usage_error_naming_the_field(pytester, run):
    make_project(pytester, REGISTRY.replace('task = "sequence-classification"', 'task = "summarisation"'))
    result = run()
    assert result.ret != 0
    output = result.stdout.str() + result.stderr.str()
    assert "models.toml: models.micro.task: 'summarisation' is not one of" in output


def test_without_a_registry_load_registered_says_how_to_name_one(pytester, run):
    pytester.makepyfile(test_one="def test_one(modelperf):\n    modelperf.load_registered('bert')\n")
    result = run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*no model registry: set [[]tool.modelperf[]] registry in pyproject.toml*"])


GRID_CELL = """
import os
from pytest_modelperf import Measurement

def test_cell(modelperf):
    name = "gpu_memory.peak_allocated[256x512]"
    cell = os.environ["CELL"]
    if cell == "oom":
        measurement = Measurement.not_available(name, "out of memory", unit="MB")
    else:
        measurement = Measurement.exact(name, float(cell), unit="MB")
    modelperf.check(measurement)
"""


def test_out_of_memory_cells_are_baselined_as_not_available(pytester, run, monkeypatch):
    pytester.makepyfile(test_grid=GRID_CELL)
    monkeypatch.setenv("CELL", "oom")
    run("--modelperf-update").assert_outcomes(passed=1)
    stored = json.loads(next((pytester.path / "baselines").rglob("test_grid.json")).read_text())
    assert stored["tests"]["test_cell"]["gpu_memory.peak_allocated[256x512]"]["unavailable"] == "out of memory"

    result = run()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*gpu_memory.peak_allocated?256x512?*N/A*N/A*pass*"])

    monkeypatch.setenv("CELL", "10417")
    result = run()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*N/A*10,417.0 MB*improvement*"])

    run("--modelperf-update").assert_outcomes(passed=1)
    monkeypatch.setenv("CELL", "oom")
    result = run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*10,417.0 MB*N/A*REGRESSION*", "*N/A (out of memory); the baseline measured a value*"])
