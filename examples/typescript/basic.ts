// A session's life with @llmspell/sessions: create, state, events, listing, lifecycle and typed errors.
//
//   make -C clients/typescript examples TARGET=127.0.0.1:50051
//   (or: node clients/typescript/dist/examples/basic.js, target from LLMSPELL_SESSION_ADDRESS)
import { connect, SessionsError, SessionState, sessionStateToJSON } from "@llmspell/sessions";

const client = connect({ target: process.env.LLMSPELL_SESSION_ADDRESS ?? "127.0.0.1:50051" });

async function main(): Promise<void> {
  const session = await client.sessions.createSession({
    name: "basic-example",
    description: "created by examples/typescript/basic.ts",
    tags: ["example", "typescript"],
    metadata: { agent: "researcher", attempt: 1 },
  });
  const id = session.sessionId;
  console.log(`created ${id} (${sessionStateToJSON(session.state)}, etag ${session.etag})`);

  try {
    await client.sessions.setState(id, { plan: { steps: ["search", "summarise"], done: false }, turn: 1 });
    await client.sessions.setState(id, { turn: 2 }, { deleteKeys: ["plan"] });
    console.log("state:", JSON.stringify(await client.sessions.getState(id)));

    const renamed = await client.sessions.updateSession(id, { description: "renamed once" }, { etag: (await client.sessions.getSession(id)).etag });
    console.log(`updated description, etag now ${renamed.etag}`);

    const appended = await client.replay.appendEvents(id, [
      { type: "example.thought", payload: { text: "look it up" } },
      { type: "example.answer", payload: { text: "42" } },
    ]);
    console.log(`appended events ${appended.map((e) => e.seq).join(", ")}`);
    for await (const event of client.replay.iterateEvents(id)) console.log(`  #${event.seq} ${event.type}`);

    await client.sessions.suspendSession(id);
    await client.sessions.resumeSession(id);
    const done = await client.sessions.completeSession(id);
    console.log(`completed: ${sessionStateToJSON(done.state)}, ${done.lastEventSeq} events`);

    let mine = 0;
    for await (const s of client.sessions.iterateSessions({ tags: ["example"], states: [SessionState.SESSION_STATE_COMPLETED] })) {
      if (s.sessionId === id) mine++;
    }
    if (mine !== 1) throw new Error("the completed session is missing from the listing");

    try {
      await client.sessions.resumeSession(id);
      throw new Error("resuming a completed session should fail");
    } catch (error) {
      if (!(error instanceof SessionsError) || error.reason !== "INVALID_STATE_TRANSITION") throw error;
      console.log(`expected error: ${error.codeName} / ${error.reason}`);
    }
    await client.sessions.archiveSession(id);
    console.log("archived; basic example ok");
  } finally {
    await client.sessions.deleteSession(id); // examples leave nothing behind
  }
}

main()
  .catch((error: unknown) => {
    console.error("basic example failed:", error instanceof Error ? error.message : error);
    process.exitCode = 1;
  })
  .finally(() => client.close());
