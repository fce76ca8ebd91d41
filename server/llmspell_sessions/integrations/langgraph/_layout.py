"""Where a LangGraph thread's data lives in its session's state: the key names.

One session holds one thread, all its namespaces:

| key | value |
|---|---|
| ``lg/ns`` | ``{ns part: checkpoint_ns}``, the thread's namespaces |
| ``lg/h/<ns>`` | the namespace's head: ``{"id": newest checkpoint id, "segs": n, "tail": [ids]}`` |
| ``lg/i/<ns>/<k>`` | a sealed segment of the id index: ``[ids]`` (``SEGMENT`` ids each) |
| ``lg/c/<ns>/<id>`` | a checkpoint: ``{"c": checkpoint, "m": metadata, "p": parent id, "r": run id, "v": versions}`` |
| ``lg/w/<ns>/<id>`` | its pending writes: ``{"<task>|<idx>": [task, channel, value, task_path, idx]}`` |
| ``lg/b/<ns>/<channel>/<version>`` | one version of one channel's value |

The index is a head plus fixed-size segments so that a put rewrites at most ``SEGMENT`` ids (each
write's ``state.changed`` event carries the values written, so one growing list would make the
log grow quadratically).
"""

from __future__ import annotations

import hashlib
import re

SEGMENT = 128
REGISTRY = "lg/ns"
_SAFE = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def part(text: str) -> str:
    """A key part for any text: the text itself when short and plain, else '#' and a hash."""
    if _SAFE.fullmatch(text):
        return text
    return "#" + hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def ns_part(checkpoint_ns: str) -> str:
    return "-" if checkpoint_ns == "" else part(checkpoint_ns)


def head_key(nsp: str) -> str:
    return f"lg/h/{nsp}"


def segment_key(nsp: str, index: int) -> str:
    return f"lg/i/{nsp}/{index}"


def record_key(nsp: str, checkpoint_id: str) -> str:
    return f"lg/c/{nsp}/{part(checkpoint_id)}"


def writes_key(nsp: str, checkpoint_id: str) -> str:
    return f"lg/w/{nsp}/{part(checkpoint_id)}"


def blob_key(nsp: str, channel: str, version: object) -> str:
    return f"lg/b/{nsp}/{part(channel)}/{part(str(version))}"


def artifact_name(key: str) -> str:
    """The artifact name for a large value stored under a state key."""
    return f"langgraph/{key}"
