"""Server logging: text or JSON lines on stderr, and the per-RPC access log.

Records go through a queue to a writer thread, so a slow reader of stderr never stalls the event
loop. The access log carries the method, code, duration, correlation id, tenant and subject of a
call; never its token, request or response.
"""

from __future__ import annotations

import atexit
import logging
import logging.handlers
import queue
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson

from .interceptors import CallRecord
from .metrics import short_method

ACCESS_LOGGER = "llmspell_sessions.access"
ACCESS_FIELDS = ("method", "code", "duration_ms", "correlation_id", "tenant", "subject")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, access fields, and error if any."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ACCESS_FIELDS:
            if hasattr(record, name):
                line[name] = getattr(record, name)
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    """The classic one-line format, with the access fields appended as key=value."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = [f"{n}={getattr(record, n)}" for n in ACCESS_FIELDS[3:] if getattr(record, n, "")]
        return f"{text} {' '.join(fields)}" if fields else text


def configure_logging(level: str = "INFO", log_format: str = "text", stream: TextIO | None = None) -> None:
    """Sends every record at ``level`` or above to stderr (through a writer thread) in that format."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    listener = logging.handlers.QueueListener(records, handler)
    root = logging.getLogger()
    root.handlers[:] = [_PassThroughQueueHandler(records)]
    root.setLevel(level.upper())
    listener.start()
    atexit.register(listener.stop)


class _PassThroughQueueHandler(logging.handlers.QueueHandler):
    """Queues records unformatted, so the writer's formatter still sees the extra fields."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        record.msg, record.args = record.getMessage(), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        return record


class AccessLog:
    """The interceptor observer that writes one INFO line per finished RPC."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._log = logger or logging.getLogger(ACCESS_LOGGER)

    def __call__(self, call: CallRecord) -> None:
        if not self._log.isEnabledFor(logging.INFO):
            return
        method, millis = short_method(call.method), round(call.duration * 1000, 3)
        caller = call.caller
        extra = {
            "method": method,
            "code": call.code,
            "duration_ms": millis,
            "correlation_id": caller.correlation_id if caller else "",
            "tenant": caller.tenant if caller else "",
            "subject": caller.subject if caller else "",
        }
        self._log.info("%s %s %.1fms", method, call.code, millis, extra=extra)
