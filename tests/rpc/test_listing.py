"""ListSessions: paging over 1,000+ sessions, filters, orderings, totals and bad page input."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from llmspell_sessions import SessionState
from llmspell_sessions.client import SessionClient
from llmspell_sessions.errors import InvalidArgument

from tests.helpers.server import ServerProcess


@pytest.fixture(scope="module")
def populated(tmp_path_factory: pytest.TempPathFactory) -> tuple[ServerProcess, dict[str, list[str]]]:
    """A server holding 1,050 sessions: 'bulk' tagged ones plus a small hierarchy."""
    server = ServerProcess(tmp_path_factory.mktemp("list"), env={"LLMSPELL_SESSION_MAX_SESSIONS": "100000"})
    server.start()
    ids: dict[str, list[str]] = {"bulk": [], "children": []}
    with SessionClient(server.address) as c:
        for i in range(1000):
            ids["bulk"].append(
                c.create_session(
                    name=f"bulk-{i:04d}", tags=["bulk", f"mod{i % 3}"], description="Needle" if i % 100 == 7 else ""
                )
            )
        parent = c.create_session(name="parent")
        ids["parent"] = [parent]
        for i in range(49):
            ids["children"].append(c.create_session(name=f"child-{i}", parent_session_id=parent))
        for sid in ids["bulk"][:10]:
            c.complete_session(sid)
        for sid in ids["bulk"][:5]:
            c.archive_session(sid)
    yield server, ids
    server.stop()


def _all_pages(c: SessionClient, **query) -> tuple[list[str], list[int]]:
    seen, totals, token = [], [], ""
    while True:
        page = c.list_sessions(page_token=token, **query)
        seen.extend(s.session_id for s in page.items)
        totals.append(page.total_size)
        token = page.next_page_token
        if not token:
            return seen, totals


def test_paging_over_all_sessions_returns_each_once_newest_first(populated) -> None:  # type: ignore[no-untyped-def]
    server, ids = populated
    with SessionClient(server.address) as c:
        seen, totals = _all_pages(c, page_size=97)
    expected = [s for s in ids["bulk"][5:] + ids["parent"] + ids["children"]]
    assert len(seen) == len(set(seen)) == 1045
    assert sorted(seen) == sorted(expected)
    assert seen == sorted(seen, reverse=True)  # UUIDv7 ids sort by creation time
    assert set(totals) == {1045}


def test_ascending_and_name_order(populated) -> None:  # type: ignore[no-untyped-def]
    server, _ = populated
    with SessionClient(server.address) as c:
        asc, _ = _all_pages(c, page_size=300, order_by="create_time")
        assert asc == sorted(asc)
        names = [s.name for s in c.list_sessions(page_size=1000, order_by="name", tags=["mod1"]).items]
        assert names == sorted(names) and len(names) == 331  # 333 minus bulk-0001 and -0004 (archived)


def test_default_page_size_is_50_and_max_is_1000(populated) -> None:  # type: ignore[no-untyped-def]
    server, _ = populated
    with SessionClient(server.address) as c:
        assert len(c.list_sessions().items) == 50
        assert len(c.list_sessions(page_size=5000).items) == 1000


def test_filters(populated) -> None:  # type: ignore[no-untyped-def]
    server, ids = populated
    with SessionClient(server.address) as c:
        archived = c.list_sessions(states=[SessionState.ARCHIVED], page_size=100)
        assert sorted(s.session_id for s in archived.items) == sorted(ids["bulk"][:5])
        assert archived.total_size == 5
        completed = c.list_sessions(states=[SessionState.COMPLETED])
        assert {s.session_id for s in completed.items} == set(ids["bulk"][5:10])
        both = c.list_sessions(tags=["bulk", "mod0"], page_size=1000)
        assert both.total_size == len(both.items) == len([i for i in range(5, 1000) if i % 3 == 0])
        children = c.list_sessions(parent_session_id=ids["parent"][0], page_size=20)
        assert children.total_size == 49 and len(children.items) == 20
        rest, _ = _all_pages(c, parent_session_id=ids["parent"][0], page_size=20)
        assert sorted(rest) == sorted(ids["children"])
        found = c.list_sessions(search="nEEdLe", page_size=100)
        assert {s.name for s in found.items} == {f"bulk-{i:04d}" for i in range(7, 1000, 100)}
        assert c.list_sessions(created_by="anonymous", page_size=1).total_size == 1045
        assert c.list_sessions(created_by="someone-else").total_size == 0


def test_create_time_window(populated) -> None:  # type: ignore[no-untyped-def]
    server, ids = populated
    with SessionClient(server.address) as c:
        pivot = c.get_session(ids["bulk"][500]).create_time
        assert pivot is not None
        newer = c.list_sessions(create_time_after=pivot, tags=["bulk"], page_size=1000)
        assert {s.session_id for s in newer.items} == set(ids["bulk"][501:])
        older, _ = _all_pages(c, create_time_before=pivot, tags=["bulk"], page_size=100, order_by="create_time")
        assert older == ids["bulk"][5:500]
        future = datetime.now(UTC) + timedelta(days=1)
        assert c.list_sessions(create_time_after=future).items == []


def test_bad_paging_input(populated) -> None:  # type: ignore[no-untyped-def]
    server, _ = populated
    with SessionClient(server.address) as c:
        token = c.list_sessions(page_size=10).next_page_token
        for bad in ["garbage", "!!!", token[:-3] + "abc", "e30"]:
            with pytest.raises(InvalidArgument):
                c.list_sessions(page_token=bad)
        with pytest.raises(InvalidArgument):
            c.list_sessions(page_token=token, tags=["bulk"])  # a token from another query
        with pytest.raises(InvalidArgument):
            c.list_sessions(page_size=-1)
        with pytest.raises(InvalidArgument):
            c.list_sessions(order_by="size desc")
        with pytest.raises(InvalidArgument):
            c.list_sessions(parent_session_id="x")
        with pytest.raises(InvalidArgument):
            c.list_sessions(states=[SessionState.UNSPECIFIED])
        assert c.list_sessions(parent_session_id=str(uuid.uuid4())).items == []
