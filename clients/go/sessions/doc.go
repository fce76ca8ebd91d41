// Package sessions is a Go client for llmspell-sessions, the gRPC store of sessions, artifacts
// and replayable event logs for LLM agents.
//
// It wraps every RPC of the generated stubs (package sessionsv1, clients/go/gen) with Go values:
// Session, Artifact and Event are plain structs, state and metadata are map[string]any, uploads
// read from an io.Reader (UploadFile deduplicates against the server's chunks and resumes cut-off
// uploads), downloads write to an io.Writer or a file and are checked against the artifact's
// BLAKE3 digest, list calls have page iterators (iter.Seq2), and every error returned by a call is
// an *Error that carries the gRPC code, the google.rpc.ErrorInfo reason of the API contract and the
// RetryInfo delay. Write conditions are options (IfEtag, IfLastSeq, WithRequestID); deadlines,
// cancellation, correlation ids and per-call tokens travel in the context.
//
//	c, err := sessions.Dial(ctx, "127.0.0.1:50051", sessions.WithToken(os.Getenv("LLMSPELL_SESSION_TOKEN")))
//	if err != nil { ... }
//	defer c.Close()
//	s, err := c.CreateSession(ctx, sessions.NewSession{Name: "demo", Tags: []string{"example"}})
//
// Non-loopback targets use TLS unless WithInsecure is given, and a token is never sent over
// plaintext to a non-loopback target unless WithTokenOverPlaintext is given too.
package sessions
