package main

import (
	"context"
	"encoding/json"
	"fmt"

	pb "github.com/llmspell/llmspell-sessions/clients/go/gen/llmspell/sessions/v1"
	"github.com/llmspell/llmspell-sessions/clients/go/sessions"
	"google.golang.org/protobuf/proto"
)

// op runs one step's call through the wrapper and returns its result as proto3 JSON values.
type op func(ctx context.Context, r *runner, st *step, args map[string]any) (map[string]any, error)

var ops map[string]op

func init() {
	ops = map[string]op{
		"create_session":        createSession,
		"get_session":           sessionCall(getSession),
		"update_session":        updateSession,
		"suspend_session":       sessionCall((*sessions.Client).SuspendSession),
		"resume_session":        sessionCall((*sessions.Client).ResumeSession),
		"complete_session":      sessionCall((*sessions.Client).CompleteSession),
		"archive_session":       sessionCall((*sessions.Client).ArchiveSession),
		"set_session_state":     setSessionState,
		"get_session_state":     getSessionState,
		"upload_artifact":       uploadArtifact,
		"download_artifact":     downloadArtifact,
		"append_events":         appendEvents,
		"list_events":           listEvents,
		"create_checkpoint":     createCheckpoint,
		"fork_session":          forkSession,
		"apply_changes":         applyChanges,
		"read_session":          readSession,
		"get_snapshot":          getSnapshot,
		"compare_snapshots":     compareSnapshots,
		"grant_session_access":  grantAccess,
		"revoke_session_access": revokeAccess,
		"bulk_session_action":   bulkSessionAction,
		"query_upload_status":   queryUploadStatus,
		"sleep":                 sleep,
		"upload_chunked":        uploadChunked,
		"replay_session":        replaySession,
	}
}

// message is the result of a call that returned a message.
func message(m proto.Message, err error) (map[string]any, error) {
	if err != nil {
		return nil, err
	}
	return toResult(m)
}

// sessionResult is the result of a call that returned a session.
func sessionResult(s *sessions.Session, err error) (map[string]any, error) {
	if err != nil {
		return nil, err
	}
	return toResult(s.ToProto())
}

// artifactResult is the result of a call that returned an artifact.
func artifactResult(a *sessions.Artifact, err error) (map[string]any, error) {
	if err != nil {
		return nil, err
	}
	return toResult(a.ToProto())
}

func createSession(ctx context.Context, r *runner, _ *step, args map[string]any) (map[string]any, error) {
	var req pb.CreateSessionRequest
	if err := fromArgs(args, &req); err != nil {
		return nil, err
	}
	var md map[string]any
	if req.Metadata != nil {
		md = sessions.FromStruct(req.Metadata)
	}
	return sessionResult(r.client.CreateSession(ctx, sessions.NewSession{
		Name: req.Name, Description: req.Description, Tags: req.Tags, Metadata: md,
		ParentID: req.ParentSessionId, RequestID: req.RequestId,
	}))
}

func getSession(c *sessions.Client, ctx context.Context, id string, _ ...sessions.WriteOption) (*sessions.Session, error) {
	return c.GetSession(ctx, id)
}

// sessionCall adapts a call taking (session_id, etag) to an op.
func sessionCall(f func(c *sessions.Client, ctx context.Context, id string, opts ...sessions.WriteOption) (*sessions.Session, error)) op {
	return func(ctx context.Context, r *runner, _ *step, args map[string]any) (map[string]any, error) {
		var req pb.SuspendSessionRequest // any {session_id, etag} request
		if err := fromArgs(args, &req); err != nil {
			return nil, err
		}
		return sessionResult(f(r.client, ctx, req.SessionId, sessions.IfEtag(req.Etag)))
	}
}

func updateSession(ctx context.Context, r *runner, _ *step, args map[string]any) (map[string]any, error) {
	var s pb.Session
	if err := fromArgs(args, &s); err != nil {
		return nil, err
	}
	var paths []string
	for k := range args {
		if k != "session_id" && k != "etag" {
			paths = append(paths, k)
		}
	}
	update := &sessions.Session{
		ID: s.SessionId, Name: s.Name, Description: s.Description, Tags: s.Tags, Etag: s.Etag,
		Metadata: sessions.FromStruct(s.Metadata),
	}
	return sessionResult(r.client.UpdateSession(ctx, update, paths...))
}

func setSessionState(ctx context.Context, r *runner, _ *step, args map[string]any) (map[string]any, error) {
	var req pb.SetSessionStateRequest
	if err := fromArgs(args, &req); err != nil {
		return nil, err
	}
	return sessionResult(r.client.SetState(ctx, req.SessionId, sessions.StateUpdate{
		Set: sessions.FromValueMap(req.Entries), Delete: req.DeleteKeys,
	}, sessions.IfEtag(req.Etag)))
}

func getSessionState(ctx context.Context, r *runner, _ *step, args map[string]any) (map[string]any, error) {
	var req pb.GetSessionStateRequest
	if err := fromArgs(args, &req); err != nil {
		return nil, err
	}
	entries, err := r.client.GetState(ctx, req.SessionId, req.Keys...)
	if err != nil {
		return nil, err
	}
	return map[string]any{"entries": entries}, nil
}

