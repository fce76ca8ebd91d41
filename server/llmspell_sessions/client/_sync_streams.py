"""Streaming artifact calls of the blocking client: uploads from files or iterables, downloads."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import grpc

from .._pb import artifact_pb2, session_pb2
from ..model import Artifact, ArtifactType, RemoteFile, UploadHeader
from ..wire import artifact_from_pb
from ..wire.raw import data_of
from ._artifact_api import make_header
from ._calls import download_call, upload_call
from .errors import error_from_rpc
from .transfer import (
    DEDUP_MIN_BYTES,
    Progress,
    VerifiedFile,
    chunk_messages,
    plan_chunks,
    read_file,
    upload_requests,
)


class SyncStreams:
    """Mixed into SessionClient: needs ``stub()``, ``channel``, ``_call``, ``timeout`` and ``options``."""

    def _stream_call(self, method: str, request: Any, timeout: float | None = None) -> Any:
        call = getattr(self.stub("artifact"), method)  # type: ignore[attr-defined]
        try:
            return call(request, timeout=timeout, metadata=self.options.metadata())  # type: ignore[attr-defined]
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from None

    def backup_store(self, known: Mapping[str, int] | None = None) -> Iterator[RemoteFile | bytes]:
        """Operators only: the store's files as BackupStore streams them, a RemoteFile before each
        file's bytes; files in ``known`` ({path: size}, an earlier backup's) may come as reused."""
        request = session_pb2.BackupStoreRequest(
            known_files=[session_pb2.BackupFile(path=p, size=s) for p, s in (known or {}).items()]
        )
        call = self.stub("session").BackupStore  # type: ignore[attr-defined]
        try:
            for part in call(request, metadata=self.options.metadata()):  # type: ignore[attr-defined]
                kind = part.WhichOneof("kind")
                if kind == "data":
                    yield part.data
                else:
                    entry = getattr(part, kind)
                    yield RemoteFile(entry.path, entry.size, reused=kind == "reused")
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from None

    def upload_artifact(self, header: UploadHeader, source: Iterable[bytes]) -> Artifact:
        """Streams the source's byte strings (1 MiB each is best) as one artifact."""
        try:
            response = upload_call(self.channel)(  # type: ignore[attr-defined]
                upload_requests(header, iter(source)),
                metadata=self.options.metadata(),  # type: ignore[attr-defined]
            )
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from None
        return artifact_from_pb(response)

    def upload_file(
        self,
        session_id: str,
        path: str | os.PathLike[str],
        name: str = "",
        artifact_type: ArtifactType = ArtifactType.USER_INPUT,
        *,
        dedup: bool = True,
        progress: Progress | None = None,
        **fields: Any,
    ) -> Artifact:
        """Uploads a file. Large files are chunked here like the server does, and only the chunks the
        server lacks are sent, so re-uploading an edited file sends little more than the edits."""
        path = Path(path)
        header = make_header(session_id, name or path.name, artifact_type, **fields)
        header.expected_size = os.path.getsize(path)
        if dedup and header.expected_size >= DEDUP_MIN_BYTES and not header.upload_id:
            plan = plan_chunks(path)
            missing = set(self.find_missing_chunks([d for d, _, _ in plan.chunks]))  # type: ignore[attr-defined]
            wanted = [c for c in plan.chunks if c[0] in missing]
            wanted = list({c[0]: c for c in wanted}.values())
            if wanted:
                self._stream_call("UploadChunks", chunk_messages(path, wanted, progress))
            chunks = [(d, n) for d, _, n in plan.chunks]
            return self.commit_artifact(header, chunks, plan.content_digest)  # type: ignore[attr-defined]
        offset = header.write_offset
        return self.upload_artifact(header, read_file(path, offset, progress))

    def download_artifact(
        self, artifact_id: str = "", offset: int = 0, limit: int = 0, *, session_id: str = "", name: str = "",
        version: int = 0,
    ) -> tuple[Artifact, Iterator[bytes]]:  # fmt: skip
        """Metadata and an iterator over the bytes, as the server streams them, of an artifact named
        by id, or by session, name and version (0 = latest)."""
        request = artifact_pb2.DownloadArtifactRequest(
            artifact_id=artifact_id, offset=offset, limit=limit, session_id=session_id, name=name, version=version
        )
        stream = download_call(self.channel)(request, metadata=self.options.metadata())  # type: ignore[attr-defined]
        try:
            first = next(stream)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from None

        def data() -> Iterator[bytes]:
            try:
                for message in stream:
                    yield data_of(message)
            except grpc.RpcError as exc:
                raise error_from_rpc(exc) from None

        return artifact_from_pb(first.artifact), data()

    def get_artifact(
        self, session_id: str, artifact_id: str = "", *, name: str = "", version: int = 0
    ) -> tuple[Artifact, bytes]:
        """An artifact with all its bytes, by id or by name and version (0 = latest): one call."""
        artifact, pieces = self.download_artifact(artifact_id, session_id=session_id, name=name, version=version)
        if artifact.session_id != session_id:
            from ..errors import ArtifactNotFound

            raise ArtifactNotFound(f"artifact {artifact.artifact_id} is not in session {session_id}")
        return artifact, b"".join(pieces)

    def download_file(
        self, artifact_id: str, path: str | os.PathLike[str], progress: Progress | None = None
    ) -> Artifact:
        """Writes the artifact to path (via a temporary file) and checks its BLAKE3 digest."""
        artifact, pieces = self.download_artifact(artifact_id)
        target = VerifiedFile(path, artifact, progress)
        for data in pieces:
            target.write(data)
        return target.finish()
