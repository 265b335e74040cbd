"""How latency and throughput are sampled: warm-up, rounds and time limits, validated on creation."""

from __future__ import annotations

from dataclasses import dataclass


class TimingError(ValueError):
    """A timing field is out of range; ``field`` names it and ``problem`` says what is wrong."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field} {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class TimingOptions:
    """How latency and throughput are sampled; a ``modelperf`` marker may override each field."""

    warmup_rounds: int = 3
    warmup_time: float = 0.5
    min_rounds: int = 10
    max_rounds: int = 200
    max_time: float = 2.0

    def __post_init__(self) -> None:
        for name in ("warmup_rounds", "min_rounds", "max_rounds"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise TimingError(name, f"must be a non-negative integer, got {value!r}")
        if self.min_rounds < 2:
            raise TimingError("min_rounds", f"must be at least 2, got {self.min_rounds}")
        if self.max_rounds < self.min_rounds:
            raise TimingError("max_rounds", f"must not be below min_rounds ({self.min_rounds}), got {self.max_rounds}")
        for name in ("warmup_time", "max_time"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                raise TimingError(name, f"must be a non-negative number of seconds, got {value!r}")
