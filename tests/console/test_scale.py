"""Speed by construction: with 10,000 sessions and a 100,000-event session the pages render one page
of rows from a bounded number of calls (nothing loads a whole listing or log). Nothing is timed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from llmspell_sessions import SessionManager
from llmspell_sessions.client import SessionClient
from llmspell_sessions.config import SessionManagerConfig
from llmspell_sessions.model import Caller, Role
from selenium.webdriver.common.by import By

from .browser import find, find_all, requests_made, set_value, shown_state, visit, wait
from .console import Console, start_console

SESSIONS = 10_000
EVENTS = 100_000
BATCH = 1000  # the engine's most events per append
SESSIONS_PAGE, EVENTS_PAGE = 50, 100  # pages/sessions.js, pages/timeline.js


def seed(store: Path) -> str:
    """Writes the sessions and the long session straight through the engine (seconds, not minutes);
    returns the long session's id."""
    manager = SessionManager(
        SessionManagerConfig(
            storage_path=str(store), max_sessions=SESSIONS * 2, rate_limit_global=0, rate_limit_per_session=0
        )
    )
    caller = Caller("acme", "alice", Role.ADMIN)
    try:
        for i in range(SESSIONS):
            manager.new_session(name=f"bulk {i:05}", tags=["bulk"], caller=caller)
        long = manager.new_session(name="long run", caller=caller).session_id
        for start in range(0, EVENTS, BATCH):
            events = [{"type": "tool.call", "payload": {"i": start + j}} for j in range(BATCH - 1)]
            manager.apply_changes(
                long, {"progress": start, "last": {"batch": start // BATCH}}, events=events, caller=caller
            )
        return long
    finally:
        manager.close()


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Console, str]]:
    directory = tmp_path_factory.mktemp("big")
    long = seed(directory / "store")
    running = start_console(directory)
    yield running, long
    running.server.stop()


def test_ten_thousand_sessions_render_one_page(driver: Any, big: tuple[Console, str]) -> None:
    console, _ = big
    visit(driver, console, "#/sessions")
    wait(driver).until(lambda d: len(find_all(d, "session-row")) == SESSIONS_PAGE)
    wait(driver).until(lambda d: find(d, "sessions-total").text.startswith(f"{SESSIONS + 1} sessions"))
    assert find(driver, "count-active").text.split()[0] == str(SESSIONS + 1)
    driver.execute_script("location.hash = '#/stats'")
    visit(driver, console, "#/sessions")
    wait(driver).until(lambda d: len(find_all(d, "session-row")) == SESSIONS_PAGE)
    assert requests_made(driver) <= 6  # one page + five state counts
    find(driver, "next-page").click()
    wait(driver).until(lambda d: "page 2" in find(d, "sessions-total").text)
    assert len(find_all(driver, "session-row")) == SESSIONS_PAGE


def test_a_hundred_thousand_events_render_one_page(driver: Any, big: tuple[Console, str]) -> None:
    console, long = big
    with SessionClient(console.address, token="tok-alice") as alice:
        last = alice.get_session(long).last_event_seq
        assert last > EVENTS
        driver.execute_script("location.hash = '#/stats'")
        visit(driver, console, f"#/sessions/{long}")
        wait(driver).until(lambda d: len(find_all(d, "event-row")) == EVENTS_PAGE)
        assert json.loads(shown_state(driver, last)) == alice.get_snapshot(long).state
        # the session, its forks, one events page, the state, the checkpoints and the live tail
        assert requests_made(driver) <= 6
        assert find(driver, "seq-slider").get_attribute("max") == str(last)
        middle = last // 2
        set_value(driver, find(driver, "seq-slider"), middle)
        assert json.loads(shown_state(driver, middle)) == alice.get_snapshot(long, at_seq=middle).state
        find(driver, "events-more").click()
        wait(driver).until(lambda d: len(find_all(d, "event-row")) == 2 * EVENTS_PAGE)
        set_value(driver, find(driver, "events-after"), 90_000)
        find(driver, "events-apply").click()
        wait(driver).until(lambda d: find_all(d, "event-row")[0].get_attribute("data-seq") == "90001")
        assert len(driver.find_elements(By.CSS_SELECTOR, "[data-testid=event-row]")) == EVENTS_PAGE
