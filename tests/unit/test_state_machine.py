"""The lifecycle against a model: any sequence of transitions does exactly what the table says."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from llmspell_sessions import SessionManager, SessionState
from llmspell_sessions.errors import InvalidStateTransition

S = SessionState
ALLOWED = {
    "suspend": ({S.ACTIVE}, S.SUSPENDED),
    "resume": ({S.SUSPENDED}, S.ACTIVE),
    "complete": ({S.ACTIVE, S.SUSPENDED}, S.COMPLETED),
    "fail": ({S.ACTIVE, S.SUSPENDED}, S.FAILED),
    "archive": ({S.COMPLETED, S.FAILED}, S.ARCHIVED),
}


@settings(max_examples=80, deadline=None)
@given(st.lists(st.sampled_from(sorted(ALLOWED)), max_size=12))
def test_transitions_follow_the_table(verbs: list[str]) -> None:
    with SessionManager(storage_backend="memory", start_sweeper=False) as m:
        sid = m.create_session()
        expected, seq = S.ACTIVE, 1
        for verb in verbs:
            sources, target = ALLOWED[verb]
            if expected in sources:
                session = getattr(m, f"{verb}_session")(sid)
                expected, seq = target, seq + 1
                assert session.state == expected
            else:
                try:
                    getattr(m, f"{verb}_session")(sid)
                except InvalidStateTransition:
                    pass
                else:
                    raise AssertionError(f"{verb} from {expected.name} should be refused")
        final = m.get_session(sid)
        assert (final.state, final.last_event_seq) == (expected, seq)
        assert m.active_sessions("default") == (1 if expected == S.ACTIVE else 0)
