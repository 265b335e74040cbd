"""Unit tests for pytest_modelperf.core.units: parsing, conversion and formatting of quantities."""

from __future__ import annotations

import math

import pytest

from pytest_modelperf.core.units import Quantity, UnitError, convert, dimension, format_value, parse_quantity, signed_number

# -- parse_quantity --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [
        ("10%", 10.0, "%"),
        ("0%", 0.0, "%"),
        ("2.5%", 2.5, "%"),
        ("10 %", 10.0, "%"),
        ("5ms", 5.0, "ms"),
        ("5 ms", 5.0, "ms"),
        ("  5ms  ", 5.0, "ms"),
        ("250us", 250.0, "us"),
        ("250µs", 250.0, "µs"),
        ("3ns", 3.0, "ns"),
        ("1.5s", 1.5, "s"),
        (".5s", 0.5, "s"),
        ("1e3ms", 1000.0, "ms"),
        ("2.5E-1s", 0.25, "s"),
        ("+5ms", 5.0, "ms"),
        ("64MB", 64.0, "MB"),
        ("64B", 64.0, "B"),
        ("1KB", 1.0, "KB"),
        ("2GB", 2.0, "GB"),
        ("1.5GiB", 1.5, "GiB"),
        ("512MiB", 512.0, "MiB"),
        ("4KiB", 4.0, "KiB"),
        ("100samples/s", 100.0, "samples/s"),
        ("100 tokens/s", 100.0, "tokens/s"),
        ("7count", 7.0, "count"),
        ("110M", 110.0, "M"),
        ("0.5points", 0.5, "points"),
        ("1 point", 1.0, "points"),
        ("1.5x", 1.5, "x"),
    ],
)
def test_parse_quantity_accepts_written_forms(text: str, value: float, unit: str) -> None:
    quantity = parse_quantity(text)
    assert quantity == Quantity(value, unit)
    assert isinstance(quantity.value, float)


@pytest.mark.parametrize(
    ("bare", "suggested"),
    [(10, "'10%' or '10ms'"), ("10", "'10%' or '10ms'"), (7.25, "'7.25%' or '7.25ms'"), ("0", "'0%' or '0ms'")],
)
def test_a_bare_number_is_refused_asking_for_a_unit_or_a_percentage(bare: object, suggested: str) -> None:
    # "10" once meant 10 of the measurement's unit: a +50% change passed a threshold="10".
    with pytest.raises(UnitError) as info:
        parse_quantity(bare, what="check(latency, threshold=10)")  # type: ignore[arg-type]
    assert str(info.value) == f"check(latency, threshold=10): {bare!r} has no unit; give a unit or a %, e.g. {suggested}"


def test_a_bare_number_is_refused_suggesting_the_measurement_unit() -> None:
    with pytest.raises(UnitError, match=r"e\.g\. '64%' or '64MB'"):
        parse_quantity("64", what="limit", example_unit="MB")


def test_parse_quantity_passes_a_quantity_through_unchanged() -> None:
    original = Quantity(3.0, "ms")
    assert parse_quantity(original) is original


def test_relative_and_absolute_quantities() -> None:
    assert parse_quantity("10%").is_relative
    assert not parse_quantity("10ms").is_relative


@pytest.mark.parametrize(
    "text",
    ["", "   ", "abc", "ms", "%", "5 m s", "5ms5", "1,5ms", "five ms", "5%%", "1.2.3ms", "5 ms extra", "nan", "inf"],
)
def test_parse_quantity_rejects_malformed_text_naming_it(text: str) -> None:
    with pytest.raises(UnitError) as info:
        parse_quantity(text, what="threshold")
    message = str(info.value)
    assert repr(text) in message
    assert message.startswith("threshold:")


