"""Key layout of every column family, in one place.

Every key starts with the tenant's name and a NUL, so one tenant's keys never reach another's.
Tenant names are restricted to [A-Za-z0-9._-], so the global expiry index (prefix 0xff) can never
collide with a tenant prefix. Session ids are fixed-width (36 ASCII bytes).
"""

from __future__ import annotations

import functools

SEQ_BYTES = 8
TIME_BYTES = 8

INDEX_CREATE = b"c"
INDEX_UPDATE = b"u"
INDEX_NAME = b"n"
INDEX_PARENT = b"p"
INDEX_REQUEST = b"r"
INDEX_COUNTER = b"#"
EXPIRY_PREFIX = b"\xffx"
FORMAT_KEY = b"\xfff"
"""session_index: the store's format version (engine/store_format.py), outside every tenant's prefix."""


@functools.lru_cache(maxsize=4096)
def tenant_prefix(tenant: str) -> bytes:
    return tenant.encode() + b"\x00"


def session_key(tenant: str, session_id: str) -> bytes:
    return tenant_prefix(tenant) + session_id.encode()


def split_session_key(key: bytes) -> tuple[str, str]:
    """(tenant, session_id) of a session key."""
    tenant, _, session_id = key.partition(b"\x00")
    return tenant.decode(), session_id.decode()


def micros(value: int) -> bytes:
    return value.to_bytes(TIME_BYTES, "big")


def state_prefix(skey: bytes) -> bytes:
    return skey + b"\x00"


def state_key(skey: bytes, name: str) -> bytes:
    return skey + b"\x00" + name.encode()


def event_key(skey: bytes, seq: int) -> bytes:
    return skey + seq.to_bytes(SEQ_BYTES, "big")


def seq_of_event_key(key: bytes) -> int:
    return int.from_bytes(key[-SEQ_BYTES:], "big")


def create_index_key(tenant: str, create_us: int, session_id: str) -> bytes:
    return tenant_prefix(tenant) + INDEX_CREATE + micros(create_us) + session_id.encode()


def update_index_key(tenant: str, update_us: int, session_id: str) -> bytes:
    return tenant_prefix(tenant) + INDEX_UPDATE + micros(update_us) + session_id.encode()


def name_index_key(tenant: str, name: str, session_id: str) -> bytes:
    return tenant_prefix(tenant) + INDEX_NAME + name.encode() + b"\x00" + session_id.encode()


def parent_index_key(tenant: str, parent_id: str, create_us: int, session_id: str) -> bytes:
    return tenant_prefix(tenant) + INDEX_PARENT + parent_id.encode() + micros(create_us) + session_id.encode()


def request_key(tenant: str, subject: str, request_id: str) -> bytes:
    """A CreateSession request id, scoped to its caller: another subject's id never matches."""
    return tenant_prefix(tenant) + INDEX_REQUEST + subject.encode() + b"\x00" + request_id.encode()


def change_request_key(tenant: str, subject: str, request_id: str) -> bytes:
    """An ApplyChanges request id: a request entry whose id starts with 0x01, which a CreateSession
    id (printable) never does, so the two kinds of retry never find each other's result."""
    return request_key(tenant, subject, "\x01" + request_id)


@functools.lru_cache(maxsize=4096)
def counter_key(tenant: str, name: str) -> bytes:
    return tenant_prefix(tenant) + INDEX_COUNTER + name.encode()


def expiry_key(expire_us: int, skey: bytes) -> bytes:
    return EXPIRY_PREFIX + micros(expire_us) + skey


def session_id_of_index_key(key: bytes) -> str:
    """Every session index key ends with the 36-byte session id."""
    return key[-36:].decode()


# -- artifacts (``artifacts`` and ``artifact_names`` CFs) ------------------------------------------
#
# artifacts:       session key + artifact id          -> record (metadata JSON + chunk table)
#                  tenant NUL "#" + artifact id       -> session id (lookup by id alone)
# artifact_names:  session key + name NUL + version   -> artifact id (live versions only)
#                  session key 0x01 + name            -> last version given (versions never repeat)
#                  session key 0x02 + request id      -> artifact id (idempotent writes, per session)
# Names never hold control characters, so 0x01/0x02 keys never mix with name keys.


def artifact_key(skey: bytes, artifact_id: str) -> bytes:
    return skey + artifact_id.encode()


def artifact_id_key(tenant: str, artifact_id: str) -> bytes:
    return tenant_prefix(tenant) + b"#" + artifact_id.encode()


def artifact_name_prefix(skey: bytes, name: str) -> bytes:
    return skey + name.encode() + b"\x00"


def artifact_name_key(skey: bytes, name: str, version: int) -> bytes:
    return artifact_name_prefix(skey, name) + version.to_bytes(4, "big")


def version_counter_key(skey: bytes, name: str) -> bytes:
    return skey + b"\x01" + name.encode()


def artifact_request_key(skey: bytes, request_id: str) -> bytes:
    return skey + b"\x02" + request_id.encode()


# -- checkpoints (``checkpoints`` CF) --------------------------------------------------------------
#
# session key + checkpoint id                         -> Checkpoint (seq, label, time) + its base seq
# session key NUL + base seq (8, BE) + checkpoint id  -> the materialised snapshot at the base seq
# Checkpoint ids start with a hex digit, so the two kinds never mix (NUL sorts first).

CHECKPOINT_ID_BYTES = 36


def checkpoint_key(skey: bytes, checkpoint_id: str) -> bytes:
    return skey + checkpoint_id.encode()


def checkpoint_body_prefix(skey: bytes) -> bytes:
    return skey + b"\x00"


def checkpoint_body_key(skey: bytes, base_seq: int, checkpoint_id: str) -> bytes:
    return checkpoint_body_prefix(skey) + base_seq.to_bytes(SEQ_BYTES, "big") + checkpoint_id.encode()


# -- content (``chunks``, ``refcounts``, ``gc``, ``staged`` CFs) and uploads -----------------------
#
# chunks:     digest                 -> chunk record (location, sizes, flags)
# refcounts:  digest                 -> references held by every tenant (what GC looks at)
#             tenant NUL digest      -> references this tenant holds (what it may see)
# gc:         digest                 -> when an unreferenced chunk may be collected
# staged:     tenant NUL digest      -> expiry + logical size of a chunk UploadChunks reserved
# uploads:    tenant NUL upload id   -> resumable upload progress (JSON)


def tenant_ref_key(tenant: str, digest: bytes) -> bytes:
    return tenant_prefix(tenant) + digest


def staged_key(tenant: str, digest: bytes) -> bytes:
    return tenant_prefix(tenant) + digest


def upload_key(tenant: str, upload_id: str) -> bytes:
    return tenant_prefix(tenant) + upload_id.encode()
