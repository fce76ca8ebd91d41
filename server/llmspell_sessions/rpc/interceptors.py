"""The one interceptor: opens the call's tracing span (when tracing is on: see tracing.py),
authenticates, sets the correlation id, runs the call where the execution model says, and maps every
error to a status.

Servicers never catch exceptions: an LlmspellError becomes its gRPC code with a google.rpc.Status
carrying an ErrorInfo (domain, reason, metadata) and, for rate limits, a RetryInfo. Requests that do
not parse become INVALID_ARGUMENT (malformed.py). Open-ended streams (OPEN_ENDED) end with
UNAVAILABLE "server shutting down" when the server stops, instead of holding the drain to its grace.

It wraps each method handler once, when the services are registered (see WrappingRegistrar), rather
than as a grpc.aio ServerInterceptor, which costs an extra coroutine round trip on every call.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import inspect
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from .. import tracing
from ..engine.ids import uuid7
from ..errors import ERROR_DOMAIN, InternalError, LlmspellError, Unimplemented
from ..model import Caller
from ..wire.raw import passing_bytes
from .auth import Authenticator
from .execution import Execution
from .malformed import RateLimitedLog, checked_deserializer, checked_stream, refuse_malformed

log = logging.getLogger(__name__)
CORRELATION_HEADER = "x-correlation-id"
# Streams that last as long as the client wants: ended at shutdown rather than drained.
OPEN_ENDED = frozenset({"SubscribeEvents", "ReplaySession"})
SHUTDOWN_MESSAGE = "server shutting down"
_CALLER: contextvars.ContextVar[Caller] = contextvars.ContextVar("llmspell_caller")


@dataclasses.dataclass
class CallRecord:
    """One finished RPC as observers (metrics, access log) see it; never holds tokens or payloads."""

    method: str
    started: float = dataclasses.field(default_factory=time.perf_counter)
    code: str = "OK"
    duration: float = 0.0
    caller: Caller | None = None
    response: Any = None  # unary responses only (observers read sizes from Artifact results)


Observer = Callable[[CallRecord], None]


def current_caller() -> Caller:
    """The caller of the RPC being served (set by the interceptor)."""
    return _CALLER.get()


def begin_call(
    call: CallRecord, authenticator: Authenticator, authorization: Sequence[str], correlation: str
) -> Caller:
    """The one way a call (an RPC, or a console request) gets its caller: the token's, with the
    call's correlation id (a new one when the client sent none), made the running task's
    current_caller and recorded on ``call``."""
    caller = authenticator.caller(authorization)
    # Built directly: dataclasses.replace() costs 3x more on this per-call path.
    call.caller = Caller(caller.tenant, caller.subject, caller.role, correlation[:128] or uuid7())
    _CALLER.set(call.caller)
    return call.caller


def report_call(call: CallRecord, observers: Sequence[Observer]) -> None:
    """Tells the observers (access log, metrics) about a finished call; they never fail it."""
    call.duration = time.perf_counter() - call.started
    for observer in observers:
        try:
            observer(call)
        except Exception:  # noqa: BLE001 - observing must never fail a call
            log.debug("observer failed for %s", call.method, exc_info=True)


def status_for(error: LlmspellError) -> grpc.Status:
    info = error_details_pb2.ErrorInfo(reason=error.reason, domain=ERROR_DOMAIN, metadata=error.metadata)
    details = [info]
    if error.retry_delay is not None:
        delay = duration_pb2.Duration()
        delay.FromNanoseconds(int(error.retry_delay * 1e9))
        details.append(error_details_pb2.RetryInfo(retry_delay=delay))
    packed = []
    for detail in details:
        holder = any_pb2.Any()
        holder.Pack(detail)
        packed.append(holder)
    code = getattr(code_pb2, error.code)
    return rpc_status.to_status(status_pb2.Status(code=code, message=error.message, details=packed))


class ServiceInterceptor:
    """Wraps every handler: its span, caller resolution, correlation ids, execution, error mapping and
    observers."""

    def __init__(
        self,
        authenticator: Authenticator,
        observers: Sequence[Observer] = (),
        execution: Execution | None = None,
        admit: Callable[[str], None] | None = None,
    ) -> None:
        """admit, when given, runs before every call (with its method) and may refuse it by raising
        (what its service needs is down)."""
        self._authenticator = authenticator
        self._admit = admit
        self._observers = tuple(observers)
        self.execution = execution or Execution()
        self._malformed = RateLimitedLog()
        # Open-ended streams now awaiting their next item. Only those are cancelled at shutdown: a
        # task cancelled while grpc sends one of its items dies inside grpc, which then holds the call
        # open for the whole grace period. The others see _stopping when the send returns.
        self._waiting_streams: set[asyncio.Task[Any]] = set()
        self._stopping = False
        self._in_flight = 0
        self._idle: asyncio.Event | None = None  # set when the last call in flight ends while stopping

    def wrap_handler(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        """The same handler with its behaviour wrapped (one of the four kinds is set)."""
        handler = handler._replace(
            request_deserializer=checked_deserializer(handler.request_deserializer, method, self._malformed)
        )
        if handler.unary_unary:
            return handler._replace(unary_unary=self._wrap_unary(handler.unary_unary, method, False))
        if handler.stream_unary:
            return handler._replace(stream_unary=self._wrap_unary(handler.stream_unary, method, True))
        serializer = passing_bytes(handler.response_serializer)
        if handler.unary_stream:
            wrapped = self._wrap_stream(handler.unary_stream, method, False)
            return handler._replace(unary_stream=wrapped, response_serializer=serializer)
        wrapped = self._wrap_stream(handler.stream_stream, method, True)
        return handler._replace(stream_stream=wrapped, response_serializer=serializer)

    def begin_drain(self) -> None:
        """The server is stopping: new calls are refused with UNAVAILABLE (health and reflection are
        not wrapped: they go on answering NOT_SERVING) and open-ended streams end with it."""
        self._stopping = True
        self._idle = asyncio.Event()
        if not self._in_flight:
            self._idle.set()
        for task in list(self._waiting_streams):
            task.cancel(SHUTDOWN_MESSAGE)

    async def drained(self, timeout: float) -> bool:
        """Waits (at most timeout seconds) until no call begun before begin_drain is in flight."""
        if self._idle is None:
            return not self._in_flight
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def _begin(self) -> None:
        if self._stopping:
            raise _ShuttingDown
        self._in_flight += 1

    def _end(self) -> None:
        self._in_flight -= 1
        if not self._in_flight and self._idle is not None:
            self._idle.set()

    def _enter(
        self, context: grpc.aio.ServicerContext, call: CallRecord, request: Any, streaming: bool, span: Any
    ) -> Any:
        """Resolves the caller; returns the request to hand on (checked for parse failures)."""
        pairs = context.invocation_metadata() or ()
        tokens = [value for key, value in pairs if key == "authorization"]
        correlation = str(dict(pairs).get(CORRELATION_HEADER) or "")
        caller = begin_call(call, self._authenticator, tokens, correlation)
        tracing.annotate(span, {"llmspell.correlation_id": caller.correlation_id, "llmspell.tenant": caller.tenant})
        if self._admit is not None:
            self._admit(call.method)
        if streaming:
            return checked_stream(request)
        refuse_malformed(request)
        return request

    def _finish(self, call: CallRecord, span: Any = None) -> None:
        tracing.finish_rpc(span, call.code)
        report_call(call, self._observers)

    def _wrap_unary(self, behavior: Callable[..., Any], method: str, streaming: bool) -> Callable[..., Awaitable[Any]]:
        # Plain functions are blocking engine calls: the execution model decides where they run.
        run = behavior if inspect.iscoroutinefunction(behavior) else self.execution.unary(method, behavior)

        async def wrapped(request: Any, context: grpc.aio.ServicerContext) -> Any:
            call = CallRecord(method)
            with tracing.rpc_span(method, context.invocation_metadata()) as span:
                counted = False
                try:
                    self._begin()
                    counted = True
                    request = self._enter(context, call, request, streaming, span)
                    call.response = await run(request, context)
                    return call.response
                except Exception as error:  # noqa: BLE001 - the last line of defence: never a bare crash
                    await _abort(context, error, call)
                except asyncio.CancelledError:
                    call.code = "CANCELLED"
                    raise
                finally:
                    if counted:
                        self._end()
                    self._finish(call, span)

        return wrapped

    def _wrap_stream(self, behavior: Callable[..., AsyncIterator[Any]], method: str, streaming: bool) -> Any:
        open_ended = method.rsplit("/", 1)[-1] in OPEN_ENDED

        async def wrapped(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            call = CallRecord(method)
            # Only open-ended streams are tracked: the others end by themselves within the grace.
            waiting = self._waiting_streams if open_ended else set()
            task = asyncio.current_task()
            assert task is not None  # grpc.aio runs every call in a task
            with tracing.rpc_span(method, context.invocation_metadata()) as span:
                counted = False
                try:
                    self._begin()
                    counted = True
                    request = self._enter(context, call, request, streaming, span)
                    waiting.add(task)
                    async for item in behavior(request, context):
                        waiting.discard(task)
                        yield item
                        if open_ended and self._stopping:
                            raise _ShuttingDown
                        waiting.add(task)
                except Exception as error:  # noqa: BLE001
                    await _abort(context, error, call)
                except asyncio.CancelledError:
                    if not (open_ended and self._stopping):
                        call.code = "CANCELLED"
                        raise
                    await _abort(context, _ShuttingDown(), call)
                except GeneratorExit:
                    call.code = "CANCELLED"
                    raise
                finally:
                    waiting.discard(task)
                    if counted:
                        self._end()
                    self._finish(call, span)

        return wrapped


class _ShuttingDown(Exception):
    """An open-ended stream met the server's shutdown: a plain UNAVAILABLE, which clients retry elsewhere."""


