"""Every guarantee of the embedded store, kept by two server processes over one PostgreSQL database.

Two real servers (``serve --backend postgres``) share a database; clients on each race through the
paths the rules guard: appends to one session (gapless seqs), updates with one etag (exactly one
wins), retries of one request id (one session), creates against max_sessions and stores against
max_tenant_bytes (no overshoot), a subscription on one server fed by commits on the other.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from llmspell_sessions.client import SessionClient
from llmspell_sessions.errors import EtagMismatch, LlmspellError, ResourceExhausted

from tests.helpers.server import ServerProcess

pytestmark = pytest.mark.slow

Frontends = tuple[SessionClient, SessionClient]


@pytest.fixture
def start_pair(server_factory: Callable[..., ServerProcess], postgres_dsn: str) -> Iterator[Callable[..., Frontends]]:
    """Starts two servers over the same (new) database, with the same settings; yields clients."""
    clients: list[SessionClient] = []

    def start(env: dict[str, str] | None = None) -> Frontends:
        servers = [server_factory(backend="postgres", args=["--postgres-dsn", postgres_dsn], env=env) for _ in range(2)]
        pair = (SessionClient(servers[0].address), SessionClient(servers[1].address))
        clients.extend(pair)
        return pair

    yield start
    for client in clients:
        client.close()


def race(calls: list[Callable[[], Any]]) -> list[Any]:
    """Runs the calls at once (released together); returns each result or the error it raised."""
    gate = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        gate.wait()
        try:
            return call()
        except LlmspellError as exc:
            return exc

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def test_appends_through_both_servers_keep_one_gapless_log(start_pair: Callable[..., Frontends]) -> None:
    a, b = start_pair()
    session_id = a.create_session(name="shared log")
    writers, appends = 6, 15

    def writer(n: int) -> list[int]:
        client = (a, b)[n % 2]
        seqs = []
        for i in range(appends):
            events = client.append_events(session_id, [{"type": "agent.step", "payload": {"w": n, "i": i}}])
            seqs.append(events[0].seq)
        return seqs

    with ThreadPoolExecutor(writers) as pool:
        returned = [seq for seqs in pool.map(writer, range(writers)) for seq in seqs]
    logged = b.list_events(session_id, page_size=1000).items
    assert [e.seq for e in logged] == list(range(1, 1 + writers * appends + 1))  # created + every append
    assert sorted(returned) == list(range(2, writers * appends + 2))  # each append got its own seq
    for n in range(writers):  # each writer's events are in its own order
        mine = [e.payload["i"] for e in logged if e.type == "agent.step" and e.payload["w"] == n]
        assert mine == list(range(appends))
    assert a.get_session(session_id).last_event_seq == writers * appends + 1


def test_one_of_many_updates_with_one_etag_wins(start_pair: Callable[..., Frontends]) -> None:
    a, b = start_pair()
    session_id = a.create_session(name="v0")
    etag = b.get_session(session_id).etag
    outcomes = race(
        [lambda n=n: (a, b)[n % 2].update_session(session_id, name=f"v{n + 1}", etag=etag) for n in range(8)]
    )
    winners = [o for o in outcomes if not isinstance(o, LlmspellError)]
    assert len(winners) == 1, outcomes
    assert all(isinstance(o, EtagMismatch) for o in outcomes if o is not winners[0])
    assert a.get_session(session_id).name == b.get_session(session_id).name == winners[0].name


def test_retries_of_one_request_id_create_one_session(start_pair: Callable[..., Frontends]) -> None:
    a, b = start_pair()
    outcomes = race([lambda n=n: (a, b)[n % 2].create_session(name="once", request_id="req-42") for n in range(8)])
    assert len(set(outcomes)) == 1 and isinstance(outcomes[0], str), outcomes
    assert [s.session_id for s in a.list_sessions().items] == [outcomes[0]]


def test_max_sessions_holds_across_servers(start_pair: Callable[..., Frontends]) -> None:
    a, b = start_pair(env={"LLMSPELL_SESSION_MAX_SESSIONS": "5"})
    outcomes = race([lambda n=n: (a, b)[n % 2].create_session(name=f"s{n}") for n in range(12)])
    created = [o for o in outcomes if isinstance(o, str)]
    assert len(created) == 5, outcomes
    assert all(isinstance(o, ResourceExhausted) for o in outcomes if not isinstance(o, str))
    assert len(b.list_sessions(page_size=100).items) == 5


def test_tenant_bytes_quota_holds_across_servers(start_pair: Callable[..., Frontends]) -> None:
    a, b = start_pair(env={"LLMSPELL_SESSION_MAX_TENANT_BYTES": "10000"})
    session_id = a.create_session(name="quota")
    outcomes = race(
        [lambda n=n: (a, b)[n % 2].store_artifact(session_id, f"part-{n}", bytes([n]) * 3000) for n in range(8)]
    )
    stored = [o for o in outcomes if not isinstance(o, LlmspellError)]
    assert len(stored) == 3, outcomes  # 3 x 3000 fits in 10000, a fourth would not
    assert all(isinstance(o, ResourceExhausted) for o in outcomes if isinstance(o, LlmspellError))
    assert a.get_session(session_id).artifact_count == 3


def test_no_server_serves_a_record_another_one_changed(start_pair: Callable[..., Frontends]) -> None:
    a, b = start_pair()
    session_id = a.create_session(name="before")
    a.set_session_state(session_id, {"k": 1})
    assert a.get_session(session_id).name == "before" and a.get_session_state(session_id) == {"k": 1}  # cached now
    b.update_session(session_id, name="after")
    b.set_session_state(session_id, {"k": 2})
    assert a.get_session(session_id).name == "after"
    assert a.get_session_state(session_id) == {"k": 2}
    b.delete_session(session_id)
    with pytest.raises(LlmspellError) as raised:
        a.get_session(session_id)
    assert raised.value.reason == "SESSION_NOT_FOUND"


def test_a_subscription_sees_the_other_servers_commits_in_order(start_pair: Callable[..., Frontends]) -> None:
    a, b = start_pair()
    session_id = a.create_session(name="watched")
    stream = a.subscribe_events(session_id, after_seq=1)
    seen: list[int] = []
    done = threading.Event()

    def read() -> None:
        for event in stream:
            seen.append(event.seq)
            if len(seen) == 30:
                done.set()
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    time.sleep(0.3)  # subscribed before the writes (the history path is tested elsewhere)
    for i in range(30):
        b.append_events(session_id, [{"type": "agent.step", "payload": {"i": i}}])
    assert done.wait(15), f"only {seen} arrived"
    stream.cancel()
    assert seen == list(range(2, 32))


def test_a_timeout_applied_by_one_server_never_overwrites_anothers_append(start_pair: Callable[..., Frontends]) -> None:
    # Both servers apply due idle timeouts on access; each application and each append read the
    # session's last seq and write the next one, so both must hold the session's lock.
    a, b = start_pair(env={"LLMSPELL_SESSION_IDLE_TIMEOUT": "0.4"})
    step = [{"type": "agent.step", "payload": {}}]
    for round_ in range(10):
        session_id = a.create_session(name=f"idle {round_}")
        time.sleep(0.45)  # due now: the next access on either server suspends it
        outcomes = race(
            [lambda c=c, s=session_id: c.get_session(s) for c in (a, b)]
            + [lambda c=c, s=session_id: c.append_events(s, step) for c in (a, b)]
        )
        appended = [o[0].seq for o in outcomes if isinstance(o, list)]
        logged = a.list_events(session_id, page_size=100).items
        assert [e.seq for e in logged] == list(range(1, len(logged) + 1))
        assert set(appended) <= {e.seq for e in logged if e.type == "agent.step"}  # no acknowledged append lost
        assert [e.type for e in logged].count("session.suspended") <= 1
