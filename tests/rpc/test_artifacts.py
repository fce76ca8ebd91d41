"""ArtifactService against the real server: round trips, compression, dedup, versions, limits, streams."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from blake3 import blake3
from llmspell_sessions import ArtifactType
from llmspell_sessions._pb import artifact_pb2
from llmspell_sessions.client import SessionClient
from llmspell_sessions.client.transfer import upload_messages
from llmspell_sessions.errors import (
    ArtifactNotFound,
    IntegrityError,
    InvalidArgument,
    LlmspellError,
    MissingChunks,
    ResourceExhausted,
    SessionNotActive,
    UploadNotFound,
)
from llmspell_sessions.model import UploadHeader

from tests.helpers.server import ServerProcess

MiB = 1024 * 1024


def json_like(size: int) -> bytes:
    line = b'{"role": "assistant", "content": "The tool returned 42 results", "tokens": 1234},\n'
    return (line * (size // len(line) + 1))[:size]


def pieces(data: bytes, size: int = MiB) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


@pytest.mark.parametrize("size", [0, 1, 10239, 10240, 10241, 300_000])
@pytest.mark.parametrize("kind", ["random", "json"])
def test_round_trip_sizes(client: SessionClient, size: int, kind: str) -> None:
    data = os.urandom(size) if kind == "random" else json_like(size)
    sid = client.create_session()
    artifact = client.upload_artifact(UploadHeader(sid, f"{kind}-{size}"), pieces(data))
    assert artifact.size == size and artifact.content_digest == blake3(data).hexdigest()
    assert artifact.chunk_count == (0 if size == 0 else max(1, artifact.chunk_count))
    # only artifacts above the threshold are compressed, and only when it pays
    assert artifact.compressed == (kind == "json" and size > 10240)
    if artifact.compressed:
        assert artifact.stored_size < size / 5
    got, content = client.get_artifact(sid, artifact.artifact_id)
    assert content == data and got == artifact


@pytest.mark.parametrize("kind", ["random", "json"])
def test_ten_mib_round_trip_and_ranges(client: SessionClient, kind: str) -> None:
    data = os.urandom(10 * MiB) if kind == "random" else json_like(10 * MiB)
    sid = client.create_session()
    artifact = client.upload_artifact(UploadHeader(sid, "big", ArtifactType.TOOL_RESULT), pieces(data))
    assert artifact.chunk_count >= 40  # max 256 KiB chunks
    # JSON-like chunks repeat those of earlier tests on this shared server: only random ones are all new
    assert (
        artifact.new_bytes == artifact.stored_size if kind == "random" else artifact.new_bytes <= artifact.stored_size
    )
    _, content = client.get_artifact(sid, artifact.artifact_id)
    assert content == data
    for offset, limit in [(0, 1), (65535, 70000), (5 * MiB + 3, 0), (10 * MiB - 1, 10), (10 * MiB, 0)]:
        _, stream = client.download_artifact(artifact.artifact_id, offset, limit)
        end = len(data) if limit == 0 else offset + limit
        assert b"".join(stream) == data[offset:end]


def test_store_artifact_unary_and_versions(client: SessionClient) -> None:
    sid = client.create_session()
    first = client.store_artifact(sid, "notes.md", b"v1", mime_type="text/markdown", tags=["draft"])
    second = client.put_artifact(UploadHeader(sid, "notes.md"), b"v2")
    assert second.version == 2 and second.previous_digest == blake3(b"v1").hexdigest()
    assert client.get_artifact_info(session_id=sid, name="notes.md").artifact_id == second.artifact_id
    assert client.get_artifact_info(session_id=sid, name="notes.md", version=1).artifact_id == first
    assert client.get_artifact_info(first).mime_type == "text/markdown"
    session = client.get_session(sid)
    assert (session.artifact_count, session.artifact_bytes) == (2, 4)
    client.delete_artifact(second.artifact_id)
    third = client.put_artifact(UploadHeader(sid, "notes.md"), b"v3")
    assert third.version == 3  # versions never repeat
    assert third.previous_digest == blake3(b"v1").hexdigest()
    with pytest.raises(ArtifactNotFound):
        client.get_artifact_info(second.artifact_id)
    loaded = client.load_session(sid)
    assert [(a.name, a.version) for a in loaded.artifacts] == [("notes.md", 3)]


def test_identical_content_is_deduplicated_across_sessions_but_never_shares_ids(client: SessionClient) -> None:
    data = os.urandom(3 * MiB)
    a_session, b_session = client.create_session(), client.create_session()
    first = client.upload_artifact(UploadHeader(a_session, "x"), pieces(data))
    second = client.upload_artifact(UploadHeader(b_session, "y"), pieces(data))
    third = client.upload_artifact(UploadHeader(b_session, "z"), pieces(data))
    assert first.new_bytes == len(data)
    assert second.new_bytes == third.new_bytes == 0
    assert len({first.artifact_id, second.artifact_id, third.artifact_id}) == 3
    assert client.get_artifact(b_session, third.artifact_id)[1] == data
    client.delete_session(a_session)
    assert client.get_artifact(b_session, second.artifact_id)[1] == data
    stats = client.get_storage_stats(b_session)
    assert stats.artifact_count == 2 and stats.logical_bytes == 2 * len(data)
    assert stats.dedup_ratio == pytest.approx(2.0)


def test_names_are_keys_not_paths(client: SessionClient, shared_server: ServerProcess) -> None:
    sid = client.create_session()
    for name in ["../../escape.txt", "/etc/passwd", "a/b/c", "..", "名前.txt", "x" * 255]:
        artifact = client.put_artifact(UploadHeader(sid, name), b"content")
        assert client.get_artifact_info(session_id=sid, name=name).artifact_id == artifact.artifact_id
    assert not (shared_server.path.parent / "escape.txt").exists()
    for bad in ["", "x" * 256, "nul\x00", "line\nbreak"]:
        with pytest.raises(InvalidArgument):
            client.put_artifact(UploadHeader(sid, bad), b"x")


def test_expected_size_and_digest_mismatch_leaves_nothing(client: SessionClient) -> None:
    sid = client.create_session()
    with pytest.raises(IntegrityError) as caught:
        client.upload_artifact(UploadHeader(sid, "bad", expected_size=5), [b"1234"])
    assert caught.value.code == "INVALID_ARGUMENT"
    with pytest.raises(IntegrityError):
        client.upload_artifact(UploadHeader(sid, "bad", expected_digest=blake3(b"other").hexdigest()), [b"data"])
    ok = client.upload_artifact(
        UploadHeader(sid, "bad", expected_size=4, expected_digest=blake3(b"data").hexdigest()), [b"da", b"ta"]
    )
    assert ok.version == 1 and client.get_session(sid).artifact_count == 1


def test_only_active_sessions_accept_artifacts(client: SessionClient) -> None:
    sid = client.create_session()
    client.suspend_session(sid)
    with pytest.raises(SessionNotActive):
        client.store_artifact(sid, "late", b"x")


def test_size_limit_is_enforced_as_bytes_arrive(server_factory: Callable[..., ServerProcess]) -> None:
    server = server_factory(
        env={"LLMSPELL_SESSION_MAX_ARTIFACT_SIZE": str(2 * MiB), "LLMSPELL_SESSION_MAX_ARTIFACTS_PER_SESSION": "2"}
    )
    sent = []

    def endless() -> object:
        while True:
            sent.append(1)
            yield os.urandom(MiB)

    with SessionClient(server.address) as c:
        sid = c.create_session()
        with pytest.raises(ResourceExhausted) as caught:
            c.upload_artifact(UploadHeader(sid, "huge"), endless())
        assert caught.value.metadata["limit"] == "max_artifact_size"
        assert len(sent) < 40  # the server stopped the stream early instead of buffering it
        assert c.upload_artifact(UploadHeader(sid, "exact"), [os.urandom(2 * MiB)]).size == 2 * MiB
        c.store_artifact(sid, "second", b"x")
        with pytest.raises(ResourceExhausted) as caught:
            c.store_artifact(sid, "third", b"x")
        assert caught.value.metadata["limit"] == "max_artifacts_per_session"


def test_concurrent_uploads_of_the_same_content(client: SessionClient, shared_server: ServerProcess) -> None:
    data = os.urandom(6 * MiB)
    sid = client.create_session()
    results, errors = [], []

    def upload(i: int) -> None:
        try:
            with SessionClient(shared_server.address) as c:
                results.append(c.upload_artifact(UploadHeader(sid, f"same-{i}"), pieces(data)))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 4
    for artifact in results:
        assert client.get_artifact(sid, artifact.artifact_id)[1] == data
    stats = client.get_storage_stats(sid)
    assert stats.unique_chunks == results[0].chunk_count and stats.logical_bytes == 4 * len(data)


def test_list_artifacts_filters_and_paging(client: SessionClient) -> None:
    sid = client.create_session()
    for i in range(12):
        kind = ArtifactType.TOOL_RESULT if i % 2 else ArtifactType.AGENT_OUTPUT
        client.put_artifact(
            UploadHeader(sid, f"file-{i:02d}.txt", kind, tags=["even"] if i % 2 == 0 else [], mime_type="text/plain"),
            b"x" * (i + 1),
        )
    client.put_artifact(UploadHeader(sid, "file-00.txt"), b"new version")
    page = client.list_artifacts(sid, page_size=5, order_by="name")
    names = [a.name for a in page.items]
    assert names == [f"file-{i:02d}.txt" for i in range(5)] and page.total_size == 12
    assert page.items[0].version == 2
    rest = client.list_artifacts(sid, page_size=5, order_by="name", page_token=page.next_page_token)
    assert [a.name for a in rest.items] == [f"file-{i:02d}.txt" for i in range(5, 10)]
    assert client.list_artifacts(sid, all_versions=True).total_size == 13
    assert client.list_artifacts(sid, types=[ArtifactType.TOOL_RESULT]).total_size == 6
    assert client.list_artifacts(sid, tags=["even"]).total_size == 5  # file-00's latest has no tag
    assert client.list_artifacts(sid, name_pattern="file-1?.txt").total_size == 2
    assert client.list_artifacts(sid, min_size=5, max_size=8).total_size == 4
    biggest = client.list_artifacts(sid, order_by="size desc", page_size=1).items[0]
    assert biggest.size == 12
    with pytest.raises(InvalidArgument):
        client.list_artifacts(sid, order_by="color")
    with pytest.raises(InvalidArgument):
        client.list_artifacts(sid, page_token="junk")


def test_chunk_protocol(client: SessionClient) -> None:
    sid = client.create_session()
    chunk_a, chunk_b = os.urandom(70000), os.urandom(30000)
    digests = [blake3(chunk_a).hexdigest(), blake3(chunk_b).hexdigest()]
    assert client.find_missing_chunks(digests) == digests
    header = UploadHeader(sid, "assembled")
    whole = blake3(chunk_a + chunk_b).hexdigest()
    with pytest.raises(MissingChunks):
        client.commit_artifact(header, [(digests[0], len(chunk_a)), (digests[1], len(chunk_b))], whole)
    stub = client.stub("artifact")
    bad = iter([artifact_pb2.UploadChunksRequest(digest=digests[0], data=chunk_b)])
    with pytest.raises(grpc.RpcError) as caught:
        stub.UploadChunks(bad)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    good = iter(
        [artifact_pb2.UploadChunksRequest(digest=d, data=c) for d, c in zip(digests, [chunk_a, chunk_b], strict=True)]
    )
    assert stub.UploadChunks(good).stored_chunks == 2
    assert client.find_missing_chunks(digests) == []
    with pytest.raises(IntegrityError):
        client.commit_artifact(header, [(digests[0], len(chunk_a)), (digests[1], len(chunk_b))], digests[0])
    artifact = client.commit_artifact(header, [(digests[0], len(chunk_a)), (digests[1], len(chunk_b))], whole)
    assert client.get_artifact(sid, artifact.artifact_id)[1] == chunk_a + chunk_b
    with pytest.raises(InvalidArgument):
        client.find_missing_chunks(["not-hex"])


def test_upload_file_sends_only_changed_chunks(client: SessionClient, tmp_path: Path) -> None:
    original = bytearray(os.urandom(16 * MiB))
    path = tmp_path / "model.bin"
    path.write_bytes(original)
    sid = client.create_session()
    first = client.upload_file(sid, path)
    assert first.size == len(original)
    original[8 * MiB : 8 * MiB + 100] = os.urandom(100)  # edit 100 bytes in the middle
    path.write_bytes(original)
    sent = []
    second = client.upload_file(sid, path, progress=lambda done, total: sent.append(done))
    assert second.version == 2 and second.size == len(original)
    assert sent and sent[-1] <= 2 * 262144  # at most the chunks around the edit
    assert second.new_bytes <= 2 * 262144
    out = tmp_path / "copy.bin"
    client.download_file(second.artifact_id, out)
    assert out.read_bytes() == bytes(original)


def test_capabilities_describe_the_chunker(client: SessionClient) -> None:
    caps = client.capabilities()
    assert caps["digest_function"] == "blake3" and caps["compression"] == "lz4"
    assert int(caps["max_artifact_size"]) == 100 * MiB and int(caps["compression_threshold"]) == 10240
    assert caps["chunking"]["algorithm"] == "fastcdc-2020"
    assert (
        int(caps["chunking"]["min_size"]),
        int(caps["chunking"]["avg_size"]),
        int(caps["chunking"]["max_size"]),
    ) == (16384, 65536, 262144)


def test_resumed_upload_gives_the_same_artifact(client: SessionClient) -> None:
    data = os.urandom(12 * MiB)
    sid = client.create_session()
    upload_id = "resume-" + blake3(data).hexdigest()[:16]
    header = UploadHeader(sid, "resumable", upload_id=upload_id)
    cancel_after = 9

    def interrupted() -> object:
        for i, piece in enumerate(pieces(data)):
            if i == cancel_after:
                _wait_for_progress(client, upload_id)
                raise ConnectionError("network dropped")
            yield piece

    with pytest.raises(Exception):  # noqa: B017 - the client library reports the broken stream its own way
        client.upload_artifact(header, interrupted())
    status = client.query_upload_status(upload_id)
    assert not status.complete and 0 < status.committed_size <= 9 * MiB
    resumed = UploadHeader(sid, "resumable", upload_id=upload_id, write_offset=status.committed_size)
    with pytest.raises(InvalidArgument):  # past what the server holds
        client.upload_artifact(UploadHeader(sid, "resumable", upload_id=upload_id, write_offset=len(data)), [b"x"])
    # The broken stream may still be draining on the server: resending from an older offset is fine.
    artifact = client.upload_artifact(resumed, pieces(data[status.committed_size :]))
    assert artifact.content_digest == blake3(data).hexdigest() and artifact.size == len(data)
    assert client.get_artifact(sid, artifact.artifact_id)[1] == data
    done = client.query_upload_status(upload_id)
    assert done.complete and done.artifact_id == artifact.artifact_id
    retried = client.upload_artifact(UploadHeader(sid, "resumable", upload_id=upload_id), [b"ignored"])
    assert retried.artifact_id == artifact.artifact_id  # a retry of a finished upload gets its artifact
    assert client.get_session(sid).artifact_count == 1


def test_status_after_a_cancel_is_what_the_broken_stream_kept(client: SessionClient) -> None:
    """The first QueryUploadStatus after a cancel already counts every chunk the server keeps of the
    broken stream: its clean-up (a worker step in flight, the bytes received after it, an fsync) is
    waited for, so a resumed stream starts from the final committed_size."""
    data = os.urandom(12 * MiB)
    sid = client.create_session()
    for attempt in range(3):
        upload_id = f"cancelled-{attempt}-{os.urandom(4).hex()}"
        header = UploadHeader(sid, "cancelled.bin", upload_id=upload_id)
        sent, release = threading.Event(), threading.Event()

        def held(header: UploadHeader, sent: threading.Event, release: threading.Event) -> object:
            yield from upload_messages(header, iter(pieces(data)))
            sent.set()
            release.wait()  # never half-closes: a stream that ends normally would be committed

        call = client.stub("artifact").UploadArtifact.future(
            held(header, sent, release), metadata=client.options.metadata()
        )
        assert sent.wait(10)
        # The server holds some (it persists a batch of ~4 MiB of complete chunks at a time) and
        # still has the rest to take in when the stream breaks.
        _wait_for_progress(client, upload_id)
        call.cancel()
        release.set()
        first = client.query_upload_status(upload_id)
        time.sleep(1.0)
        later = client.query_upload_status(upload_id)
        assert not first.complete and first.committed_size > 0
        assert first.committed_size == later.committed_size, attempt


def _wait_for_progress(client: SessionClient, upload_id: str) -> None:
    """Waits until the server made some of the stream durable (what a real outage would find)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if client.query_upload_status(upload_id).committed_size > 0:
                return
        except UploadNotFound:
            pass
        time.sleep(0.05)


