"""Advanced: parent/child hierarchies, search and paging, etags for optimistic concurrency."""

from contextlib import ExitStack

from llmspell_sessions import SessionState
from llmspell_sessions.client import SessionClient
from llmspell_sessions.errors import EtagMismatch

with SessionClient() as client, ExitStack() as cleanup:
    root = client.create_session(name="planner", tags=["advanced-example"])
    cleanup.callback(client.delete_session, root)  # at the end: examples leave nothing behind
    workers = [
        client.create_session(name=f"worker {i}", parent_session_id=root, tags=["advanced-example"]) for i in range(5)
    ]
    for worker in workers:
        cleanup.callback(client.delete_session, worker)  # run last in, first out: children before the parent
    for worker in workers[:2]:
        client.complete_session(worker)

    children = client.list_sessions(parent_session_id=root, page_size=2)
    print("children:", children.total_size, [s.name for s in children.items])
    done = client.list_sessions(parent_session_id=root, states=[SessionState.COMPLETED])
    print("completed workers:", [s.name for s in done.items])
    found = client.list_sessions(search="WORKER 3", tags=["advanced-example"])
    print("search:", [s.name for s in found.items])

    session = client.get_session(root)
    client.update_session(root, description="first writer wins", etag=session.etag)
    try:
        client.update_session(root, description="second writer", etag=session.etag)
    except EtagMismatch as error:
        print("stale etag refused:", error.reason, error.metadata["current_etag"])
