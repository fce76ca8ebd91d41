"""Integration: an agent loop that records tool calls as events and outputs as artifacts, then
replays the run step by step (no LLM: the "model" is a tiny deterministic planner)."""

import json
from contextlib import ExitStack

from llmspell_sessions import ArtifactType
from llmspell_sessions.client import SessionClient
from llmspell_sessions.model import ReplayMode, ReplayStart

TOOLS = {
    "search": lambda q: [f"result about {q} #{i}" for i in range(3)],
    "summarise": lambda docs: " / ".join(d.split(" #")[0] for d in docs),
}


def plan(question: str) -> list[tuple[str, object]]:
    return [("search", question), ("summarise", None)]


with SessionClient() as client, ExitStack() as cleanup:
    sid = client.create_session(name="agent run", tags=["integration-example"], metadata={"agent": "planner-v1"})
    cleanup.callback(client.delete_session, sid)  # at the end: examples leave nothing behind
    question = "content-defined chunking"
    client.append_events(sid, [{"type": "agent.question", "payload": {"text": question}}])
    observation: object = None
    for turn, (tool, argument) in enumerate(plan(question), 1):
        argument = argument if argument is not None else observation
        call = client.append_events(sid, [{"type": "tool.call", "payload": {"tool": tool, "turn": turn}}])[0]
        observation = TOOLS[tool](argument)
        client.append_events(
            sid, [{"type": "tool.result", "payload": {"tool": tool, "ok": True}, "causation_id": str(call.seq)}]
        )
        client.store_artifact(
            sid,
            f"{tool}-{turn}.json",
            json.dumps(observation).encode(),
            ArtifactType.TOOL_RESULT,
            mime_type="application/json",
        )
        client.set_session_state(sid, {"turn": turn, "last_tool": tool})
    client.store_artifact(sid, "answer.txt", str(observation).encode(), ArtifactType.AGENT_OUTPUT)
    client.complete_session(sid)

    print("recorded:", [(a.name, a.version) for a in client.list_artifacts(sid).items])
    replay = client.replay_session(ReplayStart(sid, mode=ReplayMode.STEP, types=["tool."]))
    replay.step()  # STEP mode starts paused: each step() releases one event
    steps = 0
    for frame in replay:
        if frame.event is None:  # the final COMPLETED or STOPPED frame
            break
        steps += 1
        print(f"  step {frame.index}/{frame.total} [{frame.status.name}]: {frame.event.type} {frame.event.payload}")
        replay.step() if frame.index < frame.total else replay.stop()
    assert steps == 4, steps
    print("replayed", steps, "tool events")
