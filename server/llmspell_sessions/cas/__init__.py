"""The content store: chunk records, reference counts, garbage collection; the hot path feeds it."""

from .pipeline import ChunkBatch, PreparedChunk, prepare_chunks
from .store import ChunkRecord, ContentStore

__all__ = ["ChunkBatch", "ChunkRecord", "ContentStore", "PreparedChunk", "prepare_chunks"]