class GenericOnly:
    """Stands in for the server in generated add_*Servicer_to_server functions and registers their
    handlers as generic ones only. grpc.aio keeps one pending task per *registered* method and
    waits on all of them (asyncio.wait) for every call: with our 40-odd methods that was a fifth of
    a CreateSession's busy time under cProfile (bench/README.md, "The unary path"); a generic
    lookup is one dict get."""

    def __init__(self, server: grpc.aio.Server) -> None:
        self._server = server

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        self._server.add_generic_rpc_handlers(handlers)

    def add_registered_method_handlers(self, service: str, handlers: dict[str, grpc.RpcMethodHandler]) -> None:
        """Ignored: the generated code registers the same handlers as generic ones too."""


class WrappingRegistrar:
    """Stands in for the server in the generated add_*Servicer_to_server functions and registers
    their method handlers already wrapped by the interceptor; a method named in request_readers
    reads its requests with that function instead of the generated parser."""

    def __init__(
        self,
        server: grpc.aio.Server,
        interceptor: ServiceInterceptor,
        request_readers: Mapping[str, Callable[[bytes], Any]] | None = None,
    ) -> None:
        self._server = server
        self._interceptor = interceptor
        self._readers = dict(request_readers or {})

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        """Ignored: add_registered_method_handlers, which the same functions call, registers them."""

    def add_registered_method_handlers(self, service: str, handlers: dict[str, grpc.RpcMethodHandler]) -> None:
        wrapped = {}
        for name, handler in handlers.items():
            method = f"/{service}/{name}"
            if method in self._readers:
                handler = handler._replace(request_deserializer=self._readers[method])
            wrapped[name] = self._interceptor.wrap_handler(handler, method)
        # As generic handlers only, for the reason GenericOnly gives.
        self._server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, wrapped),))


async def _abort(context: grpc.aio.ServicerContext, error: Exception, call: CallRecord) -> None:
    if _is_abort(error):
        code = context.code() if hasattr(context, "code") else None
        call.code = getattr(code, "name", None) or "UNKNOWN"
        raise error
    if isinstance(error, _ShuttingDown):
        call.code = "UNAVAILABLE"
        await context.abort(grpc.StatusCode.UNAVAILABLE, SHUTDOWN_MESSAGE)
    if isinstance(error, NotImplementedError):  # a generated base method: not served yet
        error = Unimplemented(f"{call.method} is not implemented by this server")
    if not isinstance(error, LlmspellError):
        log.error("unexpected error in %s", call.method, exc_info=error)
        error = InternalError(f"internal error in {call.method}")
    call.code = error.code
    await context.abort_with_status(status_for(error))


def _is_abort(error: Exception) -> bool:
    # grpc.aio raises AbortError (an internal class) out of context.abort*; let it through.
    return type(error).__name__ in ("AbortError", "UsageError") or isinstance(error, grpc.RpcError)
