"""The session lifecycle: which transition is allowed from which state."""

from __future__ import annotations

from ..errors import InvalidStateTransition
from ..model import SessionState

A, S, C, F, R = (
    SessionState.ACTIVE,
    SessionState.SUSPENDED,
    SessionState.COMPLETED,
    SessionState.FAILED,
    SessionState.ARCHIVED,
)

# transition name -> (states it may start from, state it ends in, event type)
TRANSITIONS: dict[str, tuple[frozenset[SessionState], SessionState, str]] = {
    "suspend": (frozenset({A}), S, "session.suspended"),
    "resume": (frozenset({S}), A, "session.resumed"),
    "complete": (frozenset({A, S}), C, "session.completed"),
    "fail": (frozenset({A, S}), F, "session.failed"),
    "archive": (frozenset({C, F}), R, "session.archived"),
}
TERMINAL = frozenset({C, F, R})


def transition(name: str, current: SessionState, session_id: str) -> tuple[SessionState, str]:
    """(new state, event type) of a transition, or InvalidStateTransition."""
    sources, target, event_type = TRANSITIONS[name]
    if current not in sources:
        allowed = ", ".join(s.name for s in sorted(sources))
        raise InvalidStateTransition(
            f"cannot {name} a {current.name} session (allowed from {allowed})",
            session_id=session_id,
            state=current.name,
            transition=name,
        )
    return target, event_type
