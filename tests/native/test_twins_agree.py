"""The native and pure-Python twins compute the same cuts on the same inputs."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from llmspell_sessions.hotpath import chunk_params

RandomBytes = Callable[[int, int], bytes]
AGREE = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def sizes(draw: st.DrawFn) -> tuple[int, int, int]:
    """Small (min, avg, max) sizes, so the slow pure twin stays quick."""
    min_size = draw(st.integers(64, 1024))
    avg_size = draw(st.integers(min_size, 4096))
    max_size = draw(st.integers(avg_size, 8192))
    return min_size, avg_size, max_size


@st.composite
def contents(draw: st.DrawFn, sizes: tuple[int, int, int]) -> bytes:
    """Random, constant or periodic data, often of a length near min, avg or max."""
    near = draw(st.sampled_from([*sizes, 2 * sizes[2], 0]))
    length = draw(st.one_of(st.integers(max(0, near - 2), near + 2), st.integers(0, 20000)))
    kind = draw(st.sampled_from(["random", "zeros", "same", "periodic"]))
    if kind == "random":
        return draw(st.randoms(use_true_random=False)).randbytes(length)
    if kind == "periodic":
        period = draw(st.binary(min_size=1, max_size=300))
        return (period * (length // len(period) + 1))[:length]
    return bytes([0 if kind == "zeros" else draw(st.integers(0, 255))]) * length


def assert_agree(native: ModuleType, pure: ModuleType, data: bytes, sizes: tuple[int, int, int]) -> None:
    """Both twins give the same cuts, final and streaming."""
    params = chunk_params(*sizes)
    for final in (True, False):
        assert native.find_cuts(data, *params, final) == pure.find_cuts(memoryview(data), *params, final)


@AGREE
@given(data=st.data())
def test_twins_agree_on_small_sizes(native: ModuleType, pure: ModuleType, data: st.DataObject) -> None:
    chosen = data.draw(sizes())
    assert_agree(native, pure, data.draw(contents(chosen)), chosen)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32), avg_size=st.integers(64, 2048), length=st.integers(16384, 131072))
def test_twins_agree_when_lanes_find_many_matches(
    native: ModuleType, pure: ModuleType, random_bytes: RandomBytes, seed: int, avg_size: int, length: int
) -> None:
    # A large max with a small avg: frequent matches deep inside the native kernel's two-lane blocks.
    assert_agree(native, pure, random_bytes(seed, length), (64, avg_size, 1 << 20))


@pytest.mark.parametrize("length", [262143, 262144, 262145, 2 << 20])
def test_twins_agree_on_default_sizes(
    native: ModuleType, pure: ModuleType, random_bytes: RandomBytes, length: int
) -> None:
    assert_agree(native, pure, random_bytes(length, length), (16384, 65536, 262144))


@pytest.mark.parametrize("fill", [0, 0xFF, 0x5A])
def test_twins_agree_on_constant_data(native: ModuleType, pure: ModuleType, fill: int) -> None:
    assert_agree(native, pure, bytes([fill]) * 700001, (16384, 65536, 262144))
