"""A local PostgreSQL cluster: initdb + pg_ctl in one directory, for the tests and ``make cluster``.

By default the cluster lives in a private temporary directory and listens only on a unix socket
there (no TCP port at all); ``port=`` adds TCP on 127.0.0.1. Authentication is trust: it is for one
machine's tests and development, never for data anyone keeps. PostgreSQL refuses to run as root, so
when run as root the server programs run as the ``postgres`` user (created by Debian's package, which
``make cluster-deps`` installs) via ``runuser``, and the directory is handed to that user.

fsync is off unless asked for: a throwaway cluster's durability is not what its users check, and it
keeps CREATE DATABASE and commits fast on a small machine.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

_SOCKET_PORT = 5432  # without TCP it only names the socket file inside the private directory


def find_bin(name: str) -> str | None:
    """The PostgreSQL server program name, from PATH or the newest /usr/lib/postgresql/<ver>/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(Path(p).parts[-3].split(".")[0])
    )
    return candidates[-1] if candidates else None


class PostgresCluster:
    """initdb + pg_ctl in a directory; new_database() hands out empty databases.

    start()/stop() create and delete a throwaway cluster; start_server()/stop_server() start and stop
    the server of an existing one (its data, address and socket directory survive the stop).
    """

    def __init__(self, *, fsync: bool = False, root: Path | None = None, port: int | None = None) -> None:
        """root: a directory to keep the cluster in (default: a new temporary one, deleted by stop());
        port: listen on 127.0.0.1:port too (default: the unix socket only)."""
        self.fsync = fsync
        self.keep = root is not None
        self.root = Path(root).resolve() if root is not None else Path(tempfile.mkdtemp(prefix="llmspell-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root
        self.tcp_port = port
        self._counter = itertools.count()
        self._prefix: list[str] = []
        self._started = False

    @property
    def port(self) -> int:
        return self.tcp_port or _SOCKET_PORT

    def _run(self, *command: str) -> None:
        result = subprocess.run(
            [*self._prefix, *command], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120
        )
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}")

    @staticmethod
    def _program(name: str) -> str:
        found = find_bin(name)
        if found is None:
            raise RuntimeError(f"PostgreSQL's {name} is not installed: run `make cluster-deps`")
        return found

    def start(self) -> PostgresCluster:
        """Creates the cluster (unless root already holds one) and starts its server."""
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self._prefix = ["runuser", "-u", "postgres", "--"]
            if subprocess.run([*self._prefix, "test", "-w", str(self.root)]).returncode != 0:
                raise RuntimeError(
                    f"the postgres user cannot reach {self.root}: every directory above it must be searchable (o+x)"
                )
        if not (self.data / "PG_VERSION").exists():
            initdb = self._program("initdb")
            self._run(initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        return self.start_server()

    def running(self) -> bool:
        """Whether a server runs on this cluster's data directory (one left by an earlier run, say)."""
        if not (self.data / "postmaster.pid").exists():
            return False
        status = subprocess.run(
            [*self._prefix, self._program("pg_ctl"), "-D", str(self.data), "status"], capture_output=True
        )
        return status.returncode == 0

    def start_server(self) -> PostgresCluster:
        """Starts the server of the cluster (waits until it accepts connections); adopts one already running."""
        if self.running():
            self._started = True
            return self
        listen = "127.0.0.1" if self.tcp_port else ""
        options = (
            f"-c listen_addresses='{listen}' -c unix_socket_directories='{self.socket_dir}' -p {self.port} "
            "-c max_connections=300"
        )
        if not self.fsync:
            options += " -c fsync=off -c full_page_writes=off"
        log = self.root / "server.log"
        self._run(
            self._program("pg_ctl"), "-D", str(self.data), "-l", str(log), "-o", options, "-w", "-t", "60", "start"
        )
        self._started = True
        return self

    def stop_server(self, mode: str = "fast") -> None:
        """Stops the server, keeping the cluster: "fast" disconnects clients and shuts down cleanly,
        "immediate" is a crash (recovery at the next start)."""
        if self._started:
            self._run(self._program("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")
            self._started = False

    def dsn(self, dbname: str = "postgres") -> str:
        host = "127.0.0.1" if self.tcp_port else str(self.socket_dir)
        return f"host={host} port={self.port} user=postgres dbname={dbname}"

    def new_database(self, name: str | None = None) -> str:
        """Creates an empty database (a fresh name unless given) and returns its DSN."""
        import psycopg

        name = name or f"t{os.getpid()}_{next(self._counter)}"
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.dsn(name)

    def ensure_database(self, name: str) -> str:
        """The DSN of database name, created if it is missing."""
        import psycopg

        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
                conn.execute(f'CREATE DATABASE "{name}"')
        return self.dsn(name)

    def stop(self) -> None:
        """Stops the server at once (a throwaway cluster keeps nothing) and deletes its temporary
        directory; a cluster in a given root is stopped cleanly and kept."""
        try:
            self.stop_server("fast" if self.keep else "immediate")
        finally:
            self._started = False
            if not self.keep:
                shutil.rmtree(self.root, ignore_errors=True)
