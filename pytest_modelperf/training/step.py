"""One training step of a loaded model: forward with its loss, backward, the optimizer's step.

A step is what a fine-tune repeats: ``gradient_accumulation`` micro-batches of ``batch_size``
examples, each forward run under autocast when mixed precision is asked for and its loss
scaled for a float16 gradient scaler, their gradients summed, optionally clipped, then one
optimizer step (AdamW by default) and the gradients released. Under DDP the micro-batches
before the last can skip the gradient all-reduce (``no_sync``, the study's delayed gradient
sync).

Training changes weights, and a loaded model is shared by the whole session, so a step trains
a copy of it: the session's model is never modified. The loss is the model's own for its
task, on labels drawn for the batch (classes, answer spans, masked tokens); a model without a
task head trains on the mean square of its last hidden state, which sends the backward pass
through every layer as a real objective would.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import cycle
from typing import Any

from ..measure.workloads import Workload, synthetic_inputs
from ..models.loading import LoadedModel, normalise_dtype

OptimizerFactory = Callable[[Iterable[Any]], Any]

# Autocast dtypes a step may run its forward in; None trains in the weights' own dtype.
AUTOCAST_DTYPES = ("bfloat16", "float16")
DEFAULT_LEARNING_RATE = 5e-5
DEFAULT_WEIGHT_DECAY = 0.01
MASKED_SHARE = 0.15  # masked-lm labels: the share of positions predicted, as BERT pre-training


@dataclass(frozen=True)
class StepSettings:
    """What one training step does, beyond the model and its batches."""

    workload: Workload
    gradient_accumulation: int = 1
    autocast: str | None = None  # "bfloat16" or "float16"; None: no autocast
    max_grad_norm: float | None = None
    delay_sync: bool = False  # under DDP: all-reduce once per step, not per micro-batch
    teacher: str | None = None  # the teacher's name when the step distils (its loss: training.distill_step)

    def __post_init__(self) -> None:
        accumulation = self.gradient_accumulation
        if not isinstance(accumulation, int) or isinstance(accumulation, bool) or accumulation < 1:
            raise ValueError(f"gradient_accumulation must be a positive integer, got {accumulation!r}")
        if self.autocast is not None and self.autocast not in AUTOCAST_DTYPES:
            raise ValueError(f"autocast dtype must be one of {', '.join(AUTOCAST_DTYPES)} or None, got {self.autocast!r}")
        if self.max_grad_norm is not None and not self.max_grad_norm > 0:
            raise ValueError(f"max_grad_norm must be a positive number, got {self.max_grad_norm!r}")

    @property
    def samples(self) -> int:
        """Examples one step trains on: every micro-batch of it."""
        return self.workload.batch_size * self.gradient_accumulation

    @property
    def label(self) -> str:
        """``8x128``, or ``8x128, accumulate 4`` for a step of four micro-batches."""
        label = self.workload.label
        if self.gradient_accumulation != 1:
            label = f"{label}, accumulate {self.gradient_accumulation}"
        return label if self.teacher is None else f"{label}, distilled from {self.teacher}"


def autocast_dtype(dtype: str | None) -> str | None:
    """The autocast dtype a ``dtype`` argument names (``bf16``, ``float16``...); None for none."""
    if dtype is None:
        return None
    name = normalise_dtype(dtype)
    if name == "float32":
        return None
    if name not in AUTOCAST_DTYPES:
        raise ValueError(f"dtype: mixed precision runs in {' or '.join(AUTOCAST_DTYPES)}, got {dtype!r}")
    return name


def adamw(parameters: Iterable[Any]) -> Any:
    """AdamW as a fine-tune uses it: learning rate 5e-5, weight decay 0.01."""
    import torch

    return torch.optim.AdamW(parameters, lr=DEFAULT_LEARNING_RATE, weight_decay=DEFAULT_WEIGHT_DECAY)


def training_copy(loaded: LoadedModel) -> Any:
    """A copy of the loaded model in training mode, every parameter trainable by default."""
    model = copy.deepcopy(loaded.model)
    model.train()
    return model


def synthetic_batch(loaded: LoadedModel, workload: Workload, *, seed: int = 0) -> dict[str, Any]:
    """The workload's synthetic inputs with labels for the model's task, on its device."""
    import torch

    inputs = synthetic_inputs(loaded, workload, seed=seed)
    generator = torch.Generator().manual_seed(seed + 1)
    batch, length = workload.batch_size, workload.sequence_length
    labels: dict[str, Any] = {}
    config = loaded.config
    if loaded.task == "sequence-classification":
        classes = int(getattr(config, "num_labels", 2))
        if getattr(config, "problem_type", None) == "multi_label_classification":
            labels["labels"] = torch.randint(0, 2, (batch, classes), generator=generator).float()
        elif classes == 1:
            labels["labels"] = torch.randn(batch, generator=generator)
        else:
            labels["labels"] = torch.randint(0, classes, (batch,), generator=generator)
    elif loaded.task == "question-answering":
        start = torch.randint(0, length, (batch,), generator=generator)
        labels["start_positions"] = start
        labels["end_positions"] = torch.minimum(
            start + torch.randint(0, 8, (batch,), generator=generator), torch.tensor(length - 1)
        )
    elif loaded.task == "masked-lm":
        targets = inputs["input_ids"].detach().cpu().clone()
        keep = torch.rand(targets.shape, generator=generator) >= MASKED_SHARE
        targets[keep] = -100
        labels["labels"] = targets
    return {**inputs, **{name: tensor.to(loaded.device) for name, tensor in labels.items()}}


def loss_of(model: Any, batch: Mapping[str, Any]) -> Any:
    """The model's loss on the batch: its own, or the mean square of its last hidden state."""
    output = model(**batch)
    loss = getattr(output, "loss", None)
    if loss is not None:
        return loss
    hidden = getattr(output, "last_hidden_state", None)
    if hidden is None:
        hidden = output[0]
    return hidden.float().pow(2).mean()