@pytest.mark.parametrize("text", ["5parsecs", "5 hours", "5Ms", "5mb", "5sec", "64mib"])
def test_parse_quantity_rejects_unknown_units_naming_unit_and_input(text: str) -> None:
    with pytest.raises(UnitError) as info:
        parse_quantity(text, what="limit")
    message = str(info.value)
    assert message.startswith("limit:")
    assert repr(text) in message
    assert "unknown unit" in message
    assert "ms" in message  # lists the known units


@pytest.mark.parametrize("text", ["-5ms", "-10%", "-1", "-0.5GiB", "-1e3s"])
def test_parse_quantity_rejects_negative_strings(text: str) -> None:
    with pytest.raises(UnitError) as info:
        parse_quantity(text, what="threshold")
    message = str(info.value)
    assert repr(text) in message
    assert "negative" in message


@pytest.mark.parametrize("flag", [True, False])
def test_parse_quantity_rejects_booleans(flag: bool) -> None:
    with pytest.raises(UnitError) as info:
        parse_quantity(flag, what="threshold")
    assert repr(flag) in str(info.value)
    assert str(info.value).startswith("threshold:")


@pytest.mark.parametrize("value", [None, [5], {"ms": 5}, b"5ms"])
def test_parse_quantity_rejects_other_types(value: object) -> None:
    with pytest.raises(UnitError) as info:
        parse_quantity(value)  # type: ignore[arg-type]
    assert repr(value) in str(info.value)


def test_unit_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_quantity("nonsense")


@pytest.mark.parametrize("number", [-5, -0.1])
def test_parse_quantity_rejects_negative_numbers(number: float) -> None:
    with pytest.raises(UnitError):
        parse_quantity(number, what="threshold")


@pytest.mark.parametrize("number", [math.nan, math.inf, "1e999ms", "1e400%"])
def test_parse_quantity_rejects_non_finite_numbers(number: float) -> None:
    with pytest.raises(UnitError, match="finite"):
        parse_quantity(number, what="threshold")


# -- dimension and convert -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        ("ms", "time"),
        ("µs", "time"),
        ("GiB", "memory"),
        ("samples/s", "samples_rate"),
        ("tokens/s", "tokens_rate"),
        ("M", "count"),
        ("count", "count"),
        ("points", "score"),
        ("", "dimensionless"),
    ],
)
def test_dimension(unit: str, expected: str) -> None:
    assert dimension(unit) == expected


def test_dimension_of_unknown_unit() -> None:
    with pytest.raises(UnitError, match="'furlongs'"):
        dimension("furlongs")


@pytest.mark.parametrize(
    ("value", "from_unit", "to_unit", "expected"),
    [
        (1.0, "s", "ms", 1000.0),
        (250.0, "ms", "s", 0.25),
        (1.0, "ms", "us", 1000.0),
        (1.0, "us", "µs", 1.0),
        (1500.0, "ns", "us", 1.5),
        (3.0, "ms", "ms", 3.0),
        (1.0, "GiB", "MiB", 1024.0),
        (1.0, "MiB", "B", 1048576.0),
        (1.0, "GB", "MB", 1000.0),
        (1.0, "GiB", "GB", 1.073741824),
        (2048.0, "KiB", "MiB", 2.0),
        (5.0, "KB", "B", 5000.0),
        (1.0, "M", "count", 1e6),
        (2.5e6, "count", "M", 2.5),
    ],
)
def test_convert_within_a_dimension(value: float, from_unit: str, to_unit: str, expected: float) -> None:
    assert convert(value, from_unit, to_unit) == pytest.approx(expected, rel=1e-12)


def test_convert_round_trip() -> None:
    assert convert(convert(12.345, "ms", "ns"), "ns", "ms") == pytest.approx(12.345, rel=1e-12)


@pytest.mark.parametrize(
    ("from_unit", "to_unit"),
    [("ms", "MB"), ("MB", "s"), ("samples/s", "tokens/s"), ("count", "points"), ("", "ms"), ("ms", "")],
)
def test_convert_refuses_across_dimensions(from_unit: str, to_unit: str) -> None:
    with pytest.raises(UnitError) as info:
        convert(1.0, from_unit, to_unit)
    message = str(info.value)
    assert repr(from_unit) in message
    assert repr(to_unit) in message
    assert dimension(from_unit) in message
    assert dimension(to_unit) in message


