"""The Python interop driver: runs tests/interop/scenarios.json against a live server (see README.md)."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from blake3 import blake3
from google.protobuf import json_format
from llmspell_sessions import ArtifactType
from llmspell_sessions import wire as convert
from llmspell_sessions._pb import replay_pb2
from llmspell_sessions.client import SessionClient
from llmspell_sessions.errors import LlmspellError
from llmspell_sessions.model import UploadHeader

MiB = 1024 * 1024


def xorshift32(seed: int, size: int) -> bytes:
    x, out = seed & 0xFFFFFFFF, bytearray()
    for _ in range((size + 3) // 4):
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        out += x.to_bytes(4, "little")
    return bytes(out[:size])


class Scenario:
    """One scenario's variables and the calls its steps make."""

    def __init__(self, client: SessionClient, lang: str) -> None:
        self.client, self.lang = client, lang
        self.saved: dict[str, Any] = {}
        self.contents: dict[str, bytes] = {}
        self.shared: list[dict[str, Any]] = []

    def resolve(self, value: Any) -> Any:
        if isinstance(value, str):
            if value.startswith("$") and "." in value:
                name, field = value[1:].split(".", 1)
                return self.saved[name][field]
            return value.replace("$lang", self.lang)
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        return value

    def run(self, step: dict[str, Any]) -> dict[str, Any]:
        args = self.resolve(step.get("args", {}))
        return getattr(self, "op_" + step["op"])(args, step)

    # -- ops: each returns the result as a plain dict ------------------------------------------------

    def _msg(self, message: Any) -> dict[str, Any]:
        return json_format.MessageToDict(
            message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
        )

    def _session_call(self, method: str, request: Any) -> dict[str, Any]:
        stub = self.client.stub("session")
        return self._msg(self._raw(getattr(stub, method), request))

    def _raw(self, method: Any, request: Any) -> Any:
        import grpc
        from llmspell_sessions.client.errors import error_from_rpc

        try:
            return method(request, timeout=60)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from None

    def op_create_session(self, a: dict, step: dict) -> dict:
        from llmspell_sessions._pb import session_pb2

        request = session_pb2.CreateSessionRequest(name=a.get("name", ""), tags=a.get("tags", []))
        convert.py_to_struct(a.get("metadata", {}), request.metadata)
        return self._session_call("CreateSession", request)

    def _lifecycle(self, method: str, a: dict) -> dict:
        from llmspell_sessions._pb import session_pb2

        return self._session_call(method, getattr(session_pb2, method + "Request")(**a))

    def op_get_session(self, a: dict, step: dict) -> dict:
        return self._lifecycle("GetSession", a)

    def op_suspend_session(self, a: dict, step: dict) -> dict:
        return self._lifecycle("SuspendSession", a)

    def op_resume_session(self, a: dict, step: dict) -> dict:
        return self._lifecycle("ResumeSession", a)

    def op_complete_session(self, a: dict, step: dict) -> dict:
        return self._lifecycle("CompleteSession", a)

    def op_archive_session(self, a: dict, step: dict) -> dict:
        return self._lifecycle("ArchiveSession", a)

    def op_update_session(self, a: dict, step: dict) -> dict:
        fields = {k: v for k, v in a.items() if k not in ("session_id", "etag")}
        session = self.client.update_session(a["session_id"], etag=a.get("etag", ""), **fields)
        return {"name": session.name, "etag": session.etag}

    def op_set_session_state(self, a: dict, step: dict) -> dict:
        session = self.client.set_session_state(a["session_id"], a.get("entries", {}), a.get("delete_keys", []))
        return {"last_event_seq": session.last_event_seq, "etag": session.etag}

    def op_get_session_state(self, a: dict, step: dict) -> dict:
        return {"entries": self.client.get_session_state(a["session_id"], a.get("keys", []))}

    def op_upload_artifact(self, a: dict, step: dict) -> dict:
        spec = a.pop("content")
        data = xorshift32(spec["seed"], spec["size"])
        header = UploadHeader(
            a.pop("session_id"),
            a.pop("name"),
            ArtifactType[a.pop("type", "ARTIFACT_TYPE_UNSPECIFIED").removeprefix("ARTIFACT_TYPE_")],
            **a,
        )
        artifact = self.client.upload_artifact(header, (data[i : i + MiB] for i in range(0, len(data), MiB)))
        result = {
            "artifact_id": artifact.artifact_id,
            "size": artifact.size,
            "version": artifact.version,
            "content_digest": artifact.content_digest,
            "new_bytes": artifact.new_bytes,
        }
        self.saved["$content_digest"] = blake3(data).hexdigest()
        self.contents[artifact.artifact_id] = data
        if step.get("share"):
            self.shared.append(
                {"artifact_id": artifact.artifact_id, "content_digest": artifact.content_digest, "size": artifact.size}
            )
        return result

    def op_download_artifact(self, a: dict, step: dict) -> dict:
        offset, limit = a.get("offset", 0), a.get("limit", 0)
        _, pieces = self.client.download_artifact(a["artifact_id"], offset, limit)
        data = b"".join(pieces)
        whole = self.contents.get(a["artifact_id"], b"")
        self.saved["$range_digest"] = blake3(whole[offset : offset + limit if limit else None]).hexdigest()
        return {"size": len(data), "content_digest": blake3(data).hexdigest()}

    def op_append_events(self, a: dict, step: dict) -> dict:
        request = replay_pb2.AppendEventsRequest(session_id=a["session_id"])
        for event in a["events"]:
            new = request.events.add(type=event["type"])
            convert.py_to_struct(event.get("payload", {}), new.payload)
        if "expected_last_seq" in a:
            request.expected_last_seq = a["expected_last_seq"]
        response = self._raw(self.client.stub("replay").AppendEvents, request)
        return {"seqs": [e.seq for e in response.events], "types": [e.type for e in response.events]}

    def op_list_events(self, a: dict, step: dict) -> dict:
        request = replay_pb2.ListEventsRequest(
            session_id=a["session_id"], after_seq=a.get("after_seq", 0), types=a.get("types", [])
        )
        response = self._raw(self.client.stub("replay").ListEvents, request)
        return {"seqs": [e.seq for e in response.events], "types": [e.type for e in response.events]}

    def op_create_checkpoint(self, a: dict, step: dict) -> dict:
        return self._msg(
            self._raw(self.client.stub("replay").CreateCheckpoint, replay_pb2.CreateCheckpointRequest(**a))
        )

    def op_fork_session(self, a: dict, step: dict) -> dict:
        return self._msg(self._raw(self.client.stub("replay").ForkSession, replay_pb2.ForkSessionRequest(**a)))


