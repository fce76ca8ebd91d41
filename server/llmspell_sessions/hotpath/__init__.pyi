"""Type stub of the hot path: the same public API whichever twin (native or pure) is selected."""

from typing import Final, Literal, NamedTuple

from typing_extensions import Buffer

IMPLEMENTATION: Final[Literal["native", "pure"]]
GEAR_TABLE_ID: Final[str]
MIN_SIZE: Final[int]
AVG_SIZE: Final[int]
MAX_SIZE: Final[int]
SIZE_LIMIT: Final[int]
CHUNKING: Final[dict[str, str | int]]
MASKS: Final[tuple[int, ...]]

class ChunkParams(NamedTuple):
    """Validated chunk sizes with the masks derived from avg_size."""

    min_size: int
    avg_size: int
    max_size: int
    mask_s: int
    mask_l: int

def mask_bits(avg_size: int) -> int:
    """``round(log2(avg_size))``, computed exactly with integers."""

def chunk_params(min_size: int = ..., avg_size: int = ..., max_size: int = ...) -> ChunkParams:
    """Checks the sizes and derives the masks; raises ValueError (TypeError for non-ints)."""

def chunk_cuts(
    data: Buffer,
    min_size: int = ...,
    avg_size: int = ...,
    max_size: int = ...,
    final: bool = ...,
) -> list[int]:
    """End offsets of the content-defined chunks of ``data``, ascending."""

class StreamChunker:
    """Splits a stream fed in pieces into the same chunks as ``chunk_cuts`` of the whole."""

    def __init__(self, min_size: int = ..., avg_size: int = ..., max_size: int = ...) -> None: ...
    def feed(self, data: Buffer) -> list[memoryview]:
        """Adds ``data`` to the stream; returns the chunks that are now complete."""

    def finish(self) -> list[memoryview]:
        """Ends the stream: returns the remaining chunks and resets the chunker."""

__all__ = [
    "AVG_SIZE",
    "CHUNKING",
    "GEAR_TABLE_ID",
    "IMPLEMENTATION",
    "MASKS",
    "MAX_SIZE",
    "MIN_SIZE",
    "ChunkParams",
    "StreamChunker",
    "chunk_cuts",
    "chunk_params",
    "mask_bits",
]
