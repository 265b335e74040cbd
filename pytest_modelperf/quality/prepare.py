"""Registry model -> a checkpoint to load, fine-tuned models included; preparing them all.

A model with an offline recipe is prepared by :mod:`..models.prepare`. A fine-tuned model is
trained from its base model's checkpoint (the offline one, or the hub's when online) into
``<checkpoint_dir>/<name>`` (``<name>@online``) by :func:`.finetune.fine_tune`, which keeps it
until its recipe changes; one distilled from a teacher has its teacher prepared first.
``modelperf prepare`` prepares every model through :func:`prepare_all`, teachers before the
models distilled from them.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..models.prepare import Prepared, checkpoint_folder, offline_checkpoint
from ..models.progress_bars import quiet_progress_bars
from ..models.registry import ModelSpec, Registry
from .finetune import fine_tune


@quiet_progress_bars()
def registry_checkpoint(
    registry: Registry, name: str, *, online: bool = False, device: str = "cpu", report: Callable[[str], None] = lambda line: None
) -> str:
    """What to load for a registry model: a local directory, or with ``online`` a hub id; a model
    built or fine-tuned on first use draws no progress bars meanwhile."""
    spec = registry.model(name)
    if spec.finetune is not None:
        return str(fine_tuned_checkpoint(registry, spec, online=online, device=device, report=report).path)
    if online:
        return spec.checkpoint
    return str(offline_checkpoint(spec, registry.checkpoint_dir).path)


def fine_tuned_checkpoint(
    registry: Registry,
    spec: ModelSpec,
    *,
    online: bool = False,
    device: str = "cpu",
    report: Callable[[str], None] = lambda line: None,
) -> Prepared:
    """The fine-tuned checkpoint of ``spec``, trained now unless an identical recipe is cached."""
    assert spec.finetune is not None
    base = registry_checkpoint(registry, spec.finetune.base, online=online, device=device)
    teacher = None
    if spec.finetune.distill is not None:
        name = spec.finetune.distill.teacher
        teacher = registry_checkpoint(
            registry, name, online=online, device=device, report=lambda line: report(f"teacher {name}: {line}")
        )
    destination = checkpoint_folder(registry.checkpoint_dir, f"{spec.name}@online" if online else spec.name)
    started = time.perf_counter()
    result = fine_tune(spec.finetune, base, destination, task=spec.task, teacher_checkpoint=teacher, device=device, report=report)
    return Prepared(spec.name, result.path, result.built, time.perf_counter() - started, stand_in=False, fine_tune=result.stats)


def prepare_all(
    registry: Registry, names: list[str] | None = None, *, device: str = "cpu", report: Callable[[str], None] = lambda line: None
) -> list[Prepared]:
    """Prepare the offline checkpoints of the named models (all by default), reporting each;
    the teachers of distilled models among them are prepared too, each before its students."""
    specs = [spec for spec in teachers_first(registry, registry.select(names)) if spec.offline is not None or spec.fine_tuned]
    prepared: list[Prepared] = []
    width = len(str(len(specs)))
    for index, spec in enumerate(specs, 1):
        report(f"[{index:>{width}}/{len(specs)}] {spec.name}: preparing {spec.description or spec.task} ...")
        if spec.fine_tuned:
            result = fine_tuned_checkpoint(registry, spec, device=device, report=_indented(report, spec.name))
        else:
            result = offline_checkpoint(spec, registry.checkpoint_dir)
        report(f"[{index:>{width}}/{len(specs)}] {spec.name}: {_state(result)} -> {result.path}")
        prepared.append(result)
    return prepared


def teachers_first(registry: Registry, specs: list[ModelSpec]) -> list[ModelSpec]:
    """``specs`` with the teachers they are distilled from (and theirs), each teacher placed
    before the first model that learns from it; otherwise in the order given."""
    ordered: dict[str, ModelSpec] = {}

    def add(spec: ModelSpec) -> None:
        if spec.name in ordered:
            return
        if spec.finetune is not None and spec.finetune.distill is not None:
            add(registry.model(spec.finetune.distill.teacher))  # the registry refuses cycles
        ordered[spec.name] = spec

    for spec in specs:
        add(spec)
    return list(ordered.values())


def _indented(report: Callable[[str], None], name: str) -> Callable[[str], None]:
    """``report``, for the lines of one model's fine-tune: indented and named."""
    return lambda line: report(f"    {name}: {line}")


def _state(result: Prepared) -> str:
    """What preparing a model did, in a few words."""
    if result.built and result.fine_tune is not None:
        stats = result.fine_tune
        return (
            f"fine-tuned in {stats.seconds:.1f}s ({stats.samples_per_second:.1f} samples/s, "
            f"peak host memory +{stats.peak_host_memory_mb:.0f} MB, final loss {stats.final_loss:.3f})"
        )
    if result.built:
        return f"built in {result.seconds:.1f}s"
    if result.stand_in or result.fine_tune is not None:
        return "up to date"
    return "ships offline"
