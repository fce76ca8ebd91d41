"""The console in a real browser (Debian's chromium, headless, through chromium-driver) against a
live server: every page loads, filters and paging work, the state shown at a seq is GetSnapshot at
that seq, live events appear, downloads carry the right BLAKE3 digest, replay steps drive the views,
and another tenant's session is not found."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import blake3
from llmspell_sessions.client import SessionClient
from selenium.webdriver.common.by import By

from .browser import find, find_all, requests_made, set_value, shown_state, visit, wait
from .console import Console
from .screenshots import png


def seeded(alice: SessionClient, name: str, steps: int = 10) -> str:
    """A session whose every step sets state (a counter, a nested dict, a removed key) and logs a tool event."""
    session = alice.create_session(name=name, tags=["seeded"])
    for i in range(1, steps + 1):
        entries = {"step": i, "plan": {"done": list(range(i)), "note": f"after step {i}"}}
        alice.apply_changes(
            session, entries, ["scratch"] if i % 3 == 0 else [], events=[{"type": "tool.call", "payload": {"i": i}}]
        )
        if i % 3 == 1:
            alice.set_session_state(session, {"scratch": f"tmp {i}"})
    return session


def test_sessions_page_filters_and_pages(driver: Any, console: Console, alice: SessionClient) -> None:
    for i in range(55):
        alice.create_session(name=f"paged {i:02}", tags=["paging"])
    needle = alice.create_session(name="needle in the haystack", tags=["paging"])
    done = alice.create_session(name="finished one", tags=["paging"])
    alice.complete_session(done)
    visit(driver, console, "#/sessions")
    wait(driver).until(lambda d: len(find_all(d, "session-row")) == 50)
    assert int(find(driver, "count-active").text.split()[0]) >= 56
    first = [row.get_attribute("data-session-id") for row in find_all(driver, "session-row")]
    find(driver, "next-page").click()
    wait(driver).until(lambda d: find_all(d, "session-row")[0].get_attribute("data-session-id") not in first)
    find(driver, "prev-page").click()
    wait(driver).until(lambda d: find_all(d, "session-row")[0].get_attribute("data-session-id") == first[0])

    find(driver, "filter-tags").send_keys("paging")
    find(driver, "filter-search").send_keys("haystack")
    find(driver, "apply-filters").click()
    wait(driver).until(lambda d: [r.get_attribute("data-session-id") for r in find_all(d, "session-row")] == [needle])
    find(driver, "filter-search").clear()
    driver.find_element(By.CSS_SELECTOR, "[data-testid=filter-state] option[value=SESSION_STATE_COMPLETED]").click()
    find(driver, "apply-filters").click()
    wait(driver).until(lambda d: [r.get_attribute("data-session-id") for r in find_all(d, "session-row")] == [done])
    assert "1 sessions" in find(driver, "sessions-total").text


def test_state_at_a_seq_is_get_snapshot_at_that_seq(driver: Any, console: Console, alice: SessionClient) -> None:
    session = seeded(alice, "time travel")
    last = alice.get_session(session).last_event_seq
    visit(driver, console, f"#/sessions/{session}")
    assert json.loads(shown_state(driver, last)) == alice.get_snapshot(session).state
    for seq in (4, 9, 2):  # a click on an event of the timeline moves the state view there
        find(driver, "events-rows").find_element(By.CSS_SELECTOR, f"tr[data-seq='{seq}']").click()
        assert json.loads(shown_state(driver, seq)) == alice.get_snapshot(session, at_seq=seq).state
    for seq in (last - 1, 7, 1):  # so does the slider
        set_value(driver, find(driver, "seq-slider"), seq)
        assert json.loads(shown_state(driver, seq)) == alice.get_snapshot(session, at_seq=seq).state

    set_value(driver, find(driver, "diff-from"), 3)
    set_value(driver, find(driver, "diff-to"), last)
    find(driver, "diff-run").click()
    diff = alice.compare_snapshots(session, 3, last)
    wait(driver).until(lambda d: find_all(d, "diff-row"))
    shown = {(r.get_attribute("data-key"), r.get_attribute("data-kind")) for r in find_all(driver, "diff-row")}
    expected = {(k, "added") for k in diff.state_added} | {(k, "removed") for k in diff.state_removed}
    assert shown == expected | {(k, "changed") for k in diff.state_changed}


def test_a_new_event_appears_in_the_live_tail(driver: Any, console: Console, alice: SessionClient) -> None:
    session = seeded(alice, "live", steps=2)
    visit(driver, console, f"#/sessions/{session}")
    find(driver, "event-row")
    appended = alice.append_events(session, [{"type": "agent.message", "payload": {"text": "hello"}}])[0]
    row = wait(driver).until(
        lambda d: d.find_element(By.CSS_SELECTOR, f"[data-testid=live-row][data-seq='{appended.seq}']")
    )
    assert "agent.message" in row.text and "alice" in row.text


def test_artifacts_preview_safely_and_download_with_their_digest(
    driver: Any, console: Console, alice: SessionClient, downloads: Path
) -> None:
    session = alice.create_session(name="outputs")
    hostile = b"# Report\n\n<img src=x onerror=\"document.title='pwned'\"> **bold**\n\n- one\n- two\n"
    alice.store_artifact(session, "report.md", hostile, mime_type="text/markdown", metadata={"model": "m1"})
    alice.store_artifact(session, "report.md", hostile + b"\nmore\n", mime_type="text/markdown")
    content = bytes(range(256)) * 4096  # 1 MiB
    alice.store_artifact(session, "blob.bin", content, mime_type="application/octet-stream")
    alice.store_artifact(session, "data.json", b'{"b": [1, 2], "a": {"c": null}}', mime_type="application/json")
    alice.store_artifact(session, "chart.png", png(), mime_type="image/png")
    visit(driver, console, f"#/sessions/{session}/artifacts")
    wait(driver).until(lambda d: len(find_all(d, "artifact-row")) == 5)
    versions = [
        (r.get_attribute("data-name"), r.get_attribute("data-version")) for r in find_all(driver, "artifact-row")
    ]
    names = ["blob.bin", "chart.png", "data.json", "report.md", "report.md"]
    assert versions == list(zip(names, ["1", "1", "1", "1", "2"], strict=True))

    rows = find_all(driver, "artifact-row")
    rows[3].find_element(By.CSS_SELECTOR, "[data-testid=artifact-preview]").click()
    markdown = find(driver, "preview-markdown")
    assert "<img src=x" in markdown.text and not markdown.find_elements(By.TAG_NAME, "img")
    assert markdown.find_element(By.TAG_NAME, "strong").text == "bold"
    assert driver.title != "pwned"
    rows[1].find_element(By.CSS_SELECTOR, "[data-testid=artifact-preview]").click()
    image = find(driver, "preview-image")
    assert image.get_attribute("src").startswith("blob:")
    wait(driver).until(lambda d: d.execute_script("return arguments[0].naturalWidth", image) == 96)
    rows[2].find_element(By.CSS_SELECTOR, "[data-testid=artifact-preview]").click()
    assert "c: null" in find(driver, "preview-json").get_attribute("textContent")

    rows[0].find_element(By.CSS_SELECTOR, "[data-testid=artifact-download]").click()
    find(driver, "download-done")
    target = downloads / "blob.bin"
    deadline = time.monotonic() + 30
    while not (target.exists() and target.stat().st_size == len(content)) and time.monotonic() < deadline:
        time.sleep(0.1)
    info = alice.get_artifact_info(session_id=session, name="blob.bin")
    assert blake3.blake3(target.read_bytes()).hexdigest() == info.content_digest == blake3.blake3(content).hexdigest()
    assert info.content_digest in find(driver, "download-done").text


def test_another_tenants_session_is_not_found(driver: Any, console: Console, eve: SessionClient) -> None:
    theirs = eve.create_session(name="secret plans")
    visit(driver, console, f"#/sessions/{theirs}")
    assert "not found" in find(driver, "not-found").text.lower()
    assert "secret plans" not in driver.page_source
    visit(driver, console, f"#/sessions/{theirs}", token="tok-eve")
    assert find(driver, "session-name").text == "secret plans"


def test_another_tenants_artifacts_and_malformed_ids_are_not_found(
    driver: Any, console: Console, eve: SessionClient
) -> None:
    theirs = eve.create_session(name="secret outputs")
    eve.store_artifact(theirs, "plan.txt", b"the secret plan", mime_type="text/plain")
    for route in (f"#/sessions/{theirs}/artifacts", "#/sessions/not-a-session-id", "#/sessions/%E0%A4%A/artifacts"):
        visit(driver, console, route)
        assert "not found" in find(driver, "not-found").text.lower()
        assert "secret" not in driver.page_source and "plan.txt" not in driver.page_source
        assert driver.find_element(By.ID, "banner").get_attribute("hidden") is not None  # no error shown instead
    visit(driver, console, f"#/sessions/{theirs}/artifacts", token="tok-eve")
    wait(driver).until(lambda d: [r.get_attribute("data-name") for r in find_all(d, "artifact-row")] == ["plan.txt"])
    find(driver, "artifact-preview").click()
    assert find(driver, "preview-text").text == "the secret plan"  # text is previewed as text


def test_replay_steps_drive_the_timeline_and_the_state(driver: Any, console: Console, alice: SessionClient) -> None:
    session = seeded(alice, "replayed", steps=4)
    visit(driver, console, f"#/sessions/{session}")
    find(driver, "event-row")
    find(driver, "replay-start").click()
    wait(driver).until(lambda d: find(d, "replay-status").get_attribute("data-replay") == "on")
    seen = []
    log = find(driver, "replay-log")
    for _ in range(3):
        find(driver, "replay-step").click()
        wait(driver).until(lambda d: len(log.find_elements(By.TAG_NAME, "li")) > len(seen))
        seen.append(int(find(driver, "replay-position").get_attribute("data-seq")))
        assert find(driver, "replay-status").text == "paused"  # one event per step, then it holds
    assert seen == [1, 2, 3]
    assert json.loads(shown_state(driver, 3)) == alice.get_snapshot(session, at_seq=3).state
    current = driver.find_element(By.CSS_SELECTOR, "[data-testid=events-rows] tr.current")
    assert current.get_attribute("data-seq") == "3"
    find(driver, "replay-stop").click()


def test_checkpoints_are_created_and_forked_after_confirmation(
    driver: Any, console: Console, alice: SessionClient
) -> None:
    session = seeded(alice, "checkpointed", steps=3)
    visit(driver, console, f"#/sessions/{session}")
    find(driver, "checkpoint-label").send_keys("before retry")
    find(driver, "checkpoint-create").click()
    driver.switch_to.alert.dismiss()  # no: nothing is created
    time.sleep(0.3)
    assert alice.list_checkpoints(session).items == []
    find(driver, "checkpoint-create").click()
    driver.switch_to.alert.accept()
    find(driver, "checkpoint-row")
    assert [c.label for c in alice.list_checkpoints(session).items] == ["before retry"]
    find(driver, "checkpoint-fork").click()
    driver.switch_to.alert.accept()
    wait(driver).until(lambda d: session not in d.current_url)
    fork = driver.current_url.rsplit("/", 1)[-1]
    assert alice.get_session(fork).parent_session_id == session
    find(driver, "parent-link")
    assert json.loads(shown_state(driver, alice.get_session(fork).last_event_seq)) == alice.get_snapshot(fork).state


def test_rewinding_to_a_checkpoint_asks_first_and_restores_its_state(
    driver: Any, console: Console, alice: SessionClient
) -> None:
    session = seeded(alice, "rewound", steps=2)
    checkpoint = alice.create_checkpoint(session, "good state")
    alice.apply_changes(session, {"step": 99, "oops": True}, events=[{"type": "tool.call", "payload": {}}])
    visit(driver, console, f"#/sessions/{session}")
    find(driver, "checkpoint-rewind").click()
    driver.switch_to.alert.dismiss()
    time.sleep(0.3)
    assert alice.get_snapshot(session).state["step"] == 99
    find(driver, "checkpoint-rewind").click()
    driver.switch_to.alert.accept()
    wait(driver).until(
        lambda d: (
            alice.get_snapshot(session).state
            == alice.get_snapshot(session, checkpoint_id=checkpoint.checkpoint_id).state
        )
    )
    visit(driver, console, f"#/sessions/{session}")
    last = alice.get_session(session).last_event_seq
    assert json.loads(shown_state(driver, last)) == alice.get_snapshot(session).state
    assert "oops" not in json.loads(shown_state(driver, last))


def test_storage_page_draws_its_chart(driver: Any, console: Console, alice: SessionClient) -> None:
    visit(driver, console, "#/stats")
    stats = alice.get_storage_stats()
    assert find(driver, "stat-artifacts").text == str(stats.artifact_count)
    assert find(driver, "stats-chart").find_elements(By.CSS_SELECTOR, "svg rect")
    assert requests_made(driver) <= 3


def test_replay_stops_at_a_breakpoint_and_resumes_to_the_end(
    driver: Any, console: Console, alice: SessionClient
) -> None:
    session = seeded(alice, "breakpoints", steps=3)
    last = alice.get_session(session).last_event_seq
    visit(driver, console, f"#/sessions/{session}")
    driver.find_element(By.CSS_SELECTOR, "[data-testid=replay-mode] option[value=REPLAY_MODE_FAST]").click()
    find(driver, "replay-breakpoints").send_keys("4")
    find(driver, "replay-start").click()
    wait(driver).until(lambda d: find(d, "replay-status").text == "at_breakpoint")
    assert find(driver, "replay-position").get_attribute("data-seq") == "4"
    assert json.loads(shown_state(driver, 4)) == alice.get_snapshot(session, at_seq=4).state
    find(driver, "replay-resume").click()
    wait(driver).until(lambda d: find(d, "replay-status").text == "completed")
    assert find(driver, "replay-position").get_attribute("data-seq") == str(last)


def test_sessions_sort_filter_by_time_and_counts_refresh(driver: Any, console: Console, alice: SessionClient) -> None:
    made = [alice.create_session(name=f"sorted {c}", tags=["sorting"]) for c in "bca"]
    visit(driver, console, "#/sessions")
    find(driver, "filter-tags").send_keys("sorting")

    def shows_after_applying(expected: list[str]) -> None:
        find(driver, "apply-filters").click()
        wait(driver).until(
            lambda d: [r.get_attribute("data-session-id") for r in find_all(d, "session-row")] == expected
        )

    driver.find_element(By.CSS_SELECTOR, "[data-testid=filter-order] option[value='name']").click()
    shows_after_applying([made[2], made[0], made[1]])  # a, b, c
    driver.find_element(By.CSS_SELECTOR, "[data-testid=filter-order] option[value='create_time']").click()
    shows_after_applying(made)
    driver.find_element(By.CSS_SELECTOR, "[data-testid=filter-order] option[value='create_time desc']").click()
    shows_after_applying(made[::-1])
    set_value(driver, find(driver, "filter-after"), "2999-01-01T00:00")  # created after a future time: none
    shows_after_applying([])
    assert "No sessions match." in find(driver, "sessions-rows").text
    set_value(driver, find(driver, "filter-after"), "2000-01-01T00:00")
    set_value(driver, find(driver, "filter-before"), "2999-01-01T00:00")
    shows_after_applying(made[::-1])

    completed = int(find(driver, "count-completed").text.split()[0])
    alice.complete_session(made[0])  # the counts follow without a reload (they refresh every 5 s)
    wait(driver, 15).until(lambda d: int(find(d, "count-completed").text.split()[0]) == completed + 1)


def test_the_timeline_filters_by_type_prefix_and_shows_correlation_ids(
    driver: Any, console: Console, alice: SessionClient
) -> None:
    session = seeded(alice, "typed", steps=3)
    visit(driver, console, f"#/sessions/{session}")
    find(driver, "event-row")
    find(driver, "events-type").send_keys("tool.")
    find(driver, "events-apply").click()
    expected = [e for e in alice.list_events(session, page_size=100).items if e.type.startswith("tool.")]
    wait(driver).until(lambda d: len(find_all(d, "event-row")) == len(expected))
    rows = [r.find_elements(By.TAG_NAME, "td") for r in find_all(driver, "event-row")]
    assert [[c.text for c in cells] for cells in rows] == [
        [str(e.seq), e.type, e.actor, e.time.strftime("%Y-%m-%d %H:%M:%SZ"), e.correlation_id] for e in expected
    ]
    time.sleep(0.5)  # the tail was re-opened with the filter
    alice.append_events(session, [{"type": "agent.note", "payload": {}}, {"type": "tool.result", "payload": {}}])
    row = wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=live-row]"))
    assert "tool.result" in row.text and len(find_all(driver, "live-row")) == 1


def test_fork_at_the_seq_the_state_view_shows(driver: Any, console: Console, alice: SessionClient) -> None:
    session = seeded(alice, "forked at a seq", steps=4)
    visit(driver, console, f"#/sessions/{session}")
    set_value(driver, find(driver, "seq-slider"), 5)
    state = json.loads(shown_state(driver, 5))
    tree = find(driver, "state-tree").get_attribute("textContent")  # the tree shown, not only the JSON behind it
    assert f"step: {state['step']}" in tree and f'note: "{state["plan"]["note"]}"' in tree
    find(driver, "fork-here").click()
    driver.switch_to.alert.accept()
    wait(driver).until(lambda d: session not in d.current_url)
    fork = driver.current_url.rsplit("/", 1)[-1]
    assert alice.get_session(fork).parent_session_id == session
    assert alice.get_snapshot(fork).state == alice.get_snapshot(session, at_seq=5).state
    visit(driver, console, f"#/sessions/{session}")  # the parent's lineage lists the fork
    assert find(driver, "fork-link").get_attribute("href").endswith(f"#/sessions/{fork}")


def test_a_timed_replay_pauses_resumes_and_changes_speed(driver: Any, console: Console, alice: SessionClient) -> None:
    session = alice.create_session(name="timed")
    for i in range(3):  # events 1 s apart: at speed 0.1 each gap is 10 s, at 10 it is 0.1 s
        time.sleep(1)
        alice.append_events(session, [{"type": "tick", "payload": {"i": i}}])
    last = alice.get_session(session).last_event_seq
    visit(driver, console, f"#/sessions/{session}")
    driver.find_element(By.CSS_SELECTOR, "[data-testid=replay-mode] option[value=REPLAY_MODE_TIMED]").click()
    set_value(driver, find(driver, "replay-speed"), 0.1)
    find(driver, "replay-start").click()
    wait(driver).until(lambda d: find(d, "replay-position").get_attribute("data-seq") == "1")
    find(driver, "replay-pause").click()
    wait(driver).until(lambda d: find(d, "replay-status").text == "paused")
    set_value(driver, find(driver, "replay-speed"), 10)
    find(driver, "replay-set-speed").click()
    time.sleep(0.5)
    assert find(driver, "replay-position").get_attribute("data-seq") == "1"  # paused: nothing moves
    started = time.monotonic()
    find(driver, "replay-resume").click()
    wait(driver).until(lambda d: find(d, "replay-status").text == "completed")
    assert time.monotonic() - started < 8  # the rest at speed 10, not 0.1 (10 s per gap)
    assert find(driver, "replay-position").get_attribute("data-seq") == str(last)
    assert json.loads(shown_state(driver, last)) == alice.get_snapshot(session).state


def test_the_token_stays_out_of_urls_cookies_and_local_storage(driver: Any, console: Console) -> None:
    driver.get(console.url + "#/stats")
    driver.execute_script("sessionStorage.clear()")
    driver.refresh()
    find(driver, "token-input").send_keys("tok-alice")
    find(driver, "token-submit").click()
    wait(driver).until(lambda d: d.execute_script("return document.body.dataset.ready") == "#/stats")
    assert "tok-alice" not in driver.current_url
    assert driver.execute_script("return document.cookie") == "" and driver.get_cookies() == []
    assert driver.execute_script("return localStorage.length") == 0
    assert driver.execute_script("return sessionStorage.getItem('llmspell-console-token')") == "tok-alice"
    visited = driver.execute_script("return performance.getEntriesByType('resource').map((e) => e.name)")
    assert visited and not [url for url in visited if "tok-alice" in url or not url.startswith(console.url)]


def test_artifact_rows_show_sizes_dedup_and_metadata(driver: Any, console: Console, alice: SessionClient) -> None:
    session = alice.create_session(name="dedup")
    content = os.urandom(256 * 1024)  # bytes no other test stored: dedup is per tenant
    alice.store_artifact(session, "a.bin", content, metadata={"model": "m1", "run": 7})
    alice.store_artifact(session, "b.bin", content)  # the same bytes again: nothing new is stored
    visit(driver, console, f"#/sessions/{session}/artifacts")
    wait(driver).until(lambda d: len(find_all(d, "artifact-row")) == 2)
    cells = [[c.text for c in r.find_elements(By.TAG_NAME, "td")] for r in find_all(driver, "artifact-row")]
    first, second = (alice.get_artifact_info(session_id=session, name=n) for n in ("a.bin", "b.bin"))
    assert cells[0][3] == cells[1][3] == "256.0 KiB" and second.new_bytes == 0 < first.new_bytes
    assert cells[1][5] == "0 B new · 100% already stored"
    assert cells[0][6] == first.content_digest[:16] + "…"
    find_all(driver, "artifact-preview")[0].click()
    # The preview is fetched after the click: wait for it, then check all of it.
    wait(driver).until(lambda d: '"m1"' in (find(d, "preview").get_attribute("textContent") or ""))
    assert "run: 7" in find(driver, "preview").get_attribute("textContent")
