"""Where a LangGraph thread's data lives in its session's state: the key names.

One session holds one thread, all its namespaces:

| key | value |
|---|---|
| ``lg/n/<ns>`` | the namespace's ``checkpoint_ns`` (written create-only by every put) |
| ``lg/k/<ns>/<id>.`` | a checkpoint: ``{"id", "c", "m", "p", "r", "cv"}`` (see below) |
| ``lg/k/<ns>/<id>.w/<task>|<idx>`` | one pending write: ``[task, channel, value, task_path, idx]`` |

A record holds the checkpoint id, the checkpoint (``c``) and metadata (``m``) serde-encoded, the parent
id (``p``), the run id (``r``) and the channel values (``cv``: ``{channel: value}``).
``<id>`` is the checkpoint id in hex, which sorts as the id does, so a reverse scan of
``lg/k/<ns>/`` walks the checkpoints newest first, each one's writes just before it; a record key is
the prefix of its writes' keys, so one prefix read returns a checkpoint with its writes. Each
operation is one call: a put writes one key (and the namespace create-only), a write its slots
(create-only, so a repeated task and index keeps the first value), a read one prefix scan.
"""

from __future__ import annotations

import hashlib
import re

_SAFE = re.compile(r"[A-Za-z0-9._:-]{1,64}")
ORDERED_ID_BYTES = 48
"""Ids up to this many UTF-8 bytes (LangGraph's are 36) keep their exact order; longer ones sort by
their first 40 bytes, then by a hash."""
NAMESPACES = "lg/n/"


def part(text: str) -> str:
    """A key part for any text: the text itself when short and plain, else '#' and a hash."""
    if _SAFE.fullmatch(text):
        return text
    return "#" + hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def ns_part(checkpoint_ns: str) -> str:
    return "-" if checkpoint_ns == "" else part(checkpoint_ns)


def namespace_key(nsp: str) -> str:
    return f"{NAMESPACES}{nsp}"


def checkpoints_prefix(nsp: str) -> str:
    return f"lg/k/{nsp}/"


def ordered_id(checkpoint_id: str) -> str:
    """The id as a key part that sorts as the id (byte order); '.' ends it, below every hex digit."""
    raw = checkpoint_id.encode()
    if len(raw) <= ORDERED_ID_BYTES:
        return raw.hex() + "."
    return raw[:40].hex() + "~" + hashlib.blake2b(raw, digest_size=8).hexdigest() + "."


def record_key(nsp: str, checkpoint_id: str) -> str:
    return checkpoints_prefix(nsp) + ordered_id(checkpoint_id)


def write_key(nsp: str, checkpoint_id: str, task_id: str, idx: int) -> str:
    return f"{record_key(nsp, checkpoint_id)}w/{part(task_id)}|{idx}"


def is_record_key(key: str) -> bool:
    return key.endswith(".")


def artifact_name(key: str) -> str:
    """The artifact name for a large value stored under a state key."""
    return f"langgraph/{key}"
