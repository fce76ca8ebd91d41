"""ApplyChanges and ReadSession: one framework operation, one call (and one unit of work).

A framework adapter's write is usually state sets and deletes plus an event or two; its read is a
few keys, a range of keys and the end of the log. ``Changes.apply`` writes such a batch in ONE unit
of work — one lock, one commit, one set of quota checks, one rate-limit token — composed from the
parts that own each rule (``StateStore.write`` for state, ``client_events`` and ``uow.record`` for
the log), so a veto, a quota or a bad key writes nothing at all. ``Changes.read`` answers the read
in one call (its parts are separate reads, not one snapshot: a write committed meanwhile may show in
a later part only, as with the single calls it replaces).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..errors import InvalidArgument
from ..model import Caller, ChangesApplied, EventSpec, RelatedState, SessionRead
from ..storage import Storage, keys
from . import validation
from .admission import READ, WRITE
from .artifacts import ArtifactStore
from .codec import clone_session, now, to_micros
from .limits import EVENT_PAGE_BYTES, MAX_EVENTS_PER_APPEND, MAX_PAGE_SIZE, REQUEST_ID_TTL_SECONDS
from .paging import decode_token, encode_token, query_fingerprint
from .replay import EventLog
from .replay.log import NewEvent, client_events, type_prefixes
from .sessions import check_etag, require_active
from .state import StateStore, changed_payload, encode_changes
from .unit_of_work import UnitOfWork, Units

MAX_CHANGED_KEYS = 1000  # sets + deletes of one batch: one state.changed event stays a sane size
MAX_READ_KEYS = 1000
MAX_READ_ARTIFACTS = 100
MAX_RELATED = 8
MAX_RELATED_KEYS = 100_000  # the byte budget ends a related state long before this
DEFAULT_STATE_PAGE = 100


class Changes:
    """Batched writes and reads of one session, over the parts that own state, log and artifacts."""

    def __init__(
        self, units: Units, storage: Storage, state: StateStore, log: EventLog, artifacts: ArtifactStore
    ) -> None:
        self._units = units
        self._storage = storage
        self._state = state
        self._log = log
        self._artifacts = artifacts

    def apply(
        self,
        caller: Caller,
        session_id: str,
        *,
        entries: Mapping[str, Any],
        delete_keys: Iterable[str],
        create_entries: Mapping[str, Any],
        events: Sequence[NewEvent],
        expected_last_seq: int | None,
        etag: str,
        request_id: str,
    ) -> ChangesApplied:
        """Sets (``create_entries`` only where the key is absent) and deletes state, then appends
        events, atomically: one state.changed event (when state changes) followed by the client
        events, gapless. ``expected_last_seq`` / ``etag`` guard the write (ABORTED when stale)."""
        encoded, deleted = encode_changes(entries, delete_keys)
        creates, _ = encode_changes(create_entries, ())
        overlap = set(creates) & (set(encoded) | set(deleted))
        if overlap:
            raise InvalidArgument(
                f"keys in create_entries and entries/delete_keys: {sorted(overlap)}", field="create_entries"
            )
        if len(encoded) + len(deleted) + len(creates) > MAX_CHANGED_KEYS:
            raise InvalidArgument(f"at most {MAX_CHANGED_KEYS} state keys per call", field="entries")
        specs = client_events(events) if events else []
        if not (encoded or deleted or creates or specs):
            raise InvalidArgument("nothing to change: give entries, delete_keys or events", field="entries")
        if len(specs) > MAX_EVENTS_PER_APPEND:
            raise InvalidArgument(f"at most {MAX_EVENTS_PER_APPEND} events per call", field="events")
        validation.request_id(request_id)
        with self._units.begin(caller) as uow:
            skey, before = uow.session(session_id, WRITE)
            if request_id:
                done = self._for_request(uow, request_id)
                if done is not None:
                    return done
            check_etag(before, etag)
            self._log.check_seq(before, expected_last_seq)
            require_active(before)
            if creates:
                existing = self._state.present(skey, list(creates))
                encoded.update((k, v) for k, v in creates.items() if k not in existing)
            after = clone_session(before)
            all_specs = list(specs)
            if encoded or deleted:
                self._state.write(uow, skey, after, encoded, deleted)
                all_specs.insert(0, EventSpec("state.changed", changed_payload(encoded, deleted)))
            if not all_specs:  # only creates, all present: nothing to write, nothing to record
                return ChangesApplied(clone_session(before), [])
            written = uow.record(skey, before, after, all_specs, operation="apply_changes")
            if request_id:
                stamp = to_micros(uow.time).to_bytes(8, "big")
                seqs = written[0].seq.to_bytes(8, "big") + written[-1].seq.to_bytes(8, "big")
                row = keys.change_request_key(caller.tenant, caller.subject, request_id)
                uow.batch.put("session_index", row, stamp + session_id.encode() + seqs)
            uow.commit()
            return ChangesApplied(clone_session(after), written)

    def _for_request(self, uow: UnitOfWork, request_id: str) -> ChangesApplied | None:
        """The result of an earlier call with this request id (within the TTL), read again."""
        row = keys.change_request_key(uow.caller.tenant, uow.caller.subject, request_id)
        uow.lock_row(("session_index", row))
        raw = self._storage.get("session_index", row)
        if raw is None or to_micros(now()) - int.from_bytes(raw[:8], "big") > REQUEST_ID_TTL_SECONDS * 1_000_000:
            return None
        session_id = raw[8:44].decode()
        first, last = int.from_bytes(raw[44:52], "big"), int.from_bytes(raw[52:60], "big")
        skey, session = uow.session(session_id, WRITE)
        return ChangesApplied(clone_session(session), list(self._log.read_events(skey, session_id, first, last)))

    def read(
        self,
        caller: Caller,
        session_id: str,
        *,
        state_keys: Iterable[str],
        state_prefix: str,
        reverse: bool,
        start_after: str,
        page_size: int,
        page_token: str,
        last_events: int,
        event_types: Iterable[str],
        artifact_names: Iterable[str],
        related_session_ids: Iterable[str] = (),
    ) -> SessionRead:
        """The session record, the exact ``state_keys`` that exist, one page of keys under
        ``state_prefix`` (when given, or every key when ``page_size`` is), the whole state of each
        related session, the last ``last_events`` events of the given type prefixes, and the latest
        version of each named artifact (metadata), all within EVENT_PAGE_BYTES: entries first, then
        related states, then events (what does not fit is flagged, never silently dropped)."""
        names = [validation.state_key(k) for k in dict.fromkeys(state_keys)]
        if len(names) > MAX_READ_KEYS:
            raise InvalidArgument(f"at most {MAX_READ_KEYS} state_keys", field="state_keys")
        wanted_artifacts = [validation.name(n) for n in dict.fromkeys(artifact_names)]
        if len(wanted_artifacts) > MAX_READ_ARTIFACTS:
            raise InvalidArgument(f"at most {MAX_READ_ARTIFACTS} artifact_names", field="artifact_names")
        if last_events < 0:
            raise InvalidArgument("last_events must not be negative", field="last_events")
        related_ids = [validation.session_id(r, "related_session_ids") for r in dict.fromkeys(related_session_ids)]
        if len(related_ids) > MAX_RELATED:
            raise InvalidArgument(f"at most {MAX_RELATED} related_session_ids", field="related_session_ids")
        prefixes = type_prefixes(event_types, "event_types")
        size = validation.page_size(page_size, DEFAULT_STATE_PAGE, MAX_PAGE_SIZE)
        after = validation.state_key(start_after) if start_after else None
        fingerprint = query_fingerprint(["state", caller.tenant, session_id, state_prefix, reverse, start_after])
        if page_token:
            after = decode_token(page_token, fingerprint)[0].decode()
        skey, session = self._units.read_session(caller, session_id, READ)
        result = SessionRead(clone_session(session), state=self._state.values(skey, names))
        budget = EVENT_PAGE_BYTES
        if state_prefix or start_after or page_token or page_size > 0:
            prefix = validation.text(state_prefix, "state_prefix", max_bytes=256)
            found, more, used = self._state.prefixed(
                skey, prefix, reverse=reverse, after=after, limit=size, budget=budget
            )
            result.entries = found
            budget -= used
            if more is not None:
                result.next_state_page_token = encode_token(more.encode(), 0, fingerprint)
        for related_id in related_ids:
            rkey, _ = self._units.read_session(caller, related_id, READ)
            found, more, used = self._state.prefixed(
                rkey, "", reverse=False, after=None, limit=MAX_RELATED_KEYS, budget=max(budget, 1)
            )
            result.related.append(RelatedState(related_id, dict(found), truncated=more is not None))
            budget -= used
        if last_events:
            count = min(last_events, MAX_PAGE_SIZE)
            result.events, result.events_truncated = self._log.last(skey, session_id, count, prefixes, max(budget, 1))
        for name in wanted_artifacts:
            record = self._artifacts.latest(skey, name)
            if record is not None:
                result.artifacts.append(record.artifact)
        return result


__all__ = ["Changes"]
