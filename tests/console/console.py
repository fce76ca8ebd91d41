"""The console under test: a real server with tokens and --console-address, HTTP helpers, and
Debian's chromium driven by Selenium through chromium-driver."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.server import ServerProcess

CONSOLE_LINE = re.compile(r"console on (\S+:\d+)")
CHROMEDRIVER = "/usr/bin/chromedriver"
# token -> (tenant, role); each token is also its subject's name
TOKENS = {
    "tok-alice": ("acme", "admin"),
    "tok-rita": ("acme", "reader"),
    "tok-walt": ("acme", "writer"),
    "tok-eve": ("evil", "admin"),
}
API_HEADERS = {"Content-Type": "application/json", "X-Llmspell-Console": "1"}


def write_config(directory: Path) -> Path:
    """A server TOML with one [[auth.tokens]] per entry of TOKENS."""
    lines = []
    for token, (tenant, role) in TOKENS.items():
        digest = hashlib.sha256(token.encode()).hexdigest()
        lines.append(
            f'[[auth.tokens]]\nsha256 = "{digest}"\nsubject = "{token[4:]}"\ntenant = "{tenant}"\nrole = "{role}"\n'
        )
    config = directory / "server.toml"
    config.write_text("\n".join(lines))
    return config


@dataclass
class Console:
    """A running server with its console: the gRPC address, the console's HOST:PORT and the process."""

    server: ServerProcess

    @property
    def address(self) -> str:
        return self.server.address

    @property
    def http(self) -> str:
        for line in self.server.log:
            if match := CONSOLE_LINE.search(line):
                return match.group(1)
        raise AssertionError("the server did not log 'console on HOST:PORT':\n" + "".join(self.server.log))

    @property
    def url(self) -> str:
        return f"http://{self.http}/"

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        """One HTTP exchange: (status, headers, body)."""
        host, port = self.http.rsplit(":", 1)
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
            connection.request(method, path, body=data, headers=headers or {})
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            connection.close()

    def api(self, call: str, body: Any = None, token: str = "tok-alice", **extra: str) -> tuple[int, Any]:
        """POST /api/<call> as the console's pages send it: (status, JSON body)."""
        headers = {**API_HEADERS, **({"Authorization": f"Bearer {token}"} if token else {}), **extra}
        status, _, data = self.request("POST", f"/api/{call}", body if body is not None else {}, headers)
        return status, json.loads(data) if data else None

    def ndjson(self, call: str, body: Any, token: str = "tok-alice") -> Iterator[Any]:
        """The lines of a streaming call, parsed, as they come."""
        host, port = self.http.rsplit(":", 1)
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        headers = {**API_HEADERS, "Authorization": f"Bearer {token}"}
        connection.request("POST", f"/api/{call}", body=json.dumps(body).encode(), headers=headers)
        response = connection.getresponse()
        assert response.status == 200, response.read()
        try:
            while line := response.readline():
                yield json.loads(line)
        finally:
            connection.close()


def start_console(directory: Path, env: dict[str, str] | None = None) -> Console:
    """A server over a store in directory, tokens from TOKENS, the console on a free loopback port."""
    server = ServerProcess(
        directory / "store",
        env={"LLMSPELL_SESSION_MAX_SESSIONS": "1000000", **(env or {})},
        args=["--config", str(write_config(directory)), "--console-address", "127.0.0.1:0"],
    )
    return Console(server.start())


def browser(download_dir: Path) -> Any:
    """Headless chromium under chromedriver. Without them: a skip on a developer's machine, a failure
    under CI (env CI set), where `make console-deps` installs them."""
    chromium = shutil.which("chromium")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        chromium = None
    if not chromium or not os.path.exists(CHROMEDRIVER):
        message = "Debian's chromium and chromium-driver are needed (make console-deps) with selenium (the dev extra)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
    ):
        options.add_argument(argument)
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(download_dir), "download.prompt_for_download": False}
    )
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(download_dir)})
    return driver
