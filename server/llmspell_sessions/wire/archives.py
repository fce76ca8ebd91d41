"""Archive messages: ImportReport <-> ImportSessionsResponse, and archive bytes <-> ArchivePart."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from .._pb import session_pb2
from ..model import ImportReport

ARCHIVE_PART_BYTES = 1024 * 1024  # under every client's 4 MiB receive limit


def import_report_to_pb(report: ImportReport) -> session_pb2.ImportSessionsResponse:
    return session_pb2.ImportSessionsResponse(
        imported_session_ids=report.imported,
        skipped_session_ids=report.skipped,
        chunks_stored=report.chunks_stored,
        bytes_stored=report.bytes_stored,
    )


def import_report_from_pb(pb: session_pb2.ImportSessionsResponse) -> ImportReport:
    return ImportReport(list(pb.imported_session_ids), list(pb.skipped_session_ids), pb.chunks_stored, pb.bytes_stored)


def archive_parts(source: BinaryIO) -> Iterator[session_pb2.ArchivePart]:
    """The file's bytes as ArchivePart messages of ARCHIVE_PART_BYTES."""
    while data := source.read(ARCHIVE_PART_BYTES):
        yield session_pb2.ArchivePart(data=data)
