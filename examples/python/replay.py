"""Replay: the event log, checkpoints, time travel, compare, a controlled replay, fork and rewind."""

from contextlib import ExitStack

from llmspell_sessions.client import SessionClient
from llmspell_sessions.model import ReplayMode, ReplayStart

with SessionClient() as client, ExitStack() as cleanup:
    sid = client.create_session(name="replay example")
    cleanup.callback(client.delete_session, sid)  # at the end: examples leave nothing behind
    client.set_session_state(sid, {"draft": "v1"})
    checkpoint = client.create_checkpoint(sid, "first draft")
    client.append_events(sid, [{"type": "agent.thought", "payload": {"text": "needs a source"}}])
    client.set_session_state(sid, {"draft": "v2", "source": "paper.pdf"})

    events = client.list_events(sid).items
    print("log:", [(e.seq, e.type) for e in events])
    then = client.get_snapshot(sid, checkpoint_id=checkpoint.checkpoint_id)
    print("state at the checkpoint:", then.state)
    diff = client.compare_snapshots(sid, checkpoint.checkpoint_id, None)
    print("since then: added", diff.state_added, "changed", diff.state_changed)

    replay = client.replay_session(ReplayStart(sid, mode=ReplayMode.FAST))
    for frame in replay:
        if frame.event is not None:
            print(f"  replay {frame.index}/{frame.total} {frame.event.type} changed={list(frame.changed_keys)}")

    fork = client.fork_session(sid, checkpoint_id=checkpoint.checkpoint_id, name="alternative")
    cleanup.callback(client.delete_session, fork.session_id)
    print("fork starts from:", client.get_session_state(fork.session_id))
    client.rewind_session(sid, checkpoint_id=checkpoint.checkpoint_id)
    print("rewound:", client.get_session_state(sid), "- history kept:", len(client.list_events(sid).items), "events")
