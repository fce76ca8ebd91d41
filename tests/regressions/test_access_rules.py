"""Per-session access: grants and revocations apply at once, including to open streams; a READ grant
is enough to read (LoadSession included); and being refused leaves no trace on the victim session.

alice owns the sessions, root (admin) grants and revokes, carol is a writer of the same tenant.
"""

from __future__ import annotations

import os

import pytest
from llmspell_sessions.client import SessionClient
from llmspell_sessions.errors import AccessDenied, LlmspellError
from llmspell_sessions.model import Event, ReplayMode, ReplayStart, UploadHeader

from tests.helpers.server import ServerProcess

from .support import MiB, StreamReader, open_replay

DENIED_OR_GONE = {"PERMISSION_DENIED", "NOT_FOUND"}
STREAM_END_TIMEOUT = 3.0


def test_revoking_read_ends_an_open_subscription(secured: ServerProcess) -> None:
    with (
        SessionClient(secured.address, token="alice-w") as alice,
        SessionClient(secured.address, token="carol-w") as carol,
        SessionClient(secured.address, token="root") as root,
    ):
        sid = alice.create_session(name="shared")
        granted_seq = root.grant_session_access(sid, "carol", "read").last_event_seq
        stream = carol.subscribe_events(sid)
        reader: StreamReader[Event] = StreamReader(stream)
        try:
            assert reader.wait_for(lambda events: any(e.seq == granted_seq for e in events))
            revoked_seq = root.revoke_session_access(sid, "carol").last_event_seq
            alice.set_session_state(sid, {"secret": "written after the revoke"})
            ended = reader.join(STREAM_END_TIMEOUT)
        finally:
            stream.cancel()
        leaked = [(e.seq, e.type) for e in reader.items if e.seq > revoked_seq]
        assert ended, f"the stream is still open after the revoke; delivered since: {leaked}"
        assert reader.error is not None and reader.error.code in DENIED_OR_GONE, reader.error
        assert leaked == []


def test_revoking_read_ends_an_open_replay(secured: ServerProcess) -> None:
    with (
        SessionClient(secured.address, token="alice-w") as alice,
        SessionClient(secured.address, token="carol-w") as carol,
        SessionClient(secured.address, token="root") as root,
    ):
        sid = alice.create_session(name="shared")
        for i in range(5):
            alice.set_session_state(sid, {"step": i})
        root.grant_session_access(sid, "carol", "read")
        replay = open_replay(carol, ReplayStart(sid, mode=ReplayMode.STEP), timeout=10)
        frames = iter(replay)
        replay.step()
        assert next(frames).event is not None
        root.revoke_session_access(sid, "carol")
        replay.step()
        try:
            frame = next(frames)
        except LlmspellError as exc:
            assert exc.code in DENIED_OR_GONE, exc
        else:
            replay.cancel()
            pytest.fail(f"the replay went on after the revoke: {frame}")


def test_revoking_read_ends_a_download_in_progress(secured: ServerProcess) -> None:
    content = os.urandom(64 * MiB)
    with (
        SessionClient(secured.address, token="alice-w") as alice,
        SessionClient(secured.address, token="carol-w") as carol,
        SessionClient(secured.address, token="root") as root,
    ):
        sid = alice.create_session(name="shared")
        pieces = (content[i : i + MiB] for i in range(0, len(content), MiB))
        artifact = alice.upload_artifact(UploadHeader(sid, "big.bin"), pieces)
        root.grant_session_access(sid, "carol", "read")
        _, data = carol.download_artifact(artifact.artifact_id)  # metadata received: the stream is open
        root.revoke_session_access(sid, "carol")
        received = 0
        with pytest.raises(LlmspellError) as caught:
            for piece in data:
                received += len(piece)
        assert caught.value.code in DENIED_OR_GONE, caught.value
        assert received < len(content)


def test_read_grant_is_enough_to_load_a_session(secured: ServerProcess) -> None:
    with (
        SessionClient(secured.address, token="alice-w") as alice,
        SessionClient(secured.address, token="carol-w") as carol,
        SessionClient(secured.address, token="root") as root,
    ):
        sid = alice.create_session(name="shared")
        alice.set_session_state(sid, {"plan": "ship it"})
        alice.put_artifact(UploadHeader(sid, "notes.txt"), b"remember the milk")
        root.grant_session_access(sid, "carol", "read")
        loaded = carol.load_session(sid)
        assert loaded.session.session_id == sid
        assert loaded.state == {"plan": "ship it"}
        assert [a.name for a in loaded.artifacts] == ["notes.txt"]


def test_refused_access_does_not_change_the_session(secured: ServerProcess) -> None:
    with (
        SessionClient(secured.address, token="alice-w") as alice,
        SessionClient(secured.address, token="carol-w") as carol,
    ):
        sid = alice.create_session(name="private")
        before = alice.get_session(sid)
        for attempt in (
            lambda: carol.get_session(sid),
            lambda: carol.get_session_state(sid),
            lambda: carol.set_session_state(sid, {"x": 1}),
        ):
            with pytest.raises(AccessDenied):
                attempt()
        after = alice.get_session(sid)
        assert (after.etag, after.update_time, after.expire_time) == (
            before.etag,
            before.update_time,
            before.expire_time,
        )
        updated = alice.update_session(sid, description="still mine", etag=before.etag)
        assert updated.description == "still mine"