@pytest.mark.parametrize(("from_unit", "to_unit"), [("ms", "fortnights"), ("stones", "MB")])
def test_convert_refuses_unknown_units(from_unit: str, to_unit: str) -> None:
    with pytest.raises(UnitError, match="unknown unit"):
        convert(1.0, from_unit, to_unit)


# -- Quantity ----------------------------------------------------------------------------------


def test_quantity_in_unit_converts() -> None:
    assert parse_quantity("5ms").in_unit("s") == pytest.approx(0.005)
    assert parse_quantity("5ms").in_unit("us") == pytest.approx(5000.0)
    assert parse_quantity("64MB").in_unit("B") == pytest.approx(64e6)
    assert parse_quantity("1.5GiB").in_unit("MiB") == pytest.approx(1536.0)
    assert parse_quantity("1.5GiB").in_unit("B") == pytest.approx(1.5 * 2**30)


def test_a_quantity_without_a_unit_is_not_taken_in_the_target_unit() -> None:
    with pytest.raises(UnitError, match="dimensionless"):
        Quantity(5.0, "").in_unit("ms")


def test_relative_quantity_has_no_absolute_value() -> None:
    with pytest.raises(UnitError, match="relative"):
        parse_quantity("10%").in_unit("ms")


def test_quantity_in_unit_of_the_wrong_dimension() -> None:
    with pytest.raises(UnitError):
        parse_quantity("5ms").in_unit("MB")


@pytest.mark.parametrize(
    ("quantity", "text"),
    [(Quantity(10.0, "%"), "10%"), (Quantity(5.0, "ms"), "5ms"), (Quantity(1.5, "GiB"), "1.5GiB"), (Quantity(42.0, "x"), "42x")],
)
def test_quantity_str(quantity: Quantity, text: str) -> None:
    assert str(quantity) == text
    assert parse_quantity(text) == quantity


def test_quantity_is_frozen_and_hashable() -> None:
    quantity = Quantity(1.0, "ms")
    with pytest.raises(AttributeError):
        quantity.value = 2.0  # type: ignore[misc]
    assert {quantity, Quantity(1.0, "ms")} == {quantity}


# -- format_value ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (1234567.0, "count", "1,234,567"),
        (109482240.4, "count", "109,482,240"),
        (2.6, "count", "3"),
        (0.0, "count", "0"),
        (12.345, "ms", "12.3 ms"),
        (1.0, "ms", "1 ms"),
        (0.5, "s", "0.5 s"),
        (0.0, "ms", "0 ms"),
        (100.0, "ms", "100.0 ms"),
        (1234.56, "ms", "1,234.6 ms"),
        (99999.0, "B", "99,999.0 B"),
        (123456.0, "B", "1.23e+05 B"),
        (0.0005, "s", "0.0005 s"),
        (0.00012345, "s", "0.000123 s"),
        (-12.345, "ms", "-12.3 ms"),
        (5.0, "", "5"),
        (0.987654, "", "0.988"),
        (1234.5, "tokens/s", "1,234.5 tokens/s"),
    ],
)
def test_format_value(value: float, unit: str, text: str) -> None:
    assert format_value(value, unit) == text


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        (12.04, 1, "+12.0"),
        (-0.8, 1, "-0.8"),
        (-0.04, 1, "+0.0"),  # rounds to zero: no "-0.0"
        (-0.0, 1, "+0.0"),
        (0.0, 2, "+0.00"),
        (-0.004, 2, "+0.00"),
        (-0.005001, 2, "-0.01"),
    ],
)
def test_signed_number_never_reads_minus_zero(value: float, decimals: int, expected: str) -> None:
    assert signed_number(value, decimals) == expected
