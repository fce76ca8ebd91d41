"""The content store in the embedded engine: references, GC, tenant isolation, corruption."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from blake3 import blake3
from llmspell_sessions import Caller, SessionManager
from llmspell_sessions.errors import ArtifactNotFound, DataLoss, ResourceExhausted
from llmspell_sessions.model import UploadHeader

MiB = 1024 * 1024


def _manager(path: Path, **overrides: object) -> SessionManager:
    return SessionManager(storage_path=str(path), start_sweeper=False, **overrides)  # type: ignore[arg-type]


def test_references_survive_restart_and_deletes_release_them(tmp_path: Path) -> None:
    data = os.urandom(2 * MiB)
    with _manager(tmp_path / "db") as m:
        s1, s2 = m.create_session(), m.create_session()
        a = m.put_artifact(UploadHeader(s1, "a"), data)
        b = m.put_artifact(UploadHeader(s2, "b"), data)
        digests = list({d for d, _ in m._p.artifacts.find_record(Caller(), a.artifact_id)[1].chunks})
    with _manager(tmp_path / "db", chunk_gc_grace=0) as m:
        assert all(m._p.content.global_count(d) == 2 for d in digests)
        m.delete_artifact(a.artifact_id)
        assert all(m._p.content.global_count(d) == 1 for d in digests)
        assert m.collect_garbage() == 0  # still referenced by b
        assert m.get_artifact(s2, b.artifact_id)[1] == data
        m.delete_session(s2)
        assert all(m._p.content.global_count(d) == 0 for d in digests)
        assert m.collect_garbage() == len(digests)
        assert m._p.content.records(digests) == [None] * len(digests)


def test_gc_waits_for_the_grace_period_and_spares_pinned_chunks(tmp_path: Path) -> None:
    with _manager(tmp_path / "db", chunk_gc_grace=0.3) as m:
        sid = m.create_session()
        a = m.put_artifact(UploadHeader(sid, "a"), os.urandom(MiB))
        digests = [d for d, _ in m._p.artifacts.find_record(Caller(), a.artifact_id)[1].chunks]
        m.delete_artifact(a.artifact_id)
        assert m.collect_garbage() == 0  # within the grace period
        time.sleep(0.35)
        m._p.content.pin(digests[:1])
        assert m.collect_garbage() == len(digests) - 1
        m._p.content.unpin(digests[:1])
        assert m.collect_garbage() == 1


def test_reupload_during_grace_revives_chunks(tmp_path: Path) -> None:
    data = os.urandom(MiB)
    with _manager(tmp_path / "db", chunk_gc_grace=0) as m:
        sid = m.create_session()
        first = m.put_artifact(UploadHeader(sid, "a"), data)
        m.delete_artifact(first.artifact_id)
        again = m.put_artifact(UploadHeader(sid, "a"), data)
        assert m.collect_garbage() == 0
        assert m.get_artifact(sid, again.artifact_id)[1] == data


def test_dedup_never_reveals_another_tenants_content(tmp_path: Path) -> None:
    alice, bob = Caller(tenant="alice", subject="a"), Caller(tenant="bob", subject="b")
    data = os.urandom(MiB)
    with _manager(tmp_path / "db") as m:
        a_sid = m.create_session(caller=alice)
        m.put_artifact(UploadHeader(a_sid, "secret"), data, caller=alice)
        chunk = blake3(data[:16384]).hexdigest()
        record = m._p.artifacts.find_record(alice, m.list_artifacts(a_sid, caller=alice).items[0].artifact_id)[1]
        digests = [d.hex() for d, _ in record.chunks]
        assert m.find_missing_chunks(digests, caller=alice) == []
        assert m.find_missing_chunks(digests, caller=bob) == digests
        assert m.find_missing_chunks([chunk], caller=bob) == [chunk]
        b_sid = m.create_session(caller=bob)
        copy = m.put_artifact(UploadHeader(b_sid, "same"), data, caller=bob)
        assert copy.new_bytes == copy.stored_size > 0  # as if new: bob cannot learn alice had it
        with pytest.raises(ArtifactNotFound):
            m.get_artifact_info(record.artifact.artifact_id, caller=bob)
        assert m.get_storage_stats(caller=bob).artifact_count == 1


def test_corrupted_segment_bytes_are_detected(tmp_path: Path) -> None:
    data = os.urandom(3 * MiB)
    with _manager(tmp_path / "db") as m:
        sid = m.create_session()
        artifact = m.put_artifact(UploadHeader(sid, "victim"), data)
    segment = next((tmp_path / "db" / "segments").glob("seg-*.dat"))
    raw = bytearray(segment.read_bytes())
    raw[MiB] ^= 0xFF
    segment.write_bytes(bytes(raw))
    with _manager(tmp_path / "db") as m:
        with pytest.raises(DataLoss) as caught:
            m.get_artifact(sid, artifact.artifact_id)
        assert caught.value.code == "DATA_LOSS" and caught.value.reason == "INTEGRITY_ERROR"
        _, pieces = m.read_artifact(artifact.artifact_id, 0, 16384)  # ranges before the damage still read
        assert b"".join(pieces) == data[:16384]


def test_compaction_reclaims_the_space_of_collected_chunks(tmp_path: Path) -> None:
    keep, drop = os.urandom(MiB), [os.urandom(MiB) for _ in range(6)]
    with _manager(tmp_path / "db", chunk_gc_grace=0, segment_bytes=2 * MiB) as m:
        sid = m.create_session()
        dropped = [m.put_artifact(UploadHeader(sid, f"drop-{i}"), data).artifact_id for i, data in enumerate(drop[:3])]
        kept = m.put_artifact(UploadHeader(sid, "keep"), keep)
        dropped += [m.put_artifact(UploadHeader(sid, f"drop-{i}"), data).artifact_id for i, data in enumerate(drop[3:])]
        segments = tmp_path / "db" / "segments"
        before = sum(p.stat().st_size for p in segments.glob("seg-*.dat"))
        for artifact_id in dropped:
            m.delete_artifact(artifact_id)
        assert m.collect_garbage() > 0
        assert m.compact_segments(settle=3600) == (0, 0)  # nothing has settled yet
        compacted, freed = m.compact_segments(settle=0)
        after = sum(p.stat().st_size for p in segments.glob("seg-*.dat"))
        assert compacted >= 2 and freed >= 5 * MiB and after <= before - 5 * MiB
        assert m.get_artifact(sid, kept.artifact_id)[1] == keep  # the live chunks moved, intact
    with _manager(tmp_path / "db") as m:  # and the moved locations survive a restart
        assert m.get_artifact(sid, kept.artifact_id)[1] == keep


def test_tenant_byte_quota_counts_every_session_and_frees_on_delete(tmp_path: Path) -> None:
    alice, bob = Caller(tenant="alice"), Caller(tenant="bob")
    with _manager(tmp_path / "db", max_tenant_bytes=3 * MiB) as m:
        first, second = m.create_session(caller=alice), m.create_session(caller=alice)
        a = m.put_artifact(UploadHeader(first, "a"), os.urandom(2 * MiB), caller=alice)
        with pytest.raises(ResourceExhausted) as caught:
            m.put_artifact(UploadHeader(second, "b"), os.urandom(2 * MiB), caller=alice)
        assert caught.value.metadata["limit"] == "max_tenant_bytes"
        m.put_artifact(UploadHeader(m.create_session(caller=bob), "b"), os.urandom(2 * MiB), caller=bob)  # own quota
        m.delete_artifact(a.artifact_id, caller=alice)
        m.put_artifact(UploadHeader(second, "b"), os.urandom(2 * MiB), caller=alice)
        m.delete_session(second, caller=alice)
        m.put_artifact(UploadHeader(first, "c"), os.urandom(3 * MiB), caller=alice)
    with _manager(tmp_path / "db", max_tenant_bytes=3 * MiB) as m:  # the count survives a restart
        with pytest.raises(ResourceExhausted):
            m.put_artifact(UploadHeader(first, "d"), b"x", caller=alice)


def test_expiry_clears_stale_uploads_and_markers_of_older_releases(tmp_path: Path) -> None:
    """Upload expiry drops day-old progress (finished or not) and the 8-byte staged markers older
    releases kept in the uploads family, and GC keeps running after it."""
    from llmspell_sessions.storage import WriteBatch, keys

    with _manager(tmp_path / "db", chunk_gc_grace=0) as m:
        sid = m.create_session()
        data = os.urandom(MiB)
        artifact = m.put_artifact(UploadHeader(sid, "a", upload_id="done-upload"), data)
        day_ago_us = int((time.time() - 25 * 3600) * 1_000_000)
        batch = WriteBatch()
        batch.put("uploads", b"default\x00\x01" + b"\x07" * 32, day_ago_us.to_bytes(8, "big"))  # legacy marker
        batch.put(
            "uploads",
            keys.upload_key("default", "stale"),
            b'{"session_id": "%s", "name": "x", "created_us": %d}' % (sid.encode(), day_ago_us),
        )
        m._storage.write(batch)
        assert m.query_upload_status("done-upload").complete
        assert m.expire_uploads() == 2  # the marker and the stale upload; the finished one is fresh
        assert [k for k, _ in m._storage.scan("uploads", b"")] == [keys.upload_key("default", "done-upload")]
        m.delete_artifact(artifact.artifact_id)
        assert m.collect_garbage() > 0
