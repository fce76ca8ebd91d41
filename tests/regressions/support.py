"""Helpers shared by the regression tests: content-defined chunk plans, raw chunk uploads, error codes."""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypeVar

import grpc
from blake3 import blake3
from llmspell_sessions import hotpath
from llmspell_sessions._pb import artifact_pb2, common_pb2
from llmspell_sessions.client import SessionClient
from llmspell_sessions.client._calls import replay_call
from llmspell_sessions.client._replay_api import Replay
from llmspell_sessions.client.errors import error_from_rpc
from llmspell_sessions.errors import LlmspellError
from llmspell_sessions.model import ReplayStart, UploadHeader

T = TypeVar("T")
KiB = 1024
MiB = 1024 * KiB


def chunk_plan(content: bytes) -> list[tuple[str, int]]:
    """(digest hex, size) of each chunk, cut exactly as the server cuts (FastCDC, BLAKE3)."""
    view = memoryview(content)
    plan, start = [], 0
    for end in hotpath.chunk_cuts(view):
        plan.append((blake3(view[start:end]).hexdigest(), end - start))
        start = end
    return plan


def chunk_pieces(content: bytes) -> list[tuple[str, bytes]]:
    """(digest hex, bytes) of each chunk of content."""
    pieces, start = [], 0
    for digest, size in chunk_plan(content):
        pieces.append((digest, content[start : start + size]))
        start += size
    return pieces


def cut_positions(content: bytes) -> set[int]:
    """Offsets where a chunk of content ends (the end of the content included)."""
    return set(hotpath.chunk_cuts(memoryview(content)))


def content_with_tail(prefix_at_least: int, tail_size: int) -> tuple[bytes, bytes]:
    """(content, tail): random bytes then a compressible tail that is exactly the content's last chunk.

    FastCDC decides a cut after hashing the byte that follows it, so the tail starts with the byte
    that followed the cut in the random data; the rest of the tail repeats another byte value, so
    every tail built here compresses to the same size whatever its first byte.
    """
    assert tail_size < 16 * KiB  # below min_size: the tail holds no cut of its own
    data = os.urandom(prefix_at_least + 600 * KiB)
    cut = min(c for c in hotpath.chunk_cuts(memoryview(data)) if c >= prefix_at_least)
    first = data[cut]
    tail = bytes([first]) + bytes([(first + 1) % 256]) * (tail_size - 1)
    content = data[:cut] + tail
    assert chunk_plan(content)[-1] == (digest(tail), tail_size)
    return content, tail


def digest(data: bytes) -> str:
    return blake3(data).hexdigest()


def upload_chunks(client: SessionClient, pieces: Sequence[tuple[str, bytes]]) -> tuple[int, int]:
    """UploadChunks over the raw stub: (stored_chunks, stored_bytes), or the server's error raised."""
    requests = iter([artifact_pb2.UploadChunksRequest(digest=d, data=b) for d, b in pieces])
    try:
        response = client.stub("artifact").UploadChunks(requests, timeout=30, metadata=client.options.metadata())
    except grpc.RpcError as exc:
        raise error_from_rpc(exc) from None
    return response.stored_chunks, response.stored_bytes


def header_to_pb(header: UploadHeader) -> artifact_pb2.UploadHeader:
    """The UploadHeader fields these tests use, as the wire message (raw-stub calls need it)."""
    return artifact_pb2.UploadHeader(
        session_id=header.session_id,
        name=header.name,
        upload_id=header.upload_id,
        write_offset=header.write_offset,
        request_id=header.request_id,
    )


def open_replay(client: SessionClient, start: ReplayStart, timeout: float = 20.0) -> Replay:
    """A ReplaySession like client.replay_session, but with a deadline so a stuck stream cannot hang."""
    replay = Replay(start)
    replay.call = replay_call(client.channel)(
        iter(replay.outbox.get, None), metadata=client.options.metadata(), timeout=timeout
    )
    return replay


class StreamReader:
    """Drains a blocking stream on a thread: what it delivered, and the error it ended with."""

    def __init__(self, stream: Iterable[T]) -> None:
        self.items: list[T] = []
        self.error: LlmspellError | None = None
        self._stream = stream
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for item in self._stream:
                self.items.append(item)
        except LlmspellError as exc:
            self.error = exc

    def wait_for(self, predicate: Callable[[list[T]], bool], timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.items):
                return True
            if not self._thread.is_alive():
                return predicate(self.items)
            time.sleep(0.01)
        return False

    def join(self, timeout: float) -> bool:
        """True when the stream ended within timeout."""
        self._thread.join(timeout)
        return not self._thread.is_alive()


class InFlightUpload:
    """An UploadArtifact stream the test feeds message by message, left open until finish() or cancel()."""

    def __init__(self, client: SessionClient, header: UploadHeader, timeout: float = 60.0) -> None:
        self._outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self.pulled = 0  # data messages gRPC has taken from the outbox
        self._future = client.stub("artifact").UploadArtifact.future(
            self._messages(header_to_pb(header)), metadata=client.options.metadata(), timeout=timeout
        )

    def _messages(self, header: artifact_pb2.UploadHeader) -> Iterator[artifact_pb2.UploadArtifactRequest]:
        yield artifact_pb2.UploadArtifactRequest(header=header)
        while (data := self._outbox.get()) is not None:
            self.pulled += 1
            yield artifact_pb2.UploadArtifactRequest(data=data)

    def send(self, data: bytes, piece: int = 256 * KiB) -> int:
        """Queues data in pieces; returns how many messages were queued."""
        count = 0
        for start in range(0, len(data), piece):
            self._outbox.put(data[start : start + piece])
            count += 1
        return count

    def wait_pulled(self, count: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self.pulled < count:
            assert time.monotonic() < deadline, f"only {self.pulled} of {count} messages left the client"
            time.sleep(0.01)

    def finish(self) -> common_pb2.Artifact:
        """Half-closes the stream and returns the artifact message, or raises the server's error."""
        self._outbox.put(None)
        try:
            return self._future.result()
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from None

    def cancel(self) -> None:
        self._future.cancel()
        self._outbox.put(None)


def wait_for_committed(client: SessionClient, upload_id: str, timeout: float = 10.0) -> int:
    """Polls QueryUploadStatus until the server reports progress; returns committed_size (0 if none came)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            committed = int(client.query_upload_status(upload_id).committed_size)
        except LlmspellError as exc:
            if exc.reason != "UPLOAD_NOT_FOUND":
                raise
            committed = 0
        if committed > 0 or time.monotonic() > deadline:
            return committed
        time.sleep(0.05)
