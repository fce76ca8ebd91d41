"""Storage backends behind one protocol."""

from .base import COLUMN_FAMILIES, Storage, WriteBatch, prefix_end
from .build import build_storage

__all__ = ["COLUMN_FAMILIES", "Storage", "WriteBatch", "build_storage", "prefix_end"]
