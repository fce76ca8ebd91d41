// Package sessions is a small Go client for llmspell-sessions, the gRPC store of sessions,
// artifacts and replayable event logs for LLM agents.
//
// It wraps the generated stubs of package sessionsv1 (clients/go/gen) with Go values: state and
// metadata are map[string]any, uploads read from an io.Reader, downloads write to an io.Writer,
// list calls have page iterators (iter.Seq2), and every error returned by a call is an *Error that
// carries the gRPC code and the google.rpc.ErrorInfo reason of the API contract.
//
//	c, err := sessions.Dial(ctx, "127.0.0.1:50051", sessions.WithToken(os.Getenv("LLMSPELL_SESSION_TOKEN")))
//	if err != nil { ... }
//	defer c.Close()
//	s, err := c.CreateSession(ctx, sessions.NewSession{Name: "demo", Tags: []string{"example"}})
//
// Calls not wrapped here (replay control, chunk-level dedup uploads, snapshots) are available on
// the raw stubs Client.SessionService, Client.ArtifactService and Client.ReplayService.
package sessions
