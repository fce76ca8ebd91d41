"""The key-value state of a session: JSON values under text keys, changed by one event per call."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from ..errors import InvalidArgument
from ..model import Caller, Role, Session
from ..storage import WriteBatch
from . import keys as layout
from . import validation
from .codec import clone_session
from .sessions import SessionOps


class StateOps(SessionOps):
    """The state half of the SessionManager."""

    def set_session_state(
        self,
        session_id: str,
        entries: Mapping[str, Any] | None = None,
        delete_keys: Iterable[str] = (),
        *,
        etag: str = "",
        caller: Caller | None = None,
    ) -> Session:
        """Sets and deletes keys in one atomic step that appends one state.changed event."""
        c = self._caller(caller)
        self.require(c, Role.WRITER)
        encoded = {
            validation.state_key(k): validation.json_value(v, f"state[{k!r}]", validation.MAX_STATE_VALUE_BYTES)
            for k, v in (entries or {}).items()
        }
        deleted = [validation.state_key(k) for k in dict.fromkeys(delete_keys)]
        both = set(encoded) & set(deleted)
        if both:
            raise InvalidArgument(f"keys both set and deleted: {sorted(both)}", field="delete_keys")
        if not encoded and not deleted:
            raise InvalidArgument("nothing to change: give entries or delete_keys", field="entries")
        with self.lock:
            skey, before = self.fetch_current(c, session_id)
            self.check_etag(before, etag)
            self.require_active(before)
            batch = WriteBatch()
            for key, value in encoded.items():
                batch.put("state", layout.state_key(skey, key), value)
            for key in deleted:
                batch.delete("state", layout.state_key(skey, key))
            payload = {"set": {k: orjson.loads(v) for k, v in encoded.items()}, "deleted": deleted}
            after = clone_session(before)
            self.commit(c, skey, before, after, "state.changed", payload, operation="set_session_state", batch=batch)
            return clone_session(after)

    def get_session_state(
        self, session_id: str, keys: Iterable[str] = (), *, caller: Caller | None = None
    ) -> dict[str, Any]:
        """The values of the keys asked for (missing keys are left out); no keys means all."""
        c = self._caller(caller)
        self.require(c, Role.READER)
        skey, _ = self.fetch_current(c, session_id)
        wanted = [validation.state_key(k) for k in keys]
        if not wanted:
            return self.read_state(skey)
        values = self.storage.multi_get("state", [layout.state_key(skey, k) for k in wanted])
        return {k: orjson.loads(v) for k, v in zip(wanted, values, strict=True) if v is not None}

    def read_state(self, skey: bytes) -> dict[str, Any]:
        prefix = layout.state_prefix(skey)
        start = len(prefix)
        return {k[start:].decode(): orjson.loads(v) for k, v in self.storage.scan("state", prefix)}
