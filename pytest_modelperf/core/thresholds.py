"""The threshold policy of a check: which threshold and limit a measurement is judged with.

``threshold`` is the allowed change towards worse: relative ("10%") or absolute with a unit of
the measurement's kind ("5ms", "64MB"); a number without a unit is refused. Without one, a
check that has a limit has no threshold, a deterministic measurement is held to exact equality,
and a sampled one takes the marker's threshold, else the run's (``--modelperf-threshold``).
``limit`` is an absolute bound of the measurement's kind. Every refusal names the call and the
argument it came from, e.g. ``modelperf.check(latency[1x128], limit='5MB')``.
"""

from __future__ import annotations

from .measurement import Measurement
from .stats import is_known_statistic
from .units import Quantity, UnitError, describe_dimension, dimension, parse_quantity
from .verdict import Check

EXACT = Quantity(0.0, "%")
Amount = str | float | Quantity  # a threshold or limit as given: "10%", "5ms"; a bare number is refused


def check_of(
    measurement: Measurement,
    *,
    threshold: Amount | None,
    limit: Amount | None,
    statistic: str | None,
    marker_threshold: Amount | None,
    run_threshold: str | Quantity,
) -> Check:
    """The check of ``modelperf.check(measurement, threshold=, limit=, statistic=)`` under a
    marker's threshold (as the marker gave it; None: the marker sets none) and the run's
    default threshold."""
    __tracebackhide__ = True
    chosen = statistic or measurement.statistic
    if chosen != "value" and not is_known_statistic(chosen):
        raise ValueError(f"{check_call(measurement, 'statistic', statistic)}: unknown statistic {chosen!r}")
    limit_quantity = limit_of(measurement, limit) if limit is not None else None
    chosen_threshold = threshold_of(
        measurement, threshold, limit_quantity, marker_threshold=marker_threshold, run_threshold=run_threshold
    )
    return Check(chosen, chosen_threshold, limit_quantity)


def threshold_of(
    measurement: Measurement,
    threshold: Amount | None,
    limit: Quantity | None,
    *,
    marker_threshold: Amount | None,
    run_threshold: str | Quantity,
) -> Quantity | None:
    """The threshold the check is judged with: the call's, none beside a limit, exact for a
    deterministic measurement, else the marker's, else the run's."""
    __tracebackhide__ = True
    if threshold is not None:
        return fitting_quantity(measurement, "threshold", threshold, check_call(measurement, "threshold", threshold))
    if limit is not None:
        return None
    if measurement.deterministic:
        return EXACT
    if marker_threshold is not None:
        marker = f"modelperf.check({measurement.name}) under @pytest.mark.modelperf(threshold={marker_threshold!r})"
        return fitting_quantity(measurement, "threshold", marker_threshold, marker)
    option = f"modelperf.check({measurement.name}) under --modelperf-threshold={run_threshold}"
    return fitting_quantity(measurement, "threshold", run_threshold, option)


def limit_of(measurement: Measurement, limit: Amount) -> Quantity:
    """An absolute limit of the measurement's kind; a relative one is refused."""
    __tracebackhide__ = True
    where = check_call(measurement, "limit", limit)
    quantity = fitting_quantity(measurement, "limit", limit, where)
    if quantity.is_relative:
        example = f"{quantity.value:g}{measurement.unit}"
        raise UnitError(f"{where}: a limit must be absolute, e.g. '{example}'; a % belongs to the threshold")
    return quantity


def fitting_quantity(measurement: Measurement, argument: str, value: Amount, where: str) -> Quantity:
    """A threshold or limit with a unit (or a %) of the measurement's kind; errors start with ``where``."""
    __tracebackhide__ = True
    try:
        quantity = parse_quantity(value, what=where, example_unit=measurement.unit)
    except UnitError as error:
        raise UnitError(str(error)) from None  # raised here, so that the failure shows the test's line, not the parser's
    if not quantity.is_relative and dimension(quantity.unit) != dimension(measurement.unit):
        unit = f" ({measurement.unit})" if measurement.unit else ""
        raise UnitError(
            f"{where}: {argument} is {describe_dimension(quantity.unit)}, "
            f"the measurement is {describe_dimension(measurement.unit)}{unit}"
        )
    return quantity


def check_call(measurement: Measurement, argument: str, value: object) -> str:
    """How an error names the check and its argument: ``modelperf.check(latency[1x128], limit='5MB')``."""
    return f"modelperf.check({measurement.name}, {argument}={value!r})"