class TrainingStep:
    """``step()`` runs one optimizer step; ``restart()`` begins again from a fresh optimizer.

    ``model`` is what is trained (a copy, or a DDP wrapper of one); ``batches`` are cycled, one
    per micro-batch; ``loss`` gives a micro-batch's loss (the model's own by default, a
    distillation loss from ``training.distill_step``); ``resident`` are the modules the loss uses
    without training them (a teacher), whose weights the step keeps on the device too. The last
    loss stays on the device (reading it would synchronise CUDA inside the timed region):
    ``last_loss()`` reads it.
    """

    def __init__(
        self,
        model: Any,
        batches: Sequence[Mapping[str, Any]],
        settings: StepSettings,
        *,
        device: str,
        optimizer: OptimizerFactory = adamw,
        loss: Callable[[Any, Mapping[str, Any]], Any] | None = None,
        resident: Sequence[Any] = (),
    ) -> None:
        import torch

        if not batches:
            raise ValueError("a training step needs at least one batch")
        self.model = model
        self.resident = tuple(resident)
        self.settings = settings
        self.device = device
        self._device_type = torch.device(device).type
        self._batches: Iterator[Mapping[str, Any]] = cycle(batches)
        self._make_optimizer = optimizer
        self._loss_of = loss  # None: loss_of, looked up when a step runs
        self._trained = [parameter for parameter in model.parameters() if parameter.requires_grad]
        if not self._trained:
            raise ValueError("the model has no trainable parameter")
        self.optimizer: Any = None
        self._scaler: Any = None
        self._loss: Any = None
        self.restart()

    def release(self) -> None:
        """Drop the gradients and the optimizer's state: the model holds its weights alone."""
        self.model.zero_grad(set_to_none=True)
        self.optimizer = None
        self._scaler = None
        self._loss = None

    def restart(self) -> None:
        """A fresh optimizer (no state yet) and a fresh gradient scaler; gradients released."""
        import torch

        self.release()
        self.optimizer = self._make_optimizer(self._trained)
        self._scaler = torch.amp.GradScaler(self._device_type) if self.settings.autocast == "float16" else None

    def __call__(self) -> None:
        import torch

        if self.optimizer is None:
            self.restart()
        accumulation = self.settings.gradient_accumulation
        for micro in range(accumulation):
            batch = next(self._batches)
            with self._sync_unless_last(micro, accumulation), self._autocast():
                loss = (self._loss_of or loss_of)(self.model, batch)
                if accumulation > 1:
                    loss = loss / accumulation
            if self._scaler is not None:
                self._scaler.scale(loss).backward()
            else:
                loss.backward()
            self._loss = loss.detach()
        if self._scaler is not None:
            if self.settings.max_grad_norm is not None:
                self._scaler.unscale_(self.optimizer)
                torch.nn.utils.clip_grad_norm_(self._trained, self.settings.max_grad_norm)
            self._scaler.step(self.optimizer)
            self._scaler.update()
        else:
            if self.settings.max_grad_norm is not None:
                torch.nn.utils.clip_grad_norm_(self._trained, self.settings.max_grad_norm)
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)

    def last_loss(self) -> float | None:
        """The loss of the last micro-batch run (times the accumulation: the batch's own loss)."""
        if self._loss is None:
            return None
        return float(self._loss) * self.settings.gradient_accumulation

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.settings.autocast is None:
            return contextlib.nullcontext()
        import torch

        return torch.autocast(device_type=self._device_type, dtype=getattr(torch, self.settings.autocast))

    def _sync_unless_last(self, micro: int, accumulation: int) -> contextlib.AbstractContextManager[Any]:
        no_sync = getattr(self.model, "no_sync", None)
        if self.settings.delay_sync and no_sync is not None and micro < accumulation - 1:
            return no_sync()  # type: ignore[no-any-return]
        return contextlib.nullcontext()