def equal(expected: Any, actual: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected == actual
    if isinstance(expected, int | float) and isinstance(actual, int | float | str):
        try:
            return math.isclose(float(expected), float(actual))
        except ValueError:
            return False
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(equal(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(equal(e, x) for e, x in zip(expected, actual, strict=True))
    return expected == actual


def run_scenario(scenario: Scenario, steps: list[dict]) -> None:
    for number, step in enumerate(steps, 1):
        where = f"step {number} ({step['op']})"
        try:
            result = scenario.run(step)
        except LlmspellError as error:
            wanted = step.get("expect_error")
            if wanted and (error.code, error.reason) == (wanted["code"], wanted["reason"]):
                continue
            raise AssertionError(f"{where}: unexpected error {error.code}/{error.reason}: {error.message}") from None
        if "expect_error" in step:
            raise AssertionError(f"{where}: expected error {step['expect_error']}, got success")
        for key, value in step.get("expect", {}).items():
            wanted = (
                scenario.saved.get(value, value)
                if isinstance(value, str) and value in ("$content_digest", "$range_digest")
                else scenario.resolve(value)
            )
            if not equal(wanted, result.get(key)):
                raise AssertionError(f"{where}: {key} = {result.get(key)!r}, expected {wanted!r}")
        for key, value in step.get("expect_not", {}).items():
            if equal(scenario.resolve(value), result.get(key)):
                raise AssertionError(f"{where}: {key} should differ from {value!r}")
        if "save" in step:
            scenario.saved[step["save"]] = result


def verify(client: SessionClient, path: Path) -> None:
    shared = json.loads(path.read_text())
    for item in shared["shared"]:
        _, pieces = client.download_artifact(item["artifact_id"])
        data = b"".join(pieces)
        if len(data) != item["size"] or blake3(data).hexdigest() != item["content_digest"]:
            raise AssertionError(f"artifact {item['artifact_id']} from {shared['lang']} differs")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", required=True)
    parser.add_argument("--scenarios", required=True)
    parser.add_argument("--lang", default="python")
    parser.add_argument("--out")
    parser.add_argument("--verify", action="append", default=[])
    args = parser.parse_args(argv)
    document = json.loads(Path(args.scenarios).read_text())
    passed = failed = 0
    shared: list[dict] = []
    results: dict[str, str] = {}
    with SessionClient(args.target) as client:
        for path in args.verify:
            name = "verify:" + json.loads(Path(path).read_text())["lang"]
            try:
                verify(client, Path(path))
                passed, results[name] = passed + 1, "ok"
                print(f"ok {name}")
            except (AssertionError, LlmspellError) as error:
                failed, results[name] = failed + 1, str(error)
                print(f"FAIL {name}: {error}")
        for item in document["scenarios"]:
            scenario = Scenario(client, args.lang)
            try:
                run_scenario(scenario, item["steps"])
                passed, results[item["name"]] = passed + 1, "ok"
                print(f"ok {item['name']}")
            except (AssertionError, KeyError) as error:
                failed, results[item["name"]] = failed + 1, str(error)
                print(f"FAIL {item['name']}: {error}")
            shared.extend(scenario.shared)
    if args.out:
        Path(args.out).write_text(json.dumps({"lang": args.lang, "shared": shared, "results": results}, indent=2))
    print(f"interop: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
