"""Work and memory per request and per stream stay bounded: CommitArtifact runs its cheap checks
before reading any chunk, one tenant's expensive requests cannot starve another tenant, replays hold
a bounded window of the log, and a paused replay nobody drives ends by itself.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from llmspell_sessions._pb import artifact_pb2
from llmspell_sessions.client import SessionClient
from llmspell_sessions.errors import LlmspellError
from llmspell_sessions.model import ReplayFrame, ReplayMode, ReplayStart, ReplayStatus, UploadHeader

from tests.helpers.server import ServerProcess

from .conftest import SecuredFactory
from .support import KiB, MiB, StreamReader, digest, header_to_pb, open_replay, upload_chunks

ServerFactory = Callable[..., ServerProcess]
BIG_CHUNK = 256 * KiB
LARGEST_CHUNK = 4 * MiB  # the largest chunk UploadChunks accepts
BOGUS_DIGEST = "ab" * 32


def _hostile_commit(session_id: str, chunk: bytes, repeats: int) -> artifact_pb2.CommitArtifactRequest:
    """One small request that names the same large chunk again and again, with a wrong content digest."""
    ref = artifact_pb2.ChunkRef(digest=digest(chunk), size=len(chunk))
    return artifact_pb2.CommitArtifactRequest(
        header=header_to_pb(UploadHeader(session_id, "hostile")), chunks=[ref] * repeats, content_digest=BOGUS_DIGEST
    )


def test_commit_over_max_artifact_size_is_refused_before_reading(server_factory: ServerFactory) -> None:
    server = server_factory()
    chunk = os.urandom(BIG_CHUNK)
    with SessionClient(server.address, timeout=60) as client:
        sid = client.create_session()
        upload_chunks(client, [(digest(chunk), chunk)])
        chunks = [(digest(chunk), len(chunk))] * 2000  # 500 MiB of content for a 100 MiB limit, in ~150 KB
        with pytest.raises(LlmspellError) as caught:
            client.commit_artifact(UploadHeader(sid, "too-big"), chunks, BOGUS_DIGEST)
        assert (caught.value.code, caught.value.reason) == ("RESOURCE_EXHAUSTED", "RESOURCE_LIMIT_EXCEEDED")


def test_hostile_commits_of_one_tenant_do_not_starve_another(secured_factory: SecuredFactory) -> None:
    server = secured_factory()
    chunk = os.urandom(LARGEST_CHUNK)
    with SessionClient(server.address, token="alice-w") as alice, SessionClient(server.address, token="bob-w") as bob:
        sid = alice.create_session()
        upload_chunks(alice, [(digest(chunk), chunk)])
        victim = bob.create_session()
        stub = alice.stub("artifact")
        request = _hostile_commit(sid, chunk, 1500)  # ~6 GiB named in ~100 KB
        hostile = [stub.CommitArtifact.future(request, metadata=alice.options.metadata()) for _ in range(8)]
        try:
            time.sleep(0.3)  # let the hostile requests reach the server
            # A generous liveness deadline: the store itself takes milliseconds.
            with SessionClient(server.address, token="bob-w", timeout=5) as impatient:
                impatient.put_artifact(UploadHeader(victim, "tiny.txt"), b"hello")
        finally:
            for call in hostile:
                call.cancel()


def _rss_bytes(server: ServerProcess) -> int:
    assert server.process is not None
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS line")


LOG_EVENTS = 10_000
PAYLOAD_BYTES = 4 * KiB
PAUSED_REPLAYS = 4


def test_paused_replays_hold_a_bounded_window_of_a_long_log(server_factory: ServerFactory) -> None:
    server = server_factory()
    with SessionClient(server.address, timeout=60) as client:
        sid = client.create_session()
        filler = "x" * (PAYLOAD_BYTES - 16)
        for first in range(0, LOG_EVENTS, 500):
            batch = [{"type": "agent.note", "payload": {"i": i, "text": filler}} for i in range(first, first + 500)]
            client.append_events(sid, batch)
        log_bytes = LOG_EVENTS * PAYLOAD_BYTES
        # Warm up the read path once (caches, allocator arenas) so the baseline is fair.
        warm = open_replay(client, ReplayStart(sid, mode=ReplayMode.FAST, to_seq=200), timeout=30)
        assert list(warm)[-1].status == ReplayStatus.COMPLETED
        baseline = _rss_bytes(server)
        replays = []
        try:
            for _ in range(PAUSED_REPLAYS):
                replay = open_replay(client, ReplayStart(sid, mode=ReplayMode.STEP), timeout=30)
                frames = iter(replay)
                replay.step()
                frame = next(frames)
                assert frame.event is not None and frame.total >= LOG_EVENTS
                replays.append(replay)
            growth = _rss_bytes(server) - baseline
        finally:
            for replay in replays:
                replay.cancel()
        # Bounded memory per stream: all the paused replays together hold far less than one copy of the log.
        assert growth < log_bytes // 2, f"RSS grew {growth / MiB:.1f} MiB for a {log_bytes / MiB:.0f} MiB log"


def test_idle_paused_replay_ends_after_replay_idle_timeout(server_factory: ServerFactory) -> None:
    server = server_factory(env={"LLMSPELL_SESSION_REPLAY_IDLE_TIMEOUT": "1"})
    with SessionClient(server.address) as client:
        sid = client.create_session()
        client.append_events(sid, [{"type": "agent.note", "payload": {"i": i}} for i in range(50)])
        replay = open_replay(client, ReplayStart(sid, mode=ReplayMode.STEP), timeout=30)
        reader: StreamReader[ReplayFrame] = StreamReader(replay)
        replay.step()
        assert reader.wait_for(lambda frames: len(frames) >= 1, timeout=5)
        try:
            ended = reader.join(5)  # the idle timeout is 1 s: ample margin on a loaded machine
        finally:
            replay.cancel()
        assert ended, "the paused replay is still open"
        stopped = bool(reader.items) and reader.items[-1].event is None
        stopped = stopped and reader.items[-1].status == ReplayStatus.STOPPED
        assert stopped or (
            isinstance(reader.error, LlmspellError) and reader.error.code not in {"UNKNOWN", "INTERNAL", "UNAVAILABLE"}
        ), (reader.items[-1:], reader.error)
