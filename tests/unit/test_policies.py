"""Rate limits: token buckets per tenant and per session, burst 1.5x, with a retry delay."""

from __future__ import annotations

import time

import pytest
from llmspell_sessions import Caller, SessionManager
from llmspell_sessions.errors import RateLimited


def test_per_session_rate_limit_with_burst_and_retry_delay() -> None:
    with SessionManager(
        storage_backend="memory", rate_limit_per_session=60, rate_limit_global=0, start_sweeper=False
    ) as m:
        sid = m.create_session()  # the create is the first mutation of the session: 1 of 90
        for i in range(89):
            m.set_session_state(sid, {"i": i})
        with pytest.raises(RateLimited) as caught:
            m.set_session_state(sid, {"i": "one too many"})
        assert caught.value.code == "RESOURCE_EXHAUSTED" and 0 < (caught.value.retry_delay or 0) <= 1.01
        other = m.create_session()  # another session has its own bucket
        m.set_session_state(other, {"ok": True})
        time.sleep(1.05)  # 60/min refills one token a second
        m.set_session_state(sid, {"i": "after waiting"})
        assert m.get_session_state(sid) == {"i": "after waiting"}


def test_per_tenant_rate_limit_counts_every_request() -> None:
    with SessionManager(
        storage_backend="memory", rate_limit_global=20, rate_limit_per_session=0, start_sweeper=False
    ) as m:
        alice, bob = Caller(tenant="alice"), Caller(tenant="bob")
        sid = m.create_session(caller=alice)
        for _ in range(29):
            m.get_session(sid, caller=alice)
        with pytest.raises(RateLimited):
            m.get_session(sid, caller=alice)
        m.create_session(caller=bob)  # tenants do not share a bucket
