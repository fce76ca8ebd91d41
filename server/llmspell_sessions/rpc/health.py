"""grpc.health.v1 and server reflection (v1alpha, and the same protocol under the v1 name)."""

from __future__ import annotations

from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2, reflection_pb2_grpc
from grpc_reflection.v1alpha._async import ReflectionServicer

REFLECTION_V1 = "grpc.reflection.v1.ServerReflection"


def add_health(server: grpc.aio.Server) -> health.aio.HealthServicer:
    """Serves health for "" and every service, NOT_SERVING until set_serving()."""
    servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    return servicer


async def set_status(servicer: health.aio.HealthServicer, services: list[str], serving: bool) -> None:
    status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
    for name in ["", *services]:
        await servicer.set(name, status)


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


def add_reflection(server: grpc.aio.Server, services: list[str]) -> None:
    """Reflection under v1alpha (grpcio-reflection) and v1: the two protocols are wire-identical."""
    names = [*services, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME]
    servicer = MethodAwareReflection(names)
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(servicer, server)
    handler = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(REFLECTION_V1, {"ServerReflectionInfo": handler}),)
    )
