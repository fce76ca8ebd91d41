"""Behaviour of the public chunker API (``llmspell_sessions.hotpath``), run on each twin."""

from __future__ import annotations

import array
import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from blake3 import blake3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from llmspell_sessions import hotpath
from llmspell_sessions.hotpath import StreamChunker, chunk_cuts, chunk_params

ROOT = Path(__file__).resolve().parents[2]
VECTORS = json.loads((ROOT / "tests" / "vectors" / "chunking.json").read_text())["vectors"]
RandomBytes = Callable[[int, int], bytes]
SMALL = (64, 256, 1024)
PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def vector_input(vector: dict) -> bytes:
    """The input bytes of a golden vector (rule in native/gen_vectors.py)."""
    if vector["input"] == "zeros":
        return bytes(vector["length"])
    return blake3(vector["seed"].encode()).digest(length=vector["length"])


def sizes_of(vector: dict) -> tuple[int, int, int]:
    """The (min_size, avg_size, max_size) of a golden vector."""
    return vector["min_size"], vector["avg_size"], vector["max_size"]


def chunk_lengths(cuts: list[int]) -> list[int]:
    """Chunk lengths from end offsets."""
    return [end - start for start, end in zip([0, *cuts], cuts, strict=False)]


def load_generator(name: str) -> ModuleType:
    """A generator script of native/ as a module."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "native" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_golden_vectors_match(twin: ModuleType, vector: dict) -> None:
    data = vector_input(vector)
    assert blake3(data).hexdigest() == vector["content_blake3"]
    cuts = chunk_cuts(data, *sizes_of(vector))
    assert cuts == vector["cuts"]
    starts = [0, *cuts][: len(cuts)]
    assert [blake3(data[s:e]).hexdigest() for s, e in zip(starts, cuts, strict=True)] == vector["chunk_blake3"]


def test_vectors_record_the_derived_masks() -> None:
    for vector in VECTORS:
        params = hotpath.chunk_params(*sizes_of(vector))
        assert (f"{params.mask_s:016x}", f"{params.mask_l:016x}") == (vector["mask_s"], vector["mask_l"])


def test_default_masks_are_the_documented_ones() -> None:
    params = hotpath.chunk_params()
    assert (params.mask_s, params.mask_l) == (0x0000D90703537000, 0x0000D90F03530000)
    assert [bin(m).count("1") for m in hotpath.MASKS[5:]] == list(range(5, 26))


@pytest.mark.parametrize(
    ("avg", "bits"), [(64, 6), (90, 6), (91, 7), (3000, 12), (65536, 16), (92681, 16), (92682, 17)]
)
def test_mask_bits_rounds_log2(avg: int, bits: int) -> None:
    assert hotpath.mask_bits(avg) == bits


def test_generated_files_are_fresh() -> None:
    assert load_generator("gen_gear_table").main(["--check"]) == 0
    assert load_generator("gen_vectors").main(["--check"]) == 0


def test_gear_table_follows_its_rule() -> None:
    from llmspell_sessions.hotpath._gear import GEAR

    domain = b"llmspell-sessions/gear/v1"
    expected = [int.from_bytes(blake3(domain + bytes([i])).digest()[:8], "little") for i in range(256)]
    assert list(GEAR) == expected
    shared = json.loads((ROOT / "tests" / "vectors" / "gear_table.json").read_text())
    assert shared["id"] == hotpath.GEAR_TABLE_ID == "llmspell-gear-v1"
    assert [int(h, 16) for h in shared["table"]] == expected


def test_chunking_parameters_are_published() -> None:
    assert hotpath.CHUNKING == {
        "algorithm": "fastcdc-2020",
        "min_size": 16384,
        "avg_size": 65536,
        "max_size": 262144,
        "gear_table": "llmspell-gear-v1",
        "normalization": 1,
    }


def test_empty_data_has_no_chunks(twin: ModuleType) -> None:
    assert chunk_cuts(b"") == []
    assert chunk_cuts(b"", final=False) == []
    chunker = StreamChunker()
    assert chunker.feed(b"") == [] and chunker.finish() == []


def test_any_contiguous_buffer_is_accepted(random_bytes: RandomBytes, twin: ModuleType) -> None:
    data = random_bytes(1, 20000)
    expected = chunk_cuts(data, *SMALL)
    padded = b"xx" + data
    assert chunk_cuts(bytearray(data), *SMALL) == expected
    assert chunk_cuts(memoryview(padded)[2:], *SMALL) == expected
    assert chunk_cuts(array.array("I", data), *SMALL) == expected


@pytest.mark.parametrize("bad", ["text", 12345, memoryview(bytes(100))[::2]])
def test_non_buffers_are_rejected(twin: ModuleType, bad: object) -> None:
    with pytest.raises(TypeError):
        chunk_cuts(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("sizes", "message"),
    [
        ((63, 256, 1024), "min_size must be >= 64"),
        ((4096, 1024, 8192), "min_size <= avg_size <= max_size"),
        ((64, 8192, 4096), "min_size <= avg_size <= max_size"),
        ((8192, 8192, 4096), "min_size <= avg_size <= max_size"),
        ((64, 256, 16 * 1024 * 1024 + 1), "max_size must be <= 16777216"),
    ],
)
def test_bad_sizes_raise_value_error(twin: ModuleType, sizes: tuple[int, int, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        chunk_cuts(b"abc", *sizes)
    with pytest.raises(ValueError, match=message):
        StreamChunker(*sizes)


@pytest.mark.parametrize("bad", [1024.0, "1024", True, None])
def test_non_int_sizes_raise_type_error(twin: ModuleType, bad: object) -> None:
    with pytest.raises(TypeError, match="max_size must be an int"):
        chunk_cuts(b"abc", 64, 256, bad)  # type: ignore[arg-type]


@PROPERTY
@given(seed=st.integers(0, 2**32), length=st.integers(0, 12000), fill=st.sampled_from([None, 0, 7]))
def test_chunk_sizes_stay_within_bounds(
    random_bytes: RandomBytes, twin: ModuleType, seed: int, length: int, fill: int | None
) -> None:
    data = random_bytes(seed, length) if fill is None else bytes([fill]) * length
    cuts = chunk_cuts(data, *SMALL)
    lengths = chunk_lengths(cuts)
    assert sum(lengths) == length and cuts == sorted(cuts)
    assert all(SMALL[0] <= n <= SMALL[2] for n in lengths[:-1])
    assert all(0 < n <= SMALL[2] for n in lengths[-1:])


def test_default_chunk_sizes_stay_within_bounds(random_bytes: RandomBytes, native: ModuleType) -> None:
    lengths = chunk_lengths(hotpath.chunk_cuts(random_bytes(2, 8 << 20)))
    assert all(16384 <= n <= 262144 for n in lengths[:-1])
    assert 40 < len(lengths) < 512  # about one chunk per 64-128 KiB, not degenerate


@PROPERTY
@given(seed=st.integers(0, 2**32), length=st.integers(0, 12000))
def test_streaming_cuts_are_a_certain_prefix(
    random_bytes: RandomBytes, twin: ModuleType, seed: int, length: int
) -> None:
    data = random_bytes(seed, length)
    final = chunk_cuts(data, *SMALL)
    partial = chunk_cuts(data, *SMALL, final=False)
    assert partial == final[: len(partial)]
    assert len(final) - len(partial) <= 1
    assert length - (partial[-1] if partial else 0) < SMALL[2]


@PROPERTY
@given(
    seed=st.integers(0, 2**32),
    length=st.integers(0, 12000),
    splits=st.lists(st.integers(0, 12000) | st.integers(0, 12).map(lambda k: k * SMALL[2]), max_size=12),
    zeros=st.booleans(),
)
def test_stream_chunker_matches_chunk_cuts(
    random_bytes: RandomBytes, twin: ModuleType, seed: int, length: int, splits: list[int], zeros: bool
) -> None:
    data = bytes(length) if zeros else random_bytes(seed, length)
    chunker = StreamChunker(*SMALL)
    edges = [0, *sorted(s % (length + 1) for s in splits), length]
    chunks = [c for a, b in zip(edges, edges[1:], strict=False) for c in chunker.feed(bytearray(data[a:b]))]
    chunks += chunker.finish()
    assert b"".join(chunks) == data
    assert chunk_lengths(chunk_cuts(data, *SMALL)) == [len(c) for c in chunks]


def test_stream_chunker_matches_on_upload_sized_messages(random_bytes: RandomBytes, native: ModuleType) -> None:
    data = random_bytes(3, 6 << 20)
    chunker = StreamChunker()
    offset, lengths = 0, []
    for size in [1, 100, 16384, 65536, 1 << 20, 300000, 7, 2 << 20, 1 << 20] * 2:
        lengths += [len(c) for c in chunker.feed(data[offset : offset + size])]
        offset += size
    lengths += [len(c) for c in chunker.feed(data[offset:])] + [len(c) for c in chunker.finish()]
    assert lengths == chunk_lengths(chunk_cuts(data))


def test_stream_chunker_copies_the_tail_it_keeps(twin: ModuleType, random_bytes: RandomBytes) -> None:
    original = random_bytes(4, 3000)
    buffer = bytearray(original)
    chunker = StreamChunker(*SMALL)
    kept = [bytes(c) for c in chunker.feed(buffer)]
    buffer[:] = bytes(len(buffer))  # the caller reuses its buffer
    assert b"".join([*kept, *chunker.finish()]) == original


@pytest.mark.parametrize("pieces", [[1000, 24, 1024, 2048], [1024, 1024, 2048], [4095, 1], [1, 1023, 0, 3072]])
def test_stream_chunker_handles_pieces_ending_on_forced_cuts(twin: ModuleType, pieces: list[int]) -> None:
    data = bytes(sum(pieces))  # zeros never match the masks: every cut is forced at max_size
    chunker = StreamChunker(*SMALL)
    offset, lengths = 0, []
    for size in pieces:
        lengths += [len(c) for c in chunker.feed(data[offset : offset + size])]
        offset += size
    lengths += [len(c) for c in chunker.finish()]
    assert lengths == chunk_lengths(chunk_cuts(data, *SMALL)) == [1024] * 4


def _common_suffix_start(cuts: list[int], edited: list[int], position: int, inserted: int) -> tuple[int, int]:
    """Indexes in ``cuts`` and ``edited`` (cuts after the edit) from which both agree, shifted."""
    after = [c for c in cuts if c > position]
    shifted = [c - inserted for c in edited if c > position + inserted]
    first = min(set(after) & set(shifted))
    i, j = after.index(first), shifted.index(first)
    assert after[i:] == shifted[j:]
    return i, j


@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(seed=st.integers(0, 2**32), position=st.integers(0, 65536), inserted=st.binary(min_size=1, max_size=64))
def test_edits_near_the_start_leave_later_chunks_unchanged(
    random_bytes: RandomBytes, twin: ModuleType, seed: int, position: int, inserted: bytes
) -> None:
    # Small sizes for the slow pure twin; 4 MiB at the default sizes for the native one.
    length, sizes = ((4 << 20), ()) if twin.__name__.endswith("_native") else (96 << 10, SMALL)
    data = random_bytes(seed, length)
    position %= length // 16
    edited = data[:position] + inserted + data[position:]
    cuts, edited_cuts = chunk_cuts(data, *sizes), chunk_cuts(edited, *sizes)
    assert len(cuts) > 20
    assert max(_common_suffix_start(cuts, edited_cuts, position, len(inserted))) <= 4


def _run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LLMSPELL_SESSIONS_")}
    # The same package as this process imported, whether installed or from the source tree.
    package_root = Path(hotpath.__file__).resolve().parents[2]
    environ["PYTHONPATH"] = os.pathsep.join([str(package_root), environ.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-c", code], env={**environ, **env}, capture_output=True, text=True, timeout=60
    )


def test_pure_mode_can_be_forced_by_env() -> None:
    code = "from llmspell_sessions import hotpath; print(hotpath.IMPLEMENTATION, hotpath._impl.__name__)"
    result = _run_python(code, LLMSPELL_SESSIONS_PURE="1", LLMSPELL_SESSIONS_REQUIRE_NATIVE="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["pure", "llmspell_sessions.hotpath._pure"]


_BLOCK_NATIVE = "import sys; sys.modules['llmspell_sessions.hotpath._native'] = None; "


def test_missing_native_falls_back_to_pure() -> None:
    result = _run_python(_BLOCK_NATIVE + "from llmspell_sessions import hotpath; print(hotpath.IMPLEMENTATION)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "pure"


def test_missing_native_fails_when_required() -> None:
    result = _run_python(_BLOCK_NATIVE + "import llmspell_sessions.hotpath", LLMSPELL_SESSIONS_REQUIRE_NATIVE="1")
    assert result.returncode != 0
    assert "LLMSPELL_SESSIONS_REQUIRE_NATIVE=1" in result.stderr


def test_native_is_selected_when_built(native: ModuleType) -> None:
    result = _run_python("from llmspell_sessions import hotpath; print(hotpath.IMPLEMENTATION)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "native"


@pytest.mark.parametrize(("sizes", "length"), [((16384, 65536, 262144), 3 << 20), ((64, 256, 1024), 50000)])
def test_algorithm_is_fastcdc_2020_given_the_same_gear_table(
    pure: ModuleType,
    random_bytes: RandomBytes,
    monkeypatch: pytest.MonkeyPatch,
    sizes: tuple[int, int, int],
    length: int,
) -> None:
    # pyfastcdc implements FastCDC 2020 (as the fastcdc crate's v2020) with its own gear table.
    reference = pytest.importorskip("pyfastcdc")
    constants = pytest.importorskip("pyfastcdc.py.constants")
    assert list(constants.MASKS) == list(hotpath.MASKS)
    monkeypatch.setattr(pure, "GEAR", tuple(constants.GEAR))
    data = random_bytes(5, length)
    min_size, avg_size, max_size = sizes
    theirs = reference.FastCDC(avg_size, min_size=min_size, max_size=max_size, normalized_chunking=1).cut_buf(data)
    assert pure.find_cuts(memoryview(data), *chunk_params(*sizes), True) == [c.offset + c.length for c in theirs]
