"""grpc.health.v1 and server reflection (v1alpha, and the same protocol under the v1 name)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2, reflection_pb2_grpc
from grpc_reflection.v1alpha._async import ReflectionServicer

from ..errors import Unavailable
from .interceptors import GenericOnly

REFLECTION_V1 = "grpc.reflection.v1.ServerReflection"
log = logging.getLogger("llmspell_sessions.server")


def add_health(server: grpc.aio.Server) -> health.aio.HealthServicer:
    """Serves health for "" and every service, NOT_SERVING until set_serving()."""
    servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, GenericOnly(server))  # type: ignore[arg-type]
    return servicer


async def set_status(servicer: health.aio.HealthServicer, services: list[str], serving: bool) -> None:
    for name in ["", *services]:
        await set_status_of(servicer, name, serving)


async def set_status_of(servicer: health.aio.HealthServicer, name: str, serving: bool) -> None:
    status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
    await servicer.set(name, status)


Check = tuple[Callable[[], None], tuple[str, ...]]
"""A ping (blocking; raises while what it asks is unreachable) and the health names it gates ("" is
the server as a whole, the others are service names)."""


class BackendProbe:
    """Health that follows the storage backend: every ``interval`` seconds runs each check's ping on a
    thread, and sets NOT_SERVING / SERVING for the names a check gates when its answer changes (the
    records store gates the server and every service; the object store only the artifact service, so
    sessions and their history keep serving while chunk bytes cannot be reached). A ping that hangs
    past ``timeout`` counts as a failure."""

    def __init__(
        self,
        servicer: health.aio.HealthServicer,
        checks: Sequence[Check],
        interval: float = 1.0,
        timeout: float = 3.0,
    ) -> None:
        self._servicer, self._checks = servicer, tuple(checks)
        self._interval, self._timeout = interval, timeout
        self._task: asyncio.Task[None] | None = None
        self._problems: dict[str, str] = {}  # health name -> what is unreachable, for names not serving

    def admit(self, method: str) -> None:
        """Refuses a call at once while what its service needs is known to be down: without it, each
        call would wait for a connection until the backend's own timeout before failing the same way."""
        problem = self._problems.get(method.split("/")[1] if method.startswith("/") else "")
        if problem:
            raise Unavailable(f"the storage backend is unreachable: {problem}")

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._watch())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _watch(self) -> None:
        pending: dict[int, asyncio.Future[str]] = {}
        while True:
            for index, (ping, _) in enumerate(self._checks):
                if index not in pending or pending[index].done():  # never two pings of one check at once
                    pending[index] = asyncio.ensure_future(asyncio.to_thread(_answer, ping))
            await asyncio.wait(pending.values(), timeout=self._timeout)
            problems: dict[str, str] = {}
            for index, (_, names) in enumerate(self._checks):
                future = pending[index]
                problem = future.result() if future.done() else f"no answer within {self._timeout:g} s"
                for name in names if problem else ():
                    problems.setdefault(name, problem)
            await self._set(problems)
            await asyncio.sleep(self._interval)

    async def _set(self, problems: dict[str, str]) -> None:
        changed = {
            name for name in {*problems, *self._problems} if bool(problems.get(name)) != bool(self._problems.get(name))
        }
        self._problems = problems
        for name in sorted(changed):
            if name in problems:
                log.warning("storage backend unreachable: %s NOT_SERVING (%s)", name or "server", problems[name])
            else:
                log.info("storage backend answers again: %s SERVING", name or "server")
            await set_status_of(self._servicer, name, name not in problems)


def _answer(ping: Callable[[], None]) -> str:
    """ "" when ping answers, otherwise what went wrong."""
    try:
        ping()
    except Exception as error:  # noqa: BLE001 - any failure means "not serving", never a dead probe
        return getattr(error, "message", "") or str(error) or type(error).__name__
    return ""


class MethodAwareReflection(ReflectionServicer):
    """grpcio-reflection with method symbols resolved (``pkg.Service.Method``, as ghz and grpcurl ask):
    the upb descriptor pool finds services but not their methods, so fall back to the service."""

    def _file_containing_symbol(self, request: Any, fully_qualified_name: str) -> Any:
        response = super()._file_containing_symbol(request, fully_qualified_name)
        if response.HasField("error_response") and "." in fully_qualified_name:
            parent = fully_qualified_name.rsplit(".", 1)[0]
            try:
                service = self._pool.FindServiceByName(parent)
            except KeyError:
                return response
            if service.FindMethodByName(fully_qualified_name.rsplit(".", 1)[1]) is not None:
                return super()._file_containing_symbol(request, parent)
        return response


def _register_reflection_v1() -> None:
    """Adds grpc/reflection/v1/reflection.proto to the descriptor pool, so reflection can describe
    the v1 service it lists: v1alpha's file with the package renamed (the messages are identical)."""
    pool = descriptor_pool.Default()
    try:
        pool.FindServiceByName(REFLECTION_V1)
        return
    except KeyError:
        pass
    proto = descriptor_pb2.FileDescriptorProto()
    reflection_pb2.DESCRIPTOR.CopyToProto(proto)
    old, new = f".{proto.package}.", ".grpc.reflection.v1."
    proto.name, proto.package = "grpc/reflection/v1/reflection.proto", "grpc.reflection.v1"
    for message in proto.message_type:
        for item in message.field:
            if item.type_name:  # setting it, even to "", would mark a scalar field as a message
                item.type_name = item.type_name.replace(old, new)
    for method in proto.service[0].method:
        method.input_type, method.output_type = (
            method.input_type.replace(old, new),
            method.output_type.replace(old, new),
        )
    pool.Add(proto)


def add_reflection(server: grpc.aio.Server, services: list[str]) -> None:
    """Reflection under v1alpha (grpcio-reflection) and v1: the two protocols are wire-identical."""
    names = [
        *services,
        health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
        reflection.SERVICE_NAME,
        REFLECTION_V1,
    ]
    _register_reflection_v1()
    servicer = MethodAwareReflection(names)
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(servicer, GenericOnly(server))  # type: ignore[arg-type]
    handler = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(REFLECTION_V1, {"ServerReflectionInfo": handler}),)
    )
