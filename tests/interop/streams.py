"""The streaming ops of the Python interop driver: uploads (plain, resumed, interrupted, chunked
dedup), downloads (whole, ranged, cancelled, checked against a digest) and controlled replay."""

from __future__ import annotations

import dataclasses
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import grpc
from blake3 import blake3
from llmspell_sessions import ArtifactType
from llmspell_sessions._pb import artifact_pb2
from llmspell_sessions.client.errors import error_from_rpc
from llmspell_sessions.client.transfer import VerifiedFile, upload_messages
from llmspell_sessions.model import ReplayMode, ReplayStart, UploadHeader
from llmspell_sessions.wire import artifact_to_pb

from .content import generate
from .ops import CALL_TIMEOUT, UnaryOps, as_dict

MiB = 1024 * 1024
INTERRUPT_SETTLE_SECONDS = 0.5
STATUS_POLL_SECONDS = 0.2
STATUS_POLL_LIMIT_SECONDS = 10.0
REPLAY_LIMIT_SECONDS = 30.0


def header_of(a: dict[str, Any]) -> UploadHeader:
    """The UploadHeader of an upload step's args (the request fields besides content and options)."""
    fields = {k: v for k, v in a.items() if k in {f.name for f in dataclasses.fields(UploadHeader)}}
    kind = fields.pop("type", "ARTIFACT_TYPE_UNSPECIFIED").removeprefix("ARTIFACT_TYPE_")
    for name in ("expected_size", "write_offset"):
        if name in fields:
            fields[name] = int(fields[name])
    return UploadHeader(fields.pop("session_id"), fields.pop("name"), ArtifactType[kind], **fields)


def artifact_dict(artifact: Any) -> dict[str, Any]:
    return as_dict(artifact_to_pb(artifact))


def pieces(data: bytes, start: int = 0) -> list[bytes]:
    return [data[i : i + MiB] for i in range(start, len(data), MiB)]


