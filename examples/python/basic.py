"""Basic: a session's lifecycle and state, over gRPC (target from LLMSPELL_SESSION_ADDRESS)."""

from contextlib import ExitStack

from llmspell_sessions import SessionState
from llmspell_sessions.client import SessionClient
from llmspell_sessions.errors import InvalidStateTransition

with SessionClient() as client, ExitStack() as cleanup:
    sid = client.create_session(name="basic example", tags=["example"], metadata={"model": "demo-1"})
    cleanup.callback(client.delete_session, sid)  # at the end: examples leave nothing behind
    client.set_session_state(sid, {"turn": 1, "plan": {"steps": ["search", "answer"]}})
    print("state:", client.get_session_state(sid))

    client.suspend_session(sid)
    client.resume_session(sid)
    session = client.complete_session(sid)
    assert session.state == SessionState.COMPLETED
    try:
        client.resume_session(sid)
    except InvalidStateTransition as error:
        print("refused as expected:", error.reason)

    loaded = client.load_session(sid)
    print(f"{loaded.session.name}: {loaded.session.state.name}, {loaded.session.last_event_seq} events")
