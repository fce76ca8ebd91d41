"""Takes the README's screenshots of the console (docs/console/*.png) over a small demo store:
`.venv/bin/python -m tests.console.screenshots` from the repository root."""

from __future__ import annotations

import struct
import sys
import tempfile
import zlib
from pathlib import Path
from typing import Any

from llmspell_sessions.client import SessionClient
from selenium.webdriver.common.by import By

from .browser import find, find_all, set_value, shown_state, visit, wait
from .console import browser, start_console

DOCS = Path(__file__).resolve().parents[2] / "docs" / "console"
REPORT = b"""# Weekly report

The agent searched **3 sources** and wrote `summary.json`.

- fetched the pages
- ranked the results
- drafted this report
"""


def png(width: int = 96, height: int = 64) -> bytes:
    """A small gradient image for the image preview."""
    pixel = lambda x, y: bytes((x * 255 // width, y * 255 // height, 170))  # noqa: E731
    rows = b"".join(b"\x00" + b"".join(pixel(x, y) for x in range(width)) for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def demo(alice: SessionClient) -> str:
    """A few sessions, one with a history worth looking at; returns that one's id."""
    for name, tags in (("nightly eval", ["eval"]), ("support triage", ["support"]), ("data cleanup", ["batch"])):
        alice.complete_session(alice.create_session(name=name, tags=tags))
    session = alice.create_session(name="research agent", tags=["research", "demo"], metadata={"model": "m-large"})
    steps = [
        ("plan.created", {"goal": "weekly report"}),
        ("tool.call", {"tool": "search", "q": "llm agents"}),
        ("tool.result", {"hits": 12}),
        ("tool.call", {"tool": "fetch", "urls": 3}),
        ("llm.response", {"tokens": 812}),
        ("tool.call", {"tool": "rank"}),
        ("llm.response", {"tokens": 1290}),
        ("report.written", {"words": 420}),
    ]
    for i, (kind, payload) in enumerate(steps, start=1):
        state = {
            "step": i,
            "phase": kind.split(".")[0],
            "memory": {"notes": [k for k, _ in steps[:i]][-3:], "sources": min(i, 3)},
        }
        alice.apply_changes(session, state, events=[{"type": kind, "payload": payload}])
        if i == 4:
            alice.create_checkpoint(session, "after fetching")
    alice.store_artifact(session, "report.md", REPORT, mime_type="text/markdown", metadata={"draft": 1})
    alice.store_artifact(
        session, "report.md", REPORT + b"\nReviewed.\n", mime_type="text/markdown", metadata={"draft": 2}
    )
    alice.store_artifact(session, "summary.json", b'{"sources": 3, "top": ["a", "b"]}', mime_type="application/json")
    alice.store_artifact(session, "chart.png", png(), mime_type="image/png")
    alice.fork_session(session, at_seq=6, name="research agent (retry)")
    return session


def shoot(driver: Any, name: str) -> None:
    DOCS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(DOCS / f"{name}.png"))
    print(f"wrote {DOCS / name}.png")


def main() -> int:
    with tempfile.TemporaryDirectory() as directory:
        console = start_console(Path(directory))
        driver = browser(Path(directory))
        try:
            with SessionClient(console.address, token="tok-alice") as alice:
                session = demo(alice)
            visit(driver, console, "#/sessions")
            wait(driver).until(lambda d: len(find_all(d, "session-row")) == 5)
            shoot(driver, "sessions")
            visit(driver, console, f"#/sessions/{session}")
            find(driver, "event-row")
            set_value(driver, find(driver, "seq-slider"), 7)
            shown_state(driver, 7)
            set_value(driver, find(driver, "diff-from"), 7)
            find(driver, "diff-run").click()
            find(driver, "diff-row")
            shoot(driver, "session")
            visit(driver, console, f"#/sessions/{session}/artifacts")
            rows = wait(driver).until(
                lambda d: find_all(d, "artifact-row") if len(find_all(d, "artifact-row")) == 4 else None
            )
            rows[2].find_element(By.CSS_SELECTOR, "[data-testid=artifact-preview]").click()
            find(driver, "preview-markdown")
            shoot(driver, "artifacts")
            visit(driver, console, "#/stats")
            find(driver, "stats-chart")
            shoot(driver, "storage")
        finally:
            driver.quit()
            console.server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
