"""Artifacts: records and uploads, client-side chunking, and reads."""

from .chunks import ChunkStaging, ChunkUploads
from .progress import SessionReader, UploadProgress
from .queries import ArtifactQueries
from .store import ArtifactStore
from .upload import ArtifactUpload

__all__ = [
    "ArtifactQueries",
    "ArtifactStore",
    "ArtifactUpload",
    "ChunkStaging",
    "ChunkUploads",
    "SessionReader",
    "UploadProgress",
]
