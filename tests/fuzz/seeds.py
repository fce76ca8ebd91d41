"""Writes the fuzz seeds (tests/fuzz/seeds/): one well-formed request per RPC, plus a few edge cases.

Run ``python -m tests.fuzz.seeds`` after changing the protos; the files are checked in.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

from blake3 import blake3
from google.protobuf import struct_pb2
from llmspell_sessions._pb import artifact_pb2, common_pb2, replay_pb2, session_pb2

from .targets import PLACEHOLDER_ID, delimited, encode_input

SEEDS = Path(__file__).parent / "seeds"
SID = PLACEHOLDER_ID.decode()


def _struct(**values: object) -> struct_pb2.Struct:
    holder = struct_pb2.Struct()
    holder.update(values)
    return holder


def seed_requests() -> dict[str, list[bytes]]:
    """Method name → serialized example requests (streams: count byte + concatenated messages)."""
    s, a, r = session_pb2, artifact_pb2, replay_pb2
    header = a.UploadHeader(
        session_id=SID,
        name="notes.md",
        type=common_pb2.ARTIFACT_TYPE_TOOL_RESULT,
        tags=["t"],
        mime_type="text/markdown",
        metadata=_struct(k=1),
    )
    data = b"hello world " * 20
    state = s.SetSessionStateRequest(session_id=SID, delete_keys=["old"])
    state.entries["turn"].number_value = 3
    state.entries["plan"].struct_value.update({"steps": ["a", "b"]})
    seeds = {
        "CreateSession": [
            s.CreateSessionRequest(
                name="agent", description="d", tags=["x", "y"], metadata=_struct(a="b"), request_id="req-1"
            ),
            s.CreateSessionRequest(name="child", parent_session_id=SID),
        ],
        "GetSession": [s.GetSessionRequest(session_id=SID)],
        "ListSessions": [
            s.ListSessionsRequest(
                page_size=5, tags=["x"], search="ag", order_by="name", states=[common_pb2.SESSION_STATE_ACTIVE]
            ),
            s.ListSessionsRequest(page_token="eyJrIjoiIiwidCI6MSwicSI6IngifQ"),
        ],
        "UpdateSession": [s.UpdateSessionRequest(session=common_pb2.Session(session_id=SID, name="n", tags=["z"]))],
        "SuspendSession": [s.SuspendSessionRequest(session_id=SID)],
        "ResumeSession": [s.ResumeSessionRequest(session_id=SID)],
        "CompleteSession": [s.CompleteSessionRequest(session_id=SID, etag="e")],
        "FailSession": [s.FailSessionRequest(session_id=SID, reason="r")],
        "ArchiveSession": [s.ArchiveSessionRequest(session_id=SID)],
        "DeleteSession": [s.DeleteSessionRequest(session_id=SID)],
        "SaveSession": [s.SaveSessionRequest(session_id=SID)],
        "LoadSession": [s.LoadSessionRequest(session_id=SID)],
        "SetSessionState": [state],
        "GetSessionState": [s.GetSessionStateRequest(session_id=SID, keys=["turn"])],
        "StoreArtifact": [
            a.StoreArtifactRequest(header=header, content=data),
            a.StoreArtifactRequest(
                header=a.UploadHeader(session_id=SID, name="x", expected_size=3, expected_digest="00" * 32),
                content=b"abc",
            ),
        ],
        "QueryUploadStatus": [a.QueryUploadStatusRequest(upload_id="u1")],
        "DownloadArtifact": [a.DownloadArtifactRequest(artifact_id=SID, offset=1, limit=5)],
        "GetArtifact": [a.GetArtifactRequest(session_id=SID, name="notes.md")],
        "ListArtifacts": [
            a.ListArtifactsRequest(
                session_id=SID, name_pattern="*.md", all_versions=True, order_by="size desc", page_size=2
            )
        ],
        "DeleteArtifact": [a.DeleteArtifactRequest(artifact_id=SID)],
        "FindMissingChunks": [a.FindMissingChunksRequest(digests=[hashlib.sha256(b"x").hexdigest(), "zz"])],
        "CommitArtifact": [a.CommitArtifactRequest(header=header, chunks=[a.ChunkRef(digest="00" * 32, size=4)])],
        "GetCapabilities": [a.GetCapabilitiesRequest()],
        "GetStorageStats": [a.GetStorageStatsRequest(session_id=SID)],
        "AppendEvents": [
            r.AppendEventsRequest(
                session_id=SID, expected_last_seq=-1, events=[r.NewEvent(type="tool.call", payload=_struct(x=1))]
            )
        ],
        "ListEvents": [r.ListEventsRequest(session_id=SID, after_seq=0, types=["session."], page_size=3)],
        "SubscribeEvents": [r.SubscribeEventsRequest(session_id=SID, after_seq=0)],
        "CreateCheckpoint": [r.CreateCheckpointRequest(session_id=SID, label="c")],
        "ListCheckpoints": [r.ListCheckpointsRequest(session_id=SID)],
        "GetSnapshot": [r.GetSnapshotRequest(session_id=SID, at_seq=1)],
        "CompareSnapshots": [r.CompareSnapshotsRequest(session_id=SID)],
        "ForkSession": [r.ForkSessionRequest(session_id=SID, at_seq=1, name="fork")],
        "RewindSession": [r.RewindSessionRequest(session_id=SID, to_seq=1)],
    }
    payloads = {name: [m.SerializeToString() for m in messages] for name, messages in seeds.items()}
    upload = [a.UploadArtifactRequest(header=header), a.UploadArtifactRequest(data=data)]
    payloads["UploadArtifact"] = [_stream(upload), _stream(upload[:1])]
    chunk = a.UploadChunksRequest(digest="00" * 32, data=b"abcd")
    payloads["UploadChunks"] = [_stream([chunk])]
    start = r.ReplayControl(start=r.ReplayStart(session_id=SID, mode=r.REPLAY_MODE_FAST))
    payloads["ReplaySession"] = [_stream([start])]
    payloads["ExportSessions"] = [s.ExportSessionsRequest(session_ids=[SID]).SerializeToString()]
    archive = _empty_archive()
    parts = [s.ArchivePart(data=archive[:700]), s.ArchivePart(data=archive[700:])]
    payloads["ImportSessions"] = [_stream(parts), _stream([s.ArchivePart(data=b"not an archive")])]
    return payloads


def _empty_archive() -> bytes:
    """A well-formed archive of no sessions (docs/archive-format.md): a manifest and its seal."""
    manifest = json.dumps({"format": "llmspell-sessions-archive", "version": 1, "sessions": [], "members": []})
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in (("manifest.json", manifest.encode()), ("manifest.blake3", b"")):
            data = data or blake3(manifest.encode()).hexdigest().encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _stream(messages: list) -> bytes:
    return delimited([m.SerializeToString() for m in messages])


def write_seeds(directory: Path = SEEDS) -> int:
    directory.mkdir(parents=True, exist_ok=True)
    count = 0
    for name, payloads in sorted(seed_requests().items()):
        for n, payload in enumerate(payloads):
            (directory / f"{name}-{n}.bin").write_bytes(encode_input(name, payload))
            count += 1
    return count


if __name__ == "__main__":
    print(f"wrote {write_seeds()} seeds to {SEEDS}")
