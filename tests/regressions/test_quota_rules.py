"""Limits hold on every path that adds bytes: CommitArtifact (max_artifact_size), ForkSession and
RewindSession (max_tenant_bytes), staged chunks (max_tenant_bytes), and session state in total
(max_state_bytes) — and every read of a session within the limits still works.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from llmspell_sessions.client import SessionClient
from llmspell_sessions.errors import LlmspellError, ResourceExhausted
from llmspell_sessions.model import UploadHeader

from tests.helpers.server import ServerProcess

from .support import KiB, MiB, digest, upload_chunks

ServerFactory = Callable[..., ServerProcess]
LIMIT = ("RESOURCE_EXHAUSTED", "RESOURCE_LIMIT_EXCEEDED")
TENANT_QUOTA = {"LLMSPELL_SESSION_MAX_TENANT_BYTES": str(1 * MiB)}


def _limit_of(error: LlmspellError) -> tuple[str, str]:
    return error.code, error.reason


def test_commit_artifact_respects_max_artifact_size(server_factory: ServerFactory) -> None:
    server = server_factory(env={"LLMSPELL_SESSION_MAX_ARTIFACT_SIZE": "100000"})
    first, second = os.urandom(70_000), os.urandom(60_000)
    with SessionClient(server.address) as client:
        sid = client.create_session()
        upload_chunks(client, [(digest(first), first), (digest(second), second)])
        chunks = [(digest(first), len(first)), (digest(second), len(second))]
        with pytest.raises(LlmspellError) as caught:
            client.commit_artifact(UploadHeader(sid, "too-big"), chunks, digest(first + second))
        assert _limit_of(caught.value) == LIMIT
        assert client.list_artifacts(sid).total_size == 0


def test_fork_respects_the_tenant_quota(server_factory: ServerFactory) -> None:
    server = server_factory(env=TENANT_QUOTA)
    with SessionClient(server.address) as client:
        sid = client.create_session()
        client.put_artifact(UploadHeader(sid, "data.bin"), os.urandom(600 * KiB))
        sessions = client.list_sessions().total_size
        with pytest.raises(LlmspellError) as caught:
            client.fork_session(sid, name="copy")  # 1.2 MiB of logical bytes for a 1 MiB quota
        assert _limit_of(caught.value) == LIMIT
        assert client.list_sessions().total_size == sessions


def test_rewind_respects_the_tenant_quota(server_factory: ServerFactory) -> None:
    server = server_factory(env=TENANT_QUOTA)
    with SessionClient(server.address) as client:
        rewound = client.create_session()
        old = client.put_artifact(UploadHeader(rewound, "old.bin"), os.urandom(600 * KiB))
        stored_seq = client.get_session(rewound).last_event_seq
        client.delete_artifact(old.artifact_id)
        other = client.create_session()
        client.put_artifact(UploadHeader(other, "new.bin"), os.urandom(600 * KiB))
        with pytest.raises(LlmspellError) as caught:
            client.rewind_session(rewound, to_seq=stored_seq)  # would bring the tenant to 1.2 MiB
        assert _limit_of(caught.value) == LIMIT
        assert client.get_session(rewound).artifact_count == 0


def test_staged_chunks_count_against_the_tenant_quota(server_factory: ServerFactory) -> None:
    server = server_factory(env=TENANT_QUOTA)
    pieces = [os.urandom(256 * KiB) for _ in range(8)]  # 2 MiB for a 1 MiB quota
    with SessionClient(server.address) as client, pytest.raises(LlmspellError) as caught:
        upload_chunks(client, [(digest(p), p) for p in pieces])
    assert _limit_of(caught.value) == LIMIT


def test_staged_chunks_leave_less_quota_for_artifacts(server_factory: ServerFactory) -> None:
    server = server_factory(env=TENANT_QUOTA)
    pieces = [os.urandom(225 * KiB) for _ in range(4)]  # 900 KiB staged, within the quota
    with SessionClient(server.address) as client:
        upload_chunks(client, [(digest(p), p) for p in pieces])
        sid = client.create_session()
        with pytest.raises(LlmspellError) as caught:
            client.put_artifact(UploadHeader(sid, "more.bin"), os.urandom(200 * KiB))
        assert _limit_of(caught.value) == LIMIT


STATE_VALUE = 3 * MiB


def _big_value(i: int) -> str:
    return f"{i}:" + "v" * (STATE_VALUE - 8)


def test_total_session_state_is_limited_by_max_state_bytes(server_factory: ServerFactory) -> None:
    server = server_factory(env={"LLMSPELL_SESSION_MAX_STATE_BYTES": str(8 * MiB)})
    with SessionClient(server.address) as client:
        sid = client.create_session()
        client.set_session_state(sid, {"k0": _big_value(0)})
        client.set_session_state(sid, {"k1": _big_value(1)})
        with pytest.raises(ResourceExhausted) as caught:
            client.set_session_state(sid, {"k2": _big_value(2)})  # 9 MiB in total
        assert _limit_of(caught.value) == LIMIT
        client.set_session_state(sid, {"k2": _big_value(2)}, delete_keys=["k0"])  # the total, not a sum of writes
        assert sorted(client.get_session_state(sid)) == ["k1", "k2"]


def test_every_read_of_a_session_works_within_the_state_limits(server_factory: ServerFactory) -> None:
    server = server_factory()
    with SessionClient(server.address) as client:
        sid = client.create_session()
        written = []
        for i in range(7):
            try:
                client.set_session_state(sid, {f"k{i}": _big_value(i)})
            except ResourceExhausted as exc:  # refused: the total is limited, with a reason
                assert _limit_of(exc) == LIMIT
                break
            written.append(f"k{i}")
        last_seq = client.get_session(sid).last_event_seq
        assert sorted(client.load_session(sid).state) == written
        assert sorted(client.get_session_state(sid)) == written
        assert sorted(client.get_snapshot(sid, at_seq=last_seq).state) == written
        events, token = [], ""
        while True:
            page = client.list_events(sid, page_token=token)
            events.extend(page.items)
            token = page.next_page_token
            if not token:
                break
        # (the first LoadSession of a session appends session.loaded: the log has grown since last_seq)
        assert [e.seq for e in events] == list(range(1, client.get_session(sid).last_event_seq + 1))
