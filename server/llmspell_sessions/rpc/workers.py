"""``serve --workers N``: a parent that serves nothing itself and supervises N server processes that
share one address through SO_REUSEPORT (the kernel spreads new connections over them).

- The port: the parent binds (never listens on) a SO_REUSEPORT socket first and keeps it open, so
  "port 0" is resolved once and every worker, restarted ones included, joins that same port.
- A worker is ``python -m llmspell_sessions.rpc.workers``: its configuration arrives pickled on its
  stdin (from its own parent only), and it reports readiness as one line on its stdout. stdin then
  stays open: EOF means the parent died (even by SIGKILL), and the worker stops gracefully.
- The parent logs "serving on HOST:PORT" once every worker is ready, restarts a worker that dies
  (backing off when it dies young) and, on SIGTERM or SIGINT, stops them all gracefully.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import pickle
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from types import FrameType

from ..config import ServerConfig, SessionManagerConfig
from ..errors import InvalidArgument, Unavailable

log = logging.getLogger("llmspell_sessions.server")
_READY_TIMEOUT = 60.0  # seconds a worker gets to open the store and bind
_TICK = 0.2  # seconds between looks at the workers (and the signal flag)
_STABLE = 10.0  # a worker that lived this long restarts at once; a younger one backs off
_MAX_BACKOFF = 10.0


@dataclass(frozen=True)
class WorkerSpec:
    """All a worker process needs, sent pickled on its stdin."""

    engine: SessionManagerConfig
    server: ServerConfig
    log_level: str
    log_format: str


def reserve_port(address: str) -> tuple[socket.socket, str]:
    """Binds (without listening) a SO_REUSEPORT socket on address; returns it and HOST:PORT with the
    port resolved. A bound socket that does not listen is never handed a connection."""
    host, _, port = address.rpartition(":")
    bare = host.strip("[]")
    try:
        family, kind, proto, _, where = socket.getaddrinfo(
            bare or None, int(port), type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except (OSError, ValueError) as exc:
        raise InvalidArgument(f"cannot use address {address!r}: {exc}", field="address") from exc
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(where)
    except OSError as exc:
        sock.close()
        raise Unavailable(f"cannot bind {address}: {exc}", retry_delay=None) from exc
    return sock, f"{host}:{sock.getsockname()[1]}"


def _metrics_address(address: str, index: int) -> str:
    """Worker index's /metrics address: a fixed port P becomes P + index (each worker counts its own
    calls); port 0 stays 0 (each picks one and logs it)."""
    if not address:
        return ""
    host, _, port = address.rpartition(":")
    if not port.isdigit():
        raise InvalidArgument(f"--metrics-address {address!r} is not HOST:PORT", field="metrics_address")
    return f"{host}:{int(port) + index}" if int(port) else address


class Worker:
    """One supervised server process (restarted in place: same index, new pid)."""

    def __init__(self, index: int, spec: WorkerSpec) -> None:
        self.index = index
        self.spec = spec
        self.process: subprocess.Popen[bytes] | None = None
        self.started = 0.0
        self.ready = False
        self.failures = 0  # consecutive deaths young
        self.restarts = 0
        self.restart_at: float | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "llmspell_sessions.rpc.workers"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(pickle.dumps(self.spec))
            self.process.stdin.flush()  # and keep it open: its EOF tells the worker we are gone
        except BrokenPipeError:  # it died at once: the supervisor sees it exit and handles that
            pass
        self.started, self.ready, self.restart_at = time.monotonic(), False, None

    @property
    def pid(self) -> int:
        return self.process.pid if self.process else 0

    def read_ready(self) -> None:
        """Called when stdout is readable: the ready line, or EOF when the worker died first."""
        assert self.process is not None and self.process.stdout is not None
        self.ready = bool(self.process.stdout.readline())

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def close_pipes(self) -> None:
        if self.process is not None:
            for pipe in (self.process.stdin, self.process.stdout):
                if pipe is not None:
                    pipe.close()

    def schedule_restart(self, now: float) -> float:
        """Records a death; returns the delay before the restart."""
        self.failures = 0 if now - self.started >= _STABLE else self.failures + 1
        delay = min(_MAX_BACKOFF, 0.5 * 2 ** (self.failures - 1)) if self.failures else 0.0
        self.restart_at = now + delay
        return delay

    def terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(max(0.0, timeout))
        except subprocess.TimeoutExpired:
            log.warning("worker %d (pid %d) did not stop in time: killing it", self.index, self.pid)
            self.process.kill()
            self.process.wait()


class Supervisor:
    """Starts the workers, restarts the ones that die, and stops them all on SIGTERM or SIGINT."""

    def __init__(self, engine: SessionManagerConfig, server: ServerConfig, log_level: str, log_format: str) -> None:
        self._reserved, self.address = reserve_port(server.address)
        self.workers = []
        for index in range(server.workers):
            metrics = _metrics_address(server.metrics_address, index)
            config = dataclasses.replace(server, address=self.address, metrics_address=metrics)
            self.workers.append(Worker(index, WorkerSpec(engine, config, log_level, log_format)))
        self._grace = server.grace_period
        self._stopping = False
        self._selector = selectors.DefaultSelector()

    def run(self) -> int:
        """Serves until a signal; returns the exit code (1 when the workers could not all start)."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        try:
            for worker in self.workers:
                self._start(worker)
            if not self._await_ready():
                return 1
            log.info("%d workers (pids %s)", len(self.workers), " ".join(str(w.pid) for w in self.workers))
            log.info("serving on %s", self.address)
            while not self._stopping:
                self._tick()
            log.info("stopping: draining the workers")
            return 0
        finally:
            self._stop_all()
            self._reserved.close()
            log.info("stopped")

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._stopping = True

    def _start(self, worker: Worker) -> None:
        worker.start()
        assert worker.process is not None and worker.process.stdout is not None
        self._selector.register(worker.process.stdout, selectors.EVENT_READ, worker)

    def _await_ready(self) -> bool:
        deadline = time.monotonic() + _READY_TIMEOUT
        while not all(w.ready for w in self.workers):
            if self._stopping:
                return False
            for worker in self.workers:
                code = worker.exited()
                if code is not None:
                    log.error("worker %d (pid %d) exited with %d before it was ready", worker.index, worker.pid, code)
                    return False
            if time.monotonic() > deadline:
                log.error("the workers were not all ready within %g s", _READY_TIMEOUT)
                return False
            self._read_ready()
        return True

    def _read_ready(self) -> None:
        for key, _ in self._selector.select(_TICK):
            worker: Worker = key.data
            self._selector.unregister(key.fileobj)
            worker.read_ready()
            if worker.ready and worker.restarts:
                log.info("worker %d (pid %d) restarted and ready", worker.index, worker.pid)

    def _tick(self) -> None:
        self._read_ready()
        now = time.monotonic()
        for worker in self.workers:
            if worker.restart_at is not None:
                if now >= worker.restart_at and not self._stopping:
                    worker.restarts += 1
                    self._start(worker)
                continue
            code = worker.exited()
            if code is not None and not self._stopping:
                self._forget(worker)
                delay = worker.schedule_restart(now)
                log.warning(
                    "worker %d (pid %d) exited with %d: restarting it in %.1f s", worker.index, worker.pid, code, delay
                )

    def _forget(self, worker: Worker) -> None:
        """Lets go of a dead worker's pipes."""
        if worker.process is not None and worker.process.stdout is not None:
            try:
                self._selector.unregister(worker.process.stdout)
            except KeyError:  # already read to EOF
                pass
        worker.close_pipes()

    def _stop_all(self) -> None:
        for worker in self.workers:
            worker.terminate()
        deadline = time.monotonic() + self._grace + 5.0
        for worker in self.workers:
            worker.wait(deadline - time.monotonic())


def run_worker() -> None:
    """The worker process: its spec from stdin, then one server until SIGTERM/SIGINT or its parent's end."""
    import asyncio

    from .logs import configure_logging
    from .server import serve

    spec: WorkerSpec = pickle.load(sys.stdin.buffer)
    configure_logging(spec.log_level, spec.log_format)
    threading.Thread(target=_stop_when_orphaned, name="llmspell-parent-watch", daemon=True).start()

    def ready(server: object) -> None:
        sys.stdout.write("ready\n")
        sys.stdout.flush()

    asyncio.run(serve(spec.engine, spec.server, on_ready=ready))


def _stop_when_orphaned() -> None:
    # The raw descriptor, not sys.stdin: a daemon thread blocked in a buffered read aborts the
    # interpreter's shutdown. Nothing follows the spec, so any read returning means EOF.
    while os.read(sys.stdin.fileno(), 4096):
        pass
    log.warning("worker %d: the supervising parent is gone: stopping", os.getpid())
    os.kill(os.getpid(), signal.SIGTERM)


if __name__ == "__main__":
    run_worker()
