"""The package's layers: imports go one way, nothing cycles, and the light layers stay light.

The rules live in benchmarks/import_layers.py, which prints the same graph for people.
"""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
PACKAGE = REPOSITORY / "pytest_modelperf"


def _checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("import_layers", REPOSITORY / "benchmarks" / "import_layers.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


layers = _checker()


def test_the_package_keeps_its_layers():
    problems = layers.breaches(layers.all_imports())
    assert problems == [], "\n".join(problems)


def test_every_module_is_in_a_layer():
    names = {name.split(".")[0] for name in layers.modules()}
    assert names - set(layers.LAYERS) == set()


def test_every_module_says_what_it_owns():
    silent = []
    for path in sorted(PACKAGE.rglob("*.py")):
        docstring = ast.get_docstring(ast.parse(path.read_text()))
        if not docstring or not docstring.splitlines()[0].strip():
            silent.append(str(path.relative_to(REPOSITORY)))
    assert silent == []


def _loaded_after_importing(modules: list[str]) -> set[str]:
    script = f"import sys\nfor name in {modules!r}:\n    __import__(name)\nprint(' '.join(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPOSITORY)
    return {name.split(".")[0] for name in result.stdout.split()}


def _package_modules(layer: str) -> list[str]:
    return [f"pytest_modelperf.{name}" for name in layers.modules() if name.split(".")[0] == layer]


@pytest.mark.parametrize("layer", ["core", "storage"])
def test_the_data_layers_load_neither_torch_nor_pytest(layer):
    loaded = _loaded_after_importing(_package_modules(layer))
    assert loaded & {"torch", "transformers", "pytest", "_pytest"} == set()


def test_the_command_line_never_loads_pytest():
    loaded = _loaded_after_importing(_package_modules("cli"))
    assert loaded & {"pytest", "_pytest"} == set()


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "pytest_modelperf"
    for name, text in {"__init__.py": '"""x"""', **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_an_import_of_a_higher_layer_is_a_breach_naming_file_and_line(tmp_path):
    root = _tree(
        tmp_path,
        {
            "core/__init__.py": "",
            "core/units.py": "import os\nfrom ..run.session import Session\n",
            "run/__init__.py": "",
            "run/session.py": "class Session: ...\n",
        },
    )
    problems = layers.breaches(layers.all_imports(root))
    assert problems == ["pytest_modelperf/core/units.py:2: core imports run.session (top), a layer at or above it"]


def test_an_import_hidden_in_a_function_still_counts_and_closes_a_cycle(tmp_path):
    root = _tree(
        tmp_path,
        {
            "models/__init__.py": "",
            "models/loading.py": "from .checkpoints import build\n",
            "models/checkpoints.py": "def build():\n    from .loading import load\n",
        },
    )
    problems = layers.breaches(layers.all_imports(root))
    assert problems == ["cycle: models.checkpoints -> models.loading -> models.checkpoints"]


def test_torch_in_core_is_a_breach_even_under_type_checking(tmp_path):
    root = _tree(
        tmp_path,
        {
            "core/__init__.py": "",
            "core/stats.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import torch\n",
        },
    )
    problems = layers.breaches(layers.all_imports(root))
    assert problems == ["pytest_modelperf/core/stats.py:3: core imports torch (typing)"]
