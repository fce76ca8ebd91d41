"""Checks a store's invariants directly: what a crash must never break."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from llmspell_sessions import SessionManager, SessionState
from llmspell_sessions.storage import keys
from llmspell_sessions.engine.codec import decode_session, to_micros


def check_store(path: Path, tenant: str = "default") -> dict[str, int]:
    """Asserts every session has a gapless log up to its last_event_seq and matching index entries,
    and that the per-state counters equal the records; returns the counters."""
    with SessionManager(storage_path=str(path), start_sweeper=False) as manager:
        storage = manager._storage
        prefix = keys.tenant_prefix(tenant)
        states: Counter[int] = Counter()
        for skey, raw in storage.scan("sessions", prefix):
            session = decode_session(raw)
            states[int(session.state)] += 1
            seqs = [keys.seq_of_event_key(k) for k, _ in storage.scan("events", skey) if len(k) == len(skey) + 8]
            assert seqs == list(range(1, session.last_event_seq + 1)), session.session_id
            created = keys.create_index_key(tenant, to_micros(session.create_time), session.session_id)
            updated = keys.update_index_key(tenant, to_micros(session.update_time), session.session_id)
            assert storage.get("session_index", created) is not None
            assert storage.get("session_index", updated) is not None
        index_entries = sum(1 for _ in storage.scan("session_index", prefix + keys.INDEX_CREATE))
        assert index_entries == sum(states.values())
        for state in SessionState:
            if state != SessionState.UNSPECIFIED:
                assert manager._p.records.counter(tenant, f"state.{int(state)}") == states[int(state)], state
        return {SessionState(k).name: v for k, v in states.items()}