// generated produces a step's content and header from upload args (UploadHeader fields plus
// content and driver options, which are not sent).
func (r *runner) generated(st *step, args map[string]any, options ...string) (*pb.UploadHeader, []byte, error) {
	var spec contentSpec
	if err := remarshal(args["content"], &spec); err != nil {
		return nil, nil, fmt.Errorf("content: %w", err)
	}
	content, err := spec.generate()
	if err != nil {
		return nil, nil, err
	}
	st.content, r.contentDigest = content, digest(content)
	header := map[string]any{}
	for k, v := range args {
		if k != "content" && !contains(options, k) {
			header[k] = v
		}
	}
	var h pb.UploadHeader
	if err := fromArgs(header, &h); err != nil {
		return nil, nil, err
	}
	return &h, content, nil
}

func downloadArtifact(ctx context.Context, r *runner, _ *step, args map[string]any) (map[string]any, error) {
	var req pb.DownloadArtifactRequest
	if err := fromArgs(without(args, "cancel_after_bytes", "expected_digest"), &req); err != nil {
		return nil, err
	}
	w := newHashCounter()
	var err error
	switch {
	case args["cancel_after_bytes"] != nil:
		n, _ := number(args["cancel_after_bytes"])
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		_, err = r.client.Download(ctx, req.ArtifactId, &cancelAfter{w: w, after: int64(n), cancel: cancel})
	case args["expected_digest"] != nil:
		want, _ := args["expected_digest"].(string)
		_, err = r.client.Download(ctx, req.ArtifactId, w, sessions.ExpectDigest(want))
	default:
		_, err = r.client.DownloadRange(ctx, req.ArtifactId, req.Offset, req.Limit, w)
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{"size": float64(w.n), "content_digest": w.digest()}, nil
}

func appendEvents(ctx context.Context, r *runner, _ *step, args map[string]any) (map[string]any, error) {
	var req pb.AppendEventsRequest
	if err := fromArgs(args, &req); err != nil {
		return nil, err
	}
	var opts []sessions.WriteOption
	if req.ExpectedLastSeq != nil && *req.ExpectedLastSeq >= 0 {
		opts = append(opts, sessions.IfLastSeq(*req.ExpectedLastSeq))
	}
	got, err := r.client.AppendEvents(ctx, req.SessionId, newEvents(req.Events), opts...)
	if err != nil {
		return nil, err
	}
	return eventList(got), nil
}

func newEvents(events []*pb.NewEvent) []sessions.NewEvent {
	out := make([]sessions.NewEvent, 0, len(events))
	for _, e := range events {
		var payload map[string]any
		if e.Payload != nil {
			payload = sessions.FromStruct(e.Payload)
		}
		out = append(out, sessions.NewEvent{Type: e.Type, Payload: payload, CorrelationID: e.CorrelationId, CausationID: e.CausationId})
	}
	return out
}

func listEvents(ctx context.Context, r *runner, _ *step, args map[string]any) (map[string]any, error) {
	var req pb.ListEventsRequest
	if err := fromArgs(args, &req); err != nil {
		return nil, err
	}
	var got []*sessions.Event
	for ev, err := range r.client.AllEvents(ctx, &req) {
		if err != nil {
			return nil, err
		}
		got = append(got, ev)
	}
	return eventList(got), nil
}

// eventList is the {seqs, types} result of append_events and list_events.
func eventList(events []*sessions.Event) map[string]any {
	seqs, types := []any{}, []any{}
	for _, e := range events {
		seqs = append(seqs, float64(e.Seq))
		types = append(types, e.Type)
	}
	return map[string]any{"seqs": seqs, "types": types}
}

func createCheckpoint(ctx context.Context, r *runner, _ *step, args map[string]any) (map[string]any, error) {
	var req pb.CreateCheckpointRequest
	if err := fromArgs(args, &req); err != nil {
		return nil, err
	}
	return message(r.client.CreateCheckpoint(ctx, req.SessionId, req.Label))
}

func forkSession(ctx context.Context, r *runner, _ *step, args map[string]any) (map[string]any, error) {
	var req pb.ForkSessionRequest
	if err := fromArgs(args, &req); err != nil {
		return nil, err
	}
	var at sessions.Point
	switch p := req.Point.(type) {
	case *pb.ForkSessionRequest_AtSeq:
		at = sessions.AtSeq(p.AtSeq)
	case *pb.ForkSessionRequest_CheckpointId:
		at = sessions.AtCheckpoint(p.CheckpointId)
	}
	return sessionResult(r.client.ForkSession(ctx, req.SessionId, at, req.Name))
}

// remarshal converts a decoded JSON value into a typed value.
func remarshal(v any, out any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, out)
}

// without is args less the driver options named.
func without(args map[string]any, options ...string) map[string]any {
	out := make(map[string]any, len(args))
	for k, v := range args {
		if !contains(options, k) {
			out[k] = v
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func bulkSessionAction(ctx context.Context, r *runner, _ *step, args map[string]any) (map[string]any, error) {
	var req pb.BulkSessionActionRequest
	if err := fromArgs(args, &req); err != nil {
		return nil, err
	}
	return message(r.client.BulkSessionAction(ctx, &req))
}
