"""A throwaway PostgreSQL cluster for the test session: initdb, pg_ctl start, a fresh database per test.

The cluster lives in a private temporary directory and listens only on a unix socket there (no TCP
port at all), with trust authentication. PostgreSQL refuses to run as root, so when the tests run as
root the server programs run as the ``postgres`` user (created by Debian's package, which
``make cluster-deps`` installs) via ``runuser``, and the directory is handed to that user.

fsync is off: the cluster is deleted at the end and PostgreSQL's own durability is not what these
tests check; it keeps CREATE DATABASE and commits fast on a small machine.
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

_PORT = 5432  # only names the socket file inside the private directory: no conflict is possible


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
    """initdb + pg_ctl in a temporary directory; new_database() hands out empty databases."""

    def __init__(self, *, fsync: bool = False) -> None:
        self.fsync = fsync
        self.root = Path(tempfile.mkdtemp(prefix="llmspell-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root
        self._counter = itertools.count()
        self._prefix: list[str] = []
        self._started = False

    def _run(self, *command: str) -> None:
        result = subprocess.run(
            [*self._prefix, *command], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120
        )
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}")

    def start(self) -> PostgresCluster:
        initdb, pg_ctl = find_bin("initdb"), find_bin("pg_ctl")
        if initdb is None or pg_ctl is None:
            raise RuntimeError("PostgreSQL's initdb/pg_ctl are not installed: run `make cluster-deps`")
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self._prefix = ["runuser", "-u", "postgres", "--"]
        self._run(initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = (
            f"-c listen_addresses='' -c unix_socket_directories='{self.socket_dir}' -p {_PORT} -c max_connections=300"
        )
        if not self.fsync:
            options += " -c fsync=off -c full_page_writes=off"
        log = self.root / "server.log"
        self._run(pg_ctl, "-D", str(self.data), "-l", str(log), "-o", options, "-w", "-t", "60", "start")
        self._started = True
        return self

    def dsn(self, dbname: str = "postgres") -> str:
        return f"host={self.socket_dir} port={_PORT} user=postgres dbname={dbname}"

    def new_database(self) -> str:
        """Creates an empty database and returns its DSN, so tests never see each other's rows."""
        import psycopg

        name = f"t{os.getpid()}_{next(self._counter)}"
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.dsn(name)

    def stop(self) -> None:
        """Stops the server (immediate: nothing in it is kept) and deletes the directory."""
        try:
            if self._started:
                pg_ctl = find_bin("pg_ctl")
                assert pg_ctl is not None
                self._run(pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            self._started = False
            shutil.rmtree(self.root, ignore_errors=True)
