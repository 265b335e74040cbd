"""What a sweep's model names mean: a registry model, a local directory or a hub id.

A name that is an existing directory, or is written as a path (``./``, ``/``, ``~``), is a
local checkpoint. Otherwise a name with a slash is a hub id (``org/name``), and a bare name
is a model of the registry, resolved to its offline checkpoint (built on first use) the way
``load_registered`` does. A registry is needed only when a bare name is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..models.registry import Registry

LOCAL = "local"
HUB = "hub"
REGISTERED = "registry"


class UnknownModel(ValueError):
    """A model name that names nothing; the message names the argument and says what was tried."""


def model_kind(model: str) -> str:
    path = Path(model).expanduser()
    if path.is_dir() or path.exists() or model.startswith((".", "/", "~")):
        return LOCAL
    if "/" in model:
        return HUB
    return REGISTERED


def needs_registry(models: Sequence[str]) -> bool:
    return any(model_kind(model) == REGISTERED for model in models)


def check_models(
    models: Sequence[str], registry: Registry | None, *, argument: str = "models", registry_problem: str = ""
) -> None:
    """Every model names something, before any work: a directory that exists, a hub id, or a
    model of the registry. ``registry_problem`` says why there is no registry, if there is none."""
    for model in models:
        kind = model_kind(model)
        if kind == LOCAL and not Path(model).expanduser().is_dir():
            raise UnknownModel(f"{argument}: {model!r} is not a directory holding a saved model")
        if kind != REGISTERED:
            continue
        if registry is None:
            raise UnknownModel(
                f"{argument}: {model!r} is not a local directory, and there is no model registry to look it up in "
                f"({registry_problem or 'no registry'}); a hub id is written org/name"
            )
        if model not in registry.models:
            raise UnknownModel(
                f"{argument}: {model!r} is not a model of the registry {registry.path} (it names {', '.join(registry.models)}), "
                "nor a local directory; a hub id is written org/name"
            )


def resolve_model(model: str, registry: Registry | None, *, device: str = "cpu") -> tuple[str, str]:
    """``(checkpoint, task)`` to load: a directory or hub id as given (task detected from its
    config), or a registry model's offline checkpoint and its registry task."""
    if model_kind(model) != REGISTERED:
        return str(Path(model).expanduser()) if model_kind(model) == LOCAL else model, "auto"
    if registry is None:
        raise UnknownModel(f"{model!r} is a registry name, but there is no model registry")
    from ..quality.prepare import registry_checkpoint

    spec = registry.model(model)
    return registry_checkpoint(registry, model, device=device), spec.task
