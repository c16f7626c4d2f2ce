"""The Lambda event and its validation: `parse_event` or an error naming the field."""

from __future__ import annotations

from dataclasses import dataclass

MODES = ("init", "activity", "reset")
MAX_SCALE = 100.0
DEFAULT_SCALE = 1.0
DEFAULT_SEED = 42


class SeedError(RuntimeError):
    """The request cannot be carried out; the message says why and what to do. Nothing was written."""


class EventError(SeedError, ValueError):
    """An invalid event or argument; the message names the field."""

    def __init__(self, field: str, problem: str):
        self.field = field
        super().__init__(f"invalid event field {field!r}: {problem}")


@dataclass(frozen=True)
class Request:
    mode: str
    scale: float | None = None  # init: the scale factor; activity: must match init's when given
    seed: int | None = None  # init: the data seed; activity: defaults to init's
    period: int | None = None  # activity only, 1-based


def check_scale(value) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EventError("scale", f"expected a number, got {type(value).__name__} {value!r}")
    if not 0 < value <= MAX_SCALE:
        raise EventError("scale", f"expected 0 < scale <= {MAX_SCALE:g}, got {value!r}")
    return float(value)


def check_seed(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise EventError("seed", f"expected an integer, got {type(value).__name__} {value!r}")
    if not 0 <= value < 2**63:
        raise EventError("seed", f"expected 0 <= seed < 2**63, got {value!r}")
    return value


def check_period(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise EventError("period", f"expected an integer, got {type(value).__name__} {value!r}")
    if value < 1:
        raise EventError("period", f"expected a period >= 1, got {value!r}")
    return value


NEXT_PERIOD = "next"


def parse_event(event) -> Request:
    """Validate a Lambda event: {"mode": "init"|"activity"|"reset", "scale", "seed", "period"}."""
    if not isinstance(event, dict):
        raise EventError("<event>", f"expected a JSON object, got {type(event).__name__}")
    # A templated event (the DAG's) renders a field it does not need as null or "": treat as absent.
    event = {k: v for k, v in event.items() if v is not None and v != ""}
    allowed = {"init": {"scale", "seed"}, "activity": {"period", "seed", "scale"}, "reset": set()}
    mode = event.get("mode")
    if mode not in MODES:
        raise EventError("mode", f"expected one of {', '.join(MODES)}, got {mode!r}")
    unknown = sorted(set(event) - allowed[mode] - {"mode"})
    if unknown:
        raise EventError(
            unknown[0], f"not a field of mode {mode!r} (fields: {', '.join(sorted(allowed[mode]))})"
        )
    if mode == "init":
        return Request(
            mode,
            scale=check_scale(event.get("scale", DEFAULT_SCALE)),
            seed=check_seed(event.get("seed", DEFAULT_SEED)),
        )
    if mode == "activity":
        # "next" (or no period) runs the period after the last one: what a scheduler wants. An
        # explicit number makes a retried invocation a no-op once that period has run.
        period = event.get("period", NEXT_PERIOD)
        return Request(
            mode,
            period=None if period == NEXT_PERIOD else check_period(period),
            seed=check_seed(event["seed"]) if event.get("seed") is not None else None,
            scale=check_scale(event["scale"]) if event.get("scale") is not None else None,
        )
    return Request(mode)
