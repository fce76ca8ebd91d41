"""SeaweedFS (``weed mini``: master, volume server, filer and S3 gateway in one process) on 127.0.0.1,
for the development cluster and the tests.

The binary is built by ``make cluster-deps`` into ``.tools/bin/weed`` (from the Go module proxy). Every
port is on loopback (free ports below the ephemeral range unless the S3 port is given), telemetry is
off, and the gateway accepts only requests signed by one identity (an ``-s3.config`` identities file),
so clients use real SigV4 signing with AWS_* credentials (``env()``). Measured here: the first PUT
~5 s after start, a stop in ~2 s (``weed server -s3``: ~11 s and 10 s); a restart over the same
directory ~15 s to its first PUT. stop()/start() keep the data directory and ports.
"""

from __future__ import annotations

import json
import random
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

ACCESS_KEY = "llmspell-dev"
SECRET_KEY = "llmspell-dev-secret"  # a loopback-only development store: not a secret
REGION = "us-east-1"
_READY_BUCKET = "llmspell-ready"


def free_ports(count: int) -> list[int]:
    """Free loopback ports below the ephemeral range (32768+): after stop(), an outgoing connection
    could otherwise take one of them and start() would fail to bind it."""
    ports: list[int] = []
    while len(ports) < count:
        port = random.randrange(10000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        if port not in ports:
            ports.append(port)
    return ports


class SeaweedS3:
    """An S3 endpoint on loopback; start() returns once a signed PUT succeeds."""

    def __init__(self, binary: str | Path, root: Path | None = None, s3_port: int = 0) -> None:
        """root: where the data lives (a new temporary directory by default, deleted by destroy())."""
        self.binary = str(binary)
        self.root = root or Path(tempfile.mkdtemp(prefix="llmspell-s3-"))
        (self.root / "data").mkdir(parents=True, exist_ok=True)
        ports = free_ports(10)
        self.s3_port = s3_port or ports[0]
        self._ports = ports[1:]
        self.endpoint = f"http://127.0.0.1:{self.s3_port}"
        self.access_key, self.secret_key, self.region = ACCESS_KEY, SECRET_KEY, REGION
        self._config = self.root / "s3.json"
        identity = {"name": "llmspell", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}]}
        identity["actions"] = ["Admin", "Read", "Write", "List", "Tagging"]
        self._config.write_text(json.dumps({"identities": [identity]}))
        self.process: subprocess.Popen[bytes] | None = None
        self._last_error = ""

    def _command(self) -> list[str]:
        master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3_grpc, admin, admin_grpc = self._ports
        return [
            self.binary, "mini", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={self.root / 'data'}",
            "-master.telemetry=false", "-master.resumeState=false", f"-master.port={master}",
            f"-master.port.grpc={master_grpc}",
            f"-volume.port={volume}", f"-volume.port.grpc={volume_grpc}",
            f"-filer.port={filer}", f"-filer.port.grpc={filer_grpc}",
            f"-s3.port={self.s3_port}", f"-s3.port.grpc={s3_grpc}", f"-s3.config={self._config}",
            "-s3.port.iceberg=0", "-s3.port.lance=0", "-webdav=false",
            "-admin.ui=false", f"-admin.port={admin}", f"-admin.port.grpc={admin_grpc}", "-admin.port.legacy=0",
        ]  # fmt: skip

    def env(self) -> dict[str, str]:
        """The AWS_* variables a client of this endpoint needs."""
        return {"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key,
                "AWS_REGION": self.region}  # fmt: skip

    def start(self, timeout: float = 90.0) -> SeaweedS3:
        """Starts the process and returns once a signed PUT succeeds (the S3 port answers some seconds
        before the filer and volume server accept data)."""
        log = open(self.root / "weed.log", "ab")  # noqa: SIM115 - the child keeps writing to it
        self.process = subprocess.Popen(
            self._command(), stdout=log, stderr=subprocess.STDOUT, cwd=self.root, start_new_session=True
        )
        log.close()
        deadline = time.monotonic() + timeout
        while not self._accepts_writes():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                log_tail = (self.root / "weed.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"SeaweedFS did not start ({self._last_error}):\n{log_tail}")
            time.sleep(0.2)
        return self

    def _accepts_writes(self) -> bool:
        from ..errors import LlmspellError
        from ..storage.s3blobs import S3BlobStore  # the s3 extra (obstore)

        try:
            store = S3BlobStore(
                self.endpoint, _READY_BUCKET, credentials=self.env(), connect_timeout=1, timeout=3, retries=0
            )
            try:
                store.append([(bytes(32), b"ready")])
            finally:
                store.close()
        except LlmspellError as exc:  # not up yet, whatever the symptom
            self._last_error = str(exc)
            return False
        return True

    def stop(self) -> None:
        """SIGKILL, an abrupt outage (a completed PUT was written before it was acknowledged); the data
        directory and ports stay for a later start()."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def destroy(self) -> None:
        """Stops the process and deletes its directory."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
