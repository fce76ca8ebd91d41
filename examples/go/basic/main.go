// Command basic walks a session through its life with the Go client: create, state, events,
// listing, a checkpoint and a fork, suspend/resume, complete and archive. It talks to $LLMSPELL_SESSION_ADDRESS
// (default 127.0.0.1:50051) with $LLMSPELL_SESSION_TOKEN if set, and exits 1 on any failure.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/llmspell/llmspell-sessions/clients/go/sessions"
)

func main() {
	log.SetFlags(0)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx); err != nil {
		log.Fatalf("basic: %v", err)
	}
}

func run(ctx context.Context) error {
	c, err := sessions.Dial(ctx, envOr("LLMSPELL_SESSION_ADDRESS", "127.0.0.1:50051"),
		sessions.WithToken(os.Getenv("LLMSPELL_SESSION_TOKEN")), sessions.WithBlock())
	if err != nil {
		return err
	}
	defer c.Close()

	s, err := c.CreateSession(ctx, sessions.NewSession{
		Name: "go-basic-example", Tags: []string{"example", "go"},
		Metadata: map[string]any{"model": "demo-1", "temperature": 0.2},
	})
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	fmt.Printf("created %s (%s)\n", s.ID, s.State)
	defer deleteSession(c, s.ID) // at the end: examples leave nothing behind

	if _, err := c.SetState(ctx, s.ID, sessions.StateUpdate{
		Set: map[string]any{"plan": []string{"search", "summarise"}, "turn": 1},
	}); err != nil {
		return fmt.Errorf("set state: %w", err)
	}
	state, err := c.GetState(ctx, s.ID)
	if err != nil {
		return fmt.Errorf("get state: %w", err)
	}
	fmt.Printf("state: %v\n", state)

	events, err := c.AppendEvents(ctx, s.ID, []sessions.NewEvent{
		{Type: "agent.thought", Payload: map[string]any{"text": "search first"}},
		{Type: "agent.tool_call", Payload: map[string]any{"tool": "search"}},
	})
	if err != nil {
		return fmt.Errorf("append events: %w", err)
	}
	fmt.Printf("appended events up to seq %d\n", events[len(events)-1].Seq)
	for ev, err := range c.AllEvents(ctx, &sessions.ListEventsRequest{SessionId: s.ID}) {
		if err != nil {
			return fmt.Errorf("list events: %w", err)
		}
		fmt.Printf("  event %d %s\n", ev.Seq, ev.Type)
	}

	n := 0
	for _, err := range c.AllSessions(ctx, &sessions.ListSessionsRequest{Tags: []string{"example", "go"}, PageSize: 20}) {
		if err != nil {
			return fmt.Errorf("list: %w", err)
		}
		n++
	}
	fmt.Printf("%d sessions tagged example+go\n", n)

	cp, err := c.CreateCheckpoint(ctx, s.ID, "after-planning")
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	fork, err := c.ForkSession(ctx, s.ID, sessions.AtCheckpoint(cp.CheckpointId), "go-basic-what-if")
	if err != nil {
		return fmt.Errorf("fork: %w", err)
	}
	defer deleteSession(c, fork.ID)
	fmt.Printf("checkpoint %q at seq %d, forked into %s\n", cp.Label, cp.Seq, fork.ID)

	// State and events changed the etag: reread the session before conditional calls.
	if s, err = c.GetSession(ctx, s.ID); err != nil {
		return fmt.Errorf("get: %w", err)
	}
	// An illegal transition comes back as a typed error.
	if _, err := c.ResumeSession(ctx, s.ID); sessions.ReasonOf(err) != sessions.ReasonInvalidStateTransition {
		return fmt.Errorf("resume of an active session: want INVALID_STATE_TRANSITION, got %v", err)
	}
	for _, step := range []func(context.Context, string, ...sessions.WriteOption) (*sessions.Session, error){
		c.SuspendSession, c.ResumeSession, c.CompleteSession, c.ArchiveSession,
	} {
		// IfEtag: each transition applies only to the version of the session read last.
		if s, err = step(ctx, s.ID, sessions.IfEtag(s.Etag)); err != nil {
			return fmt.Errorf("lifecycle: %w", err)
		}
		fmt.Printf("now %s (etag %s)\n", s.State, s.Etag)
	}
	return nil
}

// deleteSession removes a session the example created, with its own deadline (the run's may have passed).
func deleteSession(c *sessions.Client, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.DeleteSession(ctx, id); err != nil {
		log.Printf("basic: cleanup of %s: %v", id, err)
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
