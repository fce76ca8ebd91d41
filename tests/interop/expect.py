"""How a step's result is compared with its expectations (README.md, "Expectations")."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

_DEFAULTS = (0, "", False, [], {})
_MISSING = object()


def lookup(result: Any, path: str) -> Any:
    """The value at a dotted path (decimal segments index lists); None when it is not there."""
    value = result
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part, _MISSING)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            value = _MISSING
        if value is _MISSING:
            return None
    return value


def number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def equal(expected: Any, actual: Any) -> bool:
    """Structural equality; numbers numerically (int64 may be strings); null equals a default."""
    if actual is None:
        return expected is None or any(expected == d and type(expected) is type(d) for d in _DEFAULTS)
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    if isinstance(expected, int | float) and not isinstance(expected, bool):
        got = number(actual)
        return got is not None and math.isclose(float(expected), got)
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(equal(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(equal(e, x) for e, x in zip(expected, actual, strict=True))
    return expected == actual


def _bound(name: str, ok: Callable[[float, float], bool]) -> Callable[[dict, dict, Callable], None]:
    def check(result: dict, wanted: dict, resolve: Callable[[Any], Any]) -> None:
        for key, value in wanted.items():
            got, limit = number(lookup(result, key)), number(resolve(value))
            if got is None or limit is None or not ok(got, limit):
                raise AssertionError(f"{key} = {lookup(result, key)!r}, expected {name} {limit!r}")

    return check


at_least = _bound("at least", lambda got, limit: got >= limit)
at_most = _bound("at most", lambda got, limit: got <= limit)


def check_step(step: dict[str, Any], result: dict[str, Any], resolve: Callable[[Any], Any]) -> None:
    """Raises AssertionError naming the first expectation the result does not meet."""
    for key, value in step.get("expect", {}).items():
        wanted = resolve(value)
        if not equal(wanted, lookup(result, key)):
            raise AssertionError(f"{key} = {lookup(result, key)!r}, expected {wanted!r}")
    for key, value in step.get("expect_not", {}).items():
        if equal(resolve(value), lookup(result, key)):
            raise AssertionError(f"{key} should differ from {resolve(value)!r}")
    at_least(result, step.get("expect_at_least", {}), resolve)
    at_most(result, step.get("expect_at_most", {}), resolve)


def check_error(step: dict[str, Any], error: dict[str, Any], resolve: Callable[[Any], Any]) -> None:
    """The error result against expect_error (code and reason only when given) and the bounds."""
    for key, value in step["expect_error"].items():
        if not equal(resolve(value), error.get(key)):
            raise AssertionError(f"unexpected error {error['code']}/{error['reason']}: {error.get('message', '')}")
    at_least(error, step.get("expect_at_least", {}), resolve)
    at_most(error, step.get("expect_at_most", {}), resolve)
