"""The console's JSON API as gRPC-JSON transcoding: a request body is the proto3 JSON of an RPC's
request message, handed to the very servicer method the gRPC port runs, under the same caller,
admission check, execution model and observers (access log, metrics). So no access, tenant, grant,
limit or rate rule lives here: the engine behind the servicers applies them all.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import orjson
from aiohttp import web
from google.protobuf import json_format
from google.protobuf.message import Message

from .._pb import artifact_pb2, replay_pb2, session_pb2
from ..errors import InvalidArgument, LlmspellError
from ..rpc.artifact_servicer import ArtifactServicer
from ..rpc.interceptors import CORRELATION_HEADER, CallRecord, begin_call, report_call
from ..rpc.replay_servicer import ReplayServicer
from ..rpc.session_servicer import SessionServicer
from .errors import RouteNotFound

if TYPE_CHECKING:
    from ..rpc.server import Server

log = logging.getLogger(__name__)
PACKAGE = "llmspell.sessions.v1"
# The unary RPCs the console calls; everything else (uploads, imports, backups, grants) stays gRPC-only.
UNARY = {
    "SessionService": ("GetSession", "ListSessions"),
    "ReplayService": (
        "ListEvents",
        "ListCheckpoints",
        "CreateCheckpoint",
        "GetSnapshot",
        "CompareSnapshots",
        "ForkSession",
        "RewindSession",
    ),
    "ArtifactService": ("GetArtifact", "ListArtifacts", "GetStorageStats"),
}
MODULES = {"SessionService": session_pb2, "ReplayService": replay_pb2, "ArtifactService": artifact_pb2}


@dataclasses.dataclass(frozen=True)
class Rpc:
    """One callable RPC: its full gRPC name, request message class, and its servicer method wrapped
    by the server's execution model (built once)."""

    full_method: str
    request_type: type[Message]
    run: Callable[..., Awaitable[Any]]  # the servicer method where the execution model runs it


def full_method(service: str, name: str) -> str:
    """The gRPC method path the access log and metrics know the call by."""
    return f"/{PACKAGE}.{service}/{name}"


M = TypeVar("M", bound=Message)


def parse(body: bytes, message_type: type[M]) -> M:
    """The proto3 JSON body as a request message (an empty body is the empty message)."""
    try:
        return json_format.Parse(body or b"{}", message_type())
    except (json_format.ParseError, UnicodeDecodeError) as error:
        raise InvalidArgument(f"bad {message_type.DESCRIPTOR.name} JSON: {error}") from None


def to_json(message: Message) -> dict[str, Any]:
    """A response message as proto3 JSON (field names as in the protos, zero values included)."""
    return json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def json_response(body: Any) -> web.Response:
    return web.Response(body=orjson.dumps(body), content_type="application/json")


class Calls:
    """The servicers, and the per-call scope the gRPC interceptor gives an RPC."""

    def __init__(self, server: Server) -> None:
        self._authenticator = server.authenticator
        self._admit = server.probe.admit
        self._observers = server.observers
        self.sessions = SessionServicer(server.manager, server.execution)
        self.replay = ReplayServicer(server.manager)
        self.artifacts = ArtifactServicer(server.manager, server.config.max_message_size, server.execution)
        servicers = {"SessionService": self.sessions, "ReplayService": self.replay, "ArtifactService": self.artifacts}
        self._rpcs = {
            f"{service}/{name}": Rpc(
                full_method(service, name),
                getattr(MODULES[service], _input_name(service, name)),
                server.execution.unary(full_method(service, name), getattr(servicers[service], name)),
            )
            for service, names in UNARY.items()
            for name in names
        }

    async def unary(self, request: web.Request) -> web.Response:
        """POST /api/{service}/{method}: one unary RPC, answered with its response's JSON."""
        rpc = self._rpcs.get(f"{request.match_info['service']}/{request.match_info['method']}")
        if rpc is None:
            raise RouteNotFound(f"no console call {request.path}")
        message = parse(await request.read(), rpc.request_type)
        with self.scope(request, rpc.full_method) as call:
            call.response = await rpc.run(message, None)
        return json_response(to_json(call.response))

    async def check_session(self, session_id: str) -> None:
        """Raises what GetSession raises for the current caller (a malformed id, another tenant's or an
        unknown session, one it may not read): a stream calls it before its status line is sent, so those
        are answered with their HTTP status rather than as the only line of a 200."""
        await self._rpcs["SessionService/GetSession"].run(session_pb2.GetSessionRequest(session_id=session_id), None)

    @contextmanager
    def scope(self, request: web.Request, method: str) -> Iterator[CallRecord]:
        """Resolves the caller from the Authorization header(s), makes it the task's current_caller,
        runs the backend admission check, and reports the finished call to the observers."""
        call = CallRecord(method)
        try:
            authorization = request.headers.getall("Authorization", [])
            begin_call(call, self._authenticator, authorization, request.headers.get(CORRELATION_HEADER, ""))
            self._admit(method)
            yield call
        except asyncio.CancelledError:
            call.code = "CANCELLED"
            raise
        except Exception as error:
            call.code = error.code if isinstance(error, LlmspellError) else "INTERNAL"
            raise
        finally:
            report_call(call, self._observers)


def _input_name(service: str, name: str) -> str:
    descriptor = MODULES[service].DESCRIPTOR.services_by_name[service].methods_by_name[name]
    return str(descriptor.input_type.name)
