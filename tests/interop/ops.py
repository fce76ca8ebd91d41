"""The unary ops of the Python interop driver: one method per op, each returning the result as a dict.

Calls go through the Python client's channel, stubs, call options (its token) and error mapping;
the request is built from the step's args by proto3 JSON (field names as in the protos).
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from typing import Any

import grpc
from google.protobuf import json_format
from llmspell_sessions._pb import replay_pb2, session_pb2
from llmspell_sessions.client import SessionClient
from llmspell_sessions.client.errors import error_from_rpc

CALL_TIMEOUT = 60.0


def as_dict(message: Any) -> dict[str, Any]:
    """A message as proto3 JSON with proto field names, defaults included."""
    return json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def parse(args: dict[str, Any], message: Any) -> Any:
    """The request message from a step's args (proto field names, enums by name)."""
    return json_format.ParseDict(args, message)


def with_events(result: dict[str, Any], key: str = "events") -> dict[str, Any]:
    events = result.get(key, [])
    return {**result, "seqs": [int(e["seq"]) for e in events], "types": [e["type"] for e in events]}


class UnaryOps:
    """A scenario's context (client, token, saved results) and its unary ops."""

    def __init__(self, client: SessionClient, lang: str, tokens: dict[str, dict[str, str]]) -> None:
        self.client, self.lang, self.tokens = client, lang, tokens
        self.base_options = client.options
        self.saved: dict[str, Any] = {}
        self.shared: list[dict[str, Any]] = []
        self.uid = secrets.token_hex(8)
        self.random_seed = secrets.randbelow(0xFFFFFFFF) + 1
        self.contents: dict[str, bytes] = {}  # artifact id -> the content this scenario uploaded
        self.last_content = b""
        self.range_digest = ""
        self.step: dict[str, Any] = {}

    def use_token(self, name: str) -> None:
        """Every following call carries the named token (none for "")."""
        token = self.tokens[name]["token"] if name else ""
        self.client.options = dataclasses.replace(self.base_options, token=token)

    def raw(self, service: str, method: str, request: Any) -> Any:
        """One unary call with the client's options; an RpcError becomes the client's LlmspellError."""
        call = getattr(self.client.stub(service), method)
        try:
            return call(request, timeout=CALL_TIMEOUT, metadata=self.client.options.metadata())
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from None

    def unary(self, service: str, method: str, request: Any) -> dict[str, Any]:
        return as_dict(self.raw(service, method, request))

    # -- sessions -----------------------------------------------------------------------------------

    def op_create_session(self, a: dict) -> dict:
        return self.unary("session", "CreateSession", parse(a, session_pb2.CreateSessionRequest()))

    def _lifecycle(self, method: str, a: dict) -> dict:
        return self.unary("session", method, parse(a, getattr(session_pb2, method + "Request")()))

    def op_get_session(self, a: dict) -> dict:
        return self._lifecycle("GetSession", a)

    def op_suspend_session(self, a: dict) -> dict:
        return self._lifecycle("SuspendSession", a)

    def op_resume_session(self, a: dict) -> dict:
        return self._lifecycle("ResumeSession", a)

    def op_complete_session(self, a: dict) -> dict:
        return self._lifecycle("CompleteSession", a)

    def op_archive_session(self, a: dict) -> dict:
        return self._lifecycle("ArchiveSession", a)

    def op_update_session(self, a: dict) -> dict:
        fields = {k: v for k, v in a.items() if k not in ("session_id", "etag")}
        session = self.client.update_session(a["session_id"], etag=a.get("etag", ""), **fields)
        return {"name": session.name, "etag": session.etag}

    def op_set_session_state(self, a: dict) -> dict:
        return self.unary("session", "SetSessionState", parse(a, session_pb2.SetSessionStateRequest()))

    def op_get_session_state(self, a: dict) -> dict:
        return {"entries": self.client.get_session_state(a["session_id"], a.get("keys", []))}

    def op_apply_changes(self, a: dict) -> dict:
        return with_events(self.unary("session", "ApplyChanges", parse(a, session_pb2.ApplyChangesRequest())))

    def op_read_session(self, a: dict) -> dict:
        result = with_events(self.unary("session", "ReadSession", parse(a, session_pb2.ReadSessionRequest())))
        result["keys"] = [entry["key"] for entry in result.get("entries", [])]
        result["artifact_names"] = [artifact["name"] for artifact in result.get("artifacts", [])]
        return result

    def op_grant_session_access(self, a: dict) -> dict:
        return self.unary("session", "GrantSessionAccess", parse(a, session_pb2.GrantSessionAccessRequest()))

    def op_revoke_session_access(self, a: dict) -> dict:
        return self.unary("session", "RevokeSessionAccess", parse(a, session_pb2.RevokeSessionAccessRequest()))

    def op_bulk_session_action(self, a: dict) -> dict:
        return self.unary("session", "BulkSessionAction", parse(a, session_pb2.BulkSessionActionRequest()))

    # -- history ------------------------------------------------------------------------------------

    def op_append_events(self, a: dict) -> dict:
        return with_events(self.unary("replay", "AppendEvents", parse(a, replay_pb2.AppendEventsRequest())))

    def op_list_events(self, a: dict) -> dict:
        return with_events(self.unary("replay", "ListEvents", parse(a, replay_pb2.ListEventsRequest())))

    def op_create_checkpoint(self, a: dict) -> dict:
        return self.unary("replay", "CreateCheckpoint", parse(a, replay_pb2.CreateCheckpointRequest()))

    def op_fork_session(self, a: dict) -> dict:
        return self.unary("replay", "ForkSession", parse(a, replay_pb2.ForkSessionRequest()))

    def op_get_snapshot(self, a: dict) -> dict:
        result = self.unary("replay", "GetSnapshot", parse(a, replay_pb2.GetSnapshotRequest()))
        return {**result, "artifact_names": sorted(x["name"] for x in result.get("artifacts", []))}

    def op_compare_snapshots(self, a: dict) -> dict:
        result = self.unary("replay", "CompareSnapshots", parse(a, replay_pb2.CompareSnapshotsRequest()))
        result["added_names"] = sorted(x["name"] for x in result.get("artifacts_added", []))
        result["removed_names"] = sorted(x["name"] for x in result.get("artifacts_removed", []))
        return result

    # -- artifacts and the rest ---------------------------------------------------------------------

    def op_query_upload_status(self, a: dict) -> dict:
        status = self.client.query_upload_status(a["upload_id"])
        return {"committed_size": status.committed_size, "complete": status.complete, "artifact_id": status.artifact_id}

    def op_sleep(self, a: dict) -> dict:
        time.sleep(a["ms"] / 1000)
        return {}


__all__ = ["CALL_TIMEOUT", "UnaryOps", "as_dict", "parse"]
