"""How plots tell series apart: one colour and marker per model, one line style per variant.

A model keeps its colour and marker on every figure of one sweep or report: ``ModelStyles`` is
made once from every model the figures will show (sorted, so the same models get the same
colours in every run) and handed to each figure. A variant is what else tells two lines of one
model apart: the result set of an overlay (``result_set``, the P100 or the K80 tables), or the
device and dtype where a sweep mixes them. The first variant is drawn solid, the others dotted
or dash-dotted; dashed lines are kept for baselines.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from ..core.extras import require

if TYPE_CHECKING:
    import pandas as pd

RESULT_SET = "result_set"  # the column naming each row's result set when several are overlaid
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h")
VARIANT_LINESTYLES: tuple[Any, ...] = ("-", ":", "-.", (0, (3, 1, 1, 1, 1, 1)))
BASELINE_LINESTYLE: Final = "--"


@dataclass(frozen=True)
class SeriesStyle:
    colour: Any
    marker: str
    linestyle: Any = "-"


@dataclass
class ModelStyles:
    """A colour and a marker per model, fixed when made; a model it was not made with gets the
    next free ones (in the order it is asked for), so that nothing fails for want of a colour."""

    models: list[str] = field(default_factory=list)
    palette: str = field(init=False)

    def __post_init__(self) -> None:
        self.palette = "tab10" if len(self.models) <= 10 else "tab20"  # fixed, so that no colour changes later

    @classmethod
    def for_models(cls, models: Iterable[str]) -> ModelStyles:
        return cls(sorted({str(model) for model in models}))

    def colour(self, model: str) -> Any:
        index = self._index(model)
        colormaps = require("matplotlib", "plots", "drawing plots").colormaps
        palette = colormaps[self.palette]
        return palette(index % palette.N)

    def marker(self, model: str) -> str:
        return MARKERS[self._index(model) % len(MARKERS)]

    def style(self, model: str, linestyle: Any = "-") -> SeriesStyle:
        return SeriesStyle(self.colour(model), self.marker(model), linestyle)

    def _index(self, model: str) -> int:
        if model not in self.models:
            self.models.append(model)
        return self.models.index(model)


def variant_kind(sweep: pd.DataFrame) -> str | None:
    """What tells a model's lines apart: ``result_set`` where several result sets are overlaid,
    ``device`` where the sweep mixes devices or dtypes, None where every row is of one."""
    if RESULT_SET in sweep.columns and sweep[RESULT_SET].nunique() > 1:
        return RESULT_SET
    if sweep[["device", "dtype"]].drop_duplicates().shape[0] > 1:
        return "device"
    return None


def variant_values(frame: pd.DataFrame, kind: str | None) -> pd.Series | None:
    """Each row's variant of that kind: its result set, or its device and dtype."""
    if kind == RESULT_SET:
        return frame[RESULT_SET].astype(str)
    if kind == "device":
        return frame["device"] + " " + frame["dtype"]
    return None


def variant_order(sweep: pd.DataFrame, kind: str | None) -> list[str]:
    """The variants in the order their line styles go: result sets as given, devices sorted."""
    found = variant_values(sweep, kind)
    if found is None:
        return []
    return list(dict.fromkeys(found)) if kind == RESULT_SET else sorted(set(found))


def linestyle_at(index: int) -> Any:
    """The line style of the variant at ``index`` of ``variant_order``."""
    return VARIANT_LINESTYLES[index % len(VARIANT_LINESTYLES)]
