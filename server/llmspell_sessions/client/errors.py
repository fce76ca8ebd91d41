"""gRPC status -> the same LlmspellError classes the embedded API raises."""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from google.rpc import error_details_pb2, status_pb2

from ..errors import ERROR_DOMAIN, LlmspellError, error_class_for

_DETAILS_KEY = "grpc-status-details-bin"


def error_from_status(
    code: grpc.StatusCode, message: str, trailing: Sequence[tuple[str, object]] | None
) -> LlmspellError:
    """Rebuilds the server's error from its status code, message and ErrorInfo."""
    reason, metadata, retry_delay = "", {}, None
    for key, value in trailing or ():
        if key != _DETAILS_KEY or not isinstance(value, bytes):
            continue
        for detail in status_pb2.Status.FromString(value).details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                if info.domain == ERROR_DOMAIN:
                    reason, metadata = info.reason, dict(info.metadata)
            elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                retry = error_details_pb2.RetryInfo()
                detail.Unpack(retry)
                retry_delay = retry.retry_delay.ToNanoseconds() / 1e9
    code_name = code.name if code is not None else "UNKNOWN"
    cls = error_class_for(code_name, reason)
    error = cls(message or code_name, retry_delay=retry_delay, **metadata)
    if cls is LlmspellError:  # a transport error (UNAVAILABLE, DEADLINE_EXCEEDED...): keep its code
        error.code = code_name  # type: ignore[misc]
        error.reason = reason or code_name  # type: ignore[misc]
    return error


def error_from_rpc(exc: grpc.RpcError) -> LlmspellError:
    call: grpc.Call = exc  # type: ignore[assignment]
    return error_from_status(call.code(), call.details() or "", call.trailing_metadata())