@pytest.mark.slow
def test_hundred_mib_limit(client: SessionClient) -> None:
    sid = client.create_session()
    block = os.urandom(MiB)
    artifact = client.upload_artifact(UploadHeader(sid, "max"), (block for _ in range(100)))
    assert artifact.size == 100 * MiB
    _, stream = client.download_artifact(artifact.artifact_id)
    hasher = blake3()
    for piece in stream:
        hasher.update(piece)
    assert hasher.hexdigest() == artifact.content_digest
    with pytest.raises(ResourceExhausted):
        client.upload_artifact(UploadHeader(sid, "over"), [*(block for _ in range(100)), b"!"])
    assert client.get_session(sid).artifact_count == 1


def test_a_cancelled_upload_is_never_committed(client: SessionClient) -> None:
    """A client that breaks its stream must not leave a truncated artifact behind."""
    sid = client.create_session()

    def broken() -> object:
        for _ in range(5):
            yield os.urandom(MiB)
        time.sleep(0.1)
        raise ConnectionError("client gave up")

    for _ in range(10):
        with pytest.raises(LlmspellError):
            client.upload_artifact(UploadHeader(sid, "truncated"), broken())
    time.sleep(0.3)
    assert client.get_session(sid).artifact_count == 0
    assert client.list_artifacts(sid).items == []


def test_async_client_streams_files_both_ways(shared_server: ServerProcess, tmp_path: Path) -> None:
    import asyncio

    from llmspell_sessions.client import AsyncSessionClient

    data = os.urandom(3 * MiB + 17)
    source, copy = tmp_path / "in.bin", tmp_path / "out.bin"
    source.write_bytes(data)

    async def scenario() -> None:
        async with AsyncSessionClient(shared_server.address) as c:
            sid = await c.create_session(name="async")
            artifact = await c.upload_file(sid, source)
            assert artifact.size == len(data)
            await c.download_file(artifact.artifact_id, copy)
            assert (await c.get_artifact(sid, artifact.artifact_id))[1] == data

    asyncio.run(scenario())
    assert copy.read_bytes() == data and not copy.with_name("out.bin.part").exists()