class StreamOps(UnaryOps):
    """The ops that stream, on top of the unary ones."""

    def _content(self, a: dict[str, Any]) -> bytes:
        spec = dict(a["content"])
        if spec.get("seed") == "$random":
            spec["seed"] = self.random_seed
        self.last_content = generate(spec)
        return self.last_content

    def _uploaded(self, artifact: Any, data: bytes) -> dict[str, Any]:
        self.contents[artifact.artifact_id] = data
        if self.step.get("share"):
            self.shared.append(
                {"artifact_id": artifact.artifact_id, "content_digest": artifact.content_digest, "size": artifact.size}
            )
        return artifact_dict(artifact)

    # -- uploads ------------------------------------------------------------------------------------

    def op_upload_artifact(self, a: dict) -> dict:
        data, header = self._content(a), header_of(a)
        if "interrupt_after_messages" in a:
            return self._interrupted_upload(header, data, int(a["interrupt_after_messages"]))
        artifact = self.client.upload_artifact(header, pieces(data, header.write_offset))
        return self._uploaded(artifact, data)

    def _interrupted_upload(self, header: UploadHeader, data: bytes, messages: int) -> dict:
        """Sends the header and some data, then cancels the call; the settled upload status."""
        release = threading.Event()

        def held() -> Any:  # never half-closes: a stream that ends normally would be committed
            yield from upload_messages(header, iter(pieces(data)[:messages]))
            release.wait()

        call = self.client.stub("artifact").UploadArtifact.future(
            held(), timeout=CALL_TIMEOUT, metadata=self.client.options.metadata()
        )
        time.sleep(INTERRUPT_SETTLE_SECONDS)
        call.cancel()
        release.set()
        return self._settled_status(header.upload_id)

    def _settled_status(self, upload_id: str) -> dict:
        deadline, previous = time.monotonic() + STATUS_POLL_LIMIT_SECONDS, None
        while True:
            status = self.op_query_upload_status({"upload_id": upload_id})
            if status == previous or time.monotonic() > deadline:
                return status
            previous = status
            time.sleep(STATUS_POLL_SECONDS)

    def op_upload_chunked(self, a: dict) -> dict:
        """The client's dedup path (FindMissingChunks, UploadChunks, CommitArtifact) via upload_file."""
        data, header = self._content(a), header_of(a)
        sent: list[int] = []
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / header.name
            path.write_bytes(data)
            fields = {f.name: getattr(header, f.name) for f in dataclasses.fields(header)}
            for name in ("session_id", "name", "type", "expected_size"):
                fields.pop(name, None)
            artifact = self.client.upload_file(
                header.session_id,
                path,
                header.name,
                header.type,
                dedup=True,
                progress=lambda done, total: sent.append(done),
                **fields,
            )
        result = self._uploaded(artifact, data)
        return {**result, "bytes_sent": sent[-1] if sent else 0, "chunks_sent": len(sent)}

    # -- downloads ----------------------------------------------------------------------------------

    def op_download_artifact(self, a: dict) -> dict:
        offset, limit = int(a.get("offset", 0)), int(a.get("limit", 0))
        whole = self.contents.get(a["artifact_id"], b"")
        self.range_digest = blake3(whole[offset : offset + limit if limit else None]).hexdigest()
        if "cancel_after_bytes" in a:
            return self._cancelled_download(a["artifact_id"], int(a["cancel_after_bytes"]))
        if "expected_digest" in a:
            return self._checked_download(a["artifact_id"], a["expected_digest"])
        _, data = self.client.download_artifact(a["artifact_id"], offset, limit)
        received = b"".join(data)
        return {"size": len(received), "content_digest": blake3(received).hexdigest()}

    def _cancelled_download(self, artifact_id: str, after: int) -> dict:
        """Reads until `after` bytes arrived, cancels, reads on: the client reports CANCELLED.

        The Python client's download_artifact keeps its call to itself (no cancel), so this opens
        the stream on the client's stub with the client's options and error mapping."""
        request = artifact_pb2.DownloadArtifactRequest(artifact_id=artifact_id)
        call = self.client.stub("artifact").DownloadArtifact(request, metadata=self.client.options.metadata())
        received = 0
        try:
            for message in call:
                received += len(message.data)
                if received >= after:
                    call.cancel()
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from None
        return {"size": received}

    def _checked_download(self, artifact_id: str, expected_digest: str) -> dict:
        """The client's verified download (VerifiedFile) against expected_digest."""
        artifact, data = self.client.download_artifact(artifact_id)
        with tempfile.TemporaryDirectory() as folder:
            target = VerifiedFile(
                Path(folder) / "download", dataclasses.replace(artifact, content_digest=expected_digest)
            )
            for piece in data:
                target.write(piece)
            target.finish()  # IntegrityError on a mismatch
            received = (Path(folder) / "download").read_bytes()
        return {"size": len(received), "content_digest": blake3(received).hexdigest()}

    # -- replay -------------------------------------------------------------------------------------

    def op_replay_session(self, a: dict) -> dict:
        replay = self.client.replay_session(replay_start(a))
        frames: list[Any] = []
        arrived = threading.Condition()
        sender = threading.Thread(target=self._send_schedule, args=(replay, a.get("controls", []), frames, arrived))
        sender.daemon = True
        sender.start()
        timer = threading.Timer(REPLAY_LIMIT_SECONDS, replay.cancel)
        timer.start()
        try:
            for frame in replay:
                with arrived:
                    frames.append(frame)
                    arrived.notify_all()
        finally:
            timer.cancel()
            with arrived:
                frames.append(None)  # the end: the sender stops waiting
                arrived.notify_all()
        frames.pop()
        return {
            "seqs": [f.event.seq if f.event else 0 for f in frames],
            "statuses": ["REPLAY_STATUS_" + f.status.name for f in frames],
            "indexes": [f.index for f in frames],
            "total": frames[-1].total if frames else 0,
            "changed_keys": [list(f.changed_keys) for f in frames],
        }

    @staticmethod
    def _send_schedule(replay: Any, schedule: list[dict], frames: list, arrived: threading.Condition) -> None:
        for entry in schedule:
            after = int(entry.get("after_frame", 0))
            with arrived:
                arrived.wait_for(lambda after=after: None in frames or len(frames) >= after)
                if None in frames:
                    return
            time.sleep(entry.get("delay_ms", 0) / 1000)
            for control in entry["send"]:
                send_control(replay, control)


def replay_start(a: dict[str, Any]) -> ReplayStart:
    """The ReplayStart of a replay step's args."""
    breakpoints = a.get("breakpoints", {})
    return ReplayStart(
        a["session_id"],
        from_seq=int(a["from_seq"]) if "from_seq" in a else None,
        checkpoint_id=a.get("checkpoint_id", ""),
        to_seq=int(a.get("to_seq", 0)),
        mode=ReplayMode[a.get("mode", "REPLAY_MODE_FAST").removeprefix("REPLAY_MODE_")],
        speed=float(a.get("speed", 0.0)),
        breakpoint_seqs=[int(s) for s in breakpoints.get("seqs", [])],
        breakpoint_types=breakpoints.get("event_types", []),
        types=a.get("types", []),
    )


def send_control(replay: Any, control: str | dict[str, Any]) -> None:
    """One control of a schedule, through the client's Replay methods."""
    if isinstance(control, str):
        getattr(replay, control)()
    elif "set_speed" in control:
        replay.set_speed(float(control["set_speed"]))
    elif "add_breakpoint" in control:
        mark = control["add_breakpoint"]
        replay.add_breakpoint(int(mark.get("seq", 0)), mark.get("event_type", ""))
    else:
        raise ValueError(f"unknown replay control {control!r}")


__all__ = ["StreamOps"]
