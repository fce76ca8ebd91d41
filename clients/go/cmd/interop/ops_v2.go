package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	pb "github.com/llmspell/llmspell-sessions/clients/go/gen/llmspell/sessions/v1"
	"github.com/llmspell/llmspell-sessions/clients/go/sessions"
)

// The ops of scenarios version 2 (tests/interop/README.md, "New in version 2").

// uploadArtifact streams content[write_offset:] in 1 MiB messages; with interrupt_after_messages
// K it cancels the call after K messages and reports the upload's status once it settles.
func uploadArtifact(ctx context.Context, r *runner, st *step, args map[string]any) (map[string]any, error) {
	h, content, err := r.generated(st, args, "interrupt_after_messages")
	if err != nil {
		return nil, err
	}
	src := content[min(h.WriteOffset, int64(len(content))):]
	k, interrupt := number(args["interrupt_after_messages"])
	if !interrupt {
		return artifactResult(r.client.Upload(ctx, h, bytes.NewReader(src)))
	}
	upCtx, cancel := context.WithCancel(ctx)
	_, err = r.client.Upload(upCtx, h, &interruptAfter{r: bytes.NewReader(src), limit: int64(k) * sessions.UploadMessageSize, cancel: cancel})
	cancel()
	if !errors.Is(err, errInterrupted) && !sessions.IsCanceled(err) {
		return nil, fmt.Errorf("the interrupted upload ended with %v", err)
	}
	return settledStatus(ctx, r.client, h.UploadId)
}

var errInterrupted = errors.New("upload interrupted by the scenario")

// interruptAfter reads limit bytes, then waits 500 ms, cancels the call and fails.
type interruptAfter struct {
	r      io.Reader
	limit  int64
	read   int64
	cancel context.CancelFunc
}

func (i *interruptAfter) Read(p []byte) (int, error) {
	if i.read >= i.limit {
		time.Sleep(500 * time.Millisecond)
		i.cancel()
		return 0, errInterrupted
	}
	p = p[:min(int64(len(p)), i.limit-i.read)]
	n, err := i.r.Read(p)
	i.read += int64(n)
	return n, err
}

// settledStatus polls QueryUploadStatus every 200 ms until two answers agree (at most 10 s).
func settledStatus(ctx context.Context, c *sessions.Client, uploadID string) (map[string]any, error) {
	var last *sessions.UploadStatus
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		prev := last
		if last, err = c.QueryUploadStatus(ctx, uploadID); err != nil {
			continue
		}
		if prev != nil && prev.CommittedSize == last.CommittedSize {
			break
		}
	}
	if last == nil {
		return nil, err
	}
	return statusResult(last), nil
}

func statusResult(s *sessions.UploadStatus) map[string]any {
	return map[string]any{"committed_size": float64(s.CommittedSize), "complete": s.Complete, "artifact_id": s.ArtifactID}
}

// cancelAfter passes writes on and cancels the download once it holds after bytes.
type cancelAfter struct {
	w      io.Writer
	n      int64
	after  int64
	cancel context.CancelFunc
}

func (c *cancelAfter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	if c.n >= c.after {
		c.cancel()
	}
	return c.w.Write(p)
}

func queryUploadStatus(ctx context.Context, r *runner, _ *step, args map[string]any) (map[string]any, error) {
	id, _ := args["upload_id"].(string)
	st, err := r.client.QueryUploadStatus(ctx, id)
	if err != nil {
		return nil, err
	}
	return statusResult(st), nil
}

// uploadChunked is the client's deduplicated upload path.
func uploadChunked(ctx context.Context, r *runner, st *step, args map[string]any) (map[string]any, error) {
	h, content, err := r.generated(st, args)
	if err != nil {
		return nil, err
	}
	a, report, err := r.client.UploadDeduplicated(ctx, h, bytes.NewReader(content), int64(len(content)))
	if err != nil {
		return nil, err
	}
	if !report.Deduplicated {
		return nil, errors.New("the client fell back to a plain upload")
	}
	res, err := artifactResult(a, nil)
	if err != nil {
		return nil, err
	}
	res["bytes_sent"], res["chunks_sent"] = float64(report.BytesSent), float64(report.ChunksSent)
	return res, nil
}

func sleep(ctx context.Context, _ *runner, _ *step, args map[string]any) (map[string]any, error) {
	ms, _ := number(args["ms"])
	select {
	case <-time.After(time.Duration(ms) * time.Millisecond):
		return map[string]any{}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func applyChanges(ctx context.Context, r *runner, _ *step, args map[string]any) (map[string]any, error) {
	var req pb.ApplyChangesRequest
	if err := fromArgs(args, &req); err != nil {
		return nil, err
	}
	opts := []sessions.WriteOption{sessions.IfEtag(req.Etag), sessions.WithRequestID(req.RequestId)}
	if req.ExpectedLastSeq != nil {
		opts = append(opts, sessions.IfLastSeq(*req.ExpectedLastSeq))
	}
	applied, err := r.client.ApplyChanges(ctx, req.SessionId, sessions.Changes{
		Set: sessions.FromValueMap(req.Entries), Create: sessions.FromValueMap(req.CreateEntries),
		Delete: req.DeleteKeys, Events: newEvents(req.Events),
	}, opts...)
	if err != nil {
		return nil, err
	}
	res := eventList(applied.Events)
	if res["session"], err = toResult(applied.Session.ToProto()); err != nil {
		return nil, err
	}
	res["events"], err = eventResults(applied.Events)
	return res, err
}

func readSession(ctx context.Context, r *runner, _ *step, args map[string]any) (map[string]any, error) {
	var req pb.ReadSessionRequest
	if err := fromArgs(args, &req); err != nil {
		return nil, err
	}
	read, err := r.client.ReadSession(ctx, req.SessionId, sessions.Read{
		StateKeys: req.StateKeys, StatePrefix: req.StatePrefix, Reverse: req.Reverse, StartAfter: req.StartAfter,
		PageSize: req.PageSize, PageToken: req.PageToken, LastEvents: req.LastEvents, EventTypes: req.EventTypes,
		ArtifactNames: req.ArtifactNames, RelatedSessionIDs: req.RelatedSessionIds,
	})
	if err != nil {
		return nil, err
	}
	res := eventList(read.Events)
	entries, keys := []any{}, []any{}
	for _, kv := range read.Entries {
		entries = append(entries, map[string]any{"key": kv.Key, "value": kv.Value})
		keys = append(keys, kv.Key)
	}
	res["entries"], res["keys"], res["state"], res["next_page_token"] = entries, keys, read.State, read.NextPageToken
	res["artifact_names"] = artifactNames(read.Artifacts, false)
	res["events_truncated"] = read.EventsTruncated
	related := []any{}
	for _, rel := range read.Related {
		related = append(related, map[string]any{"session_id": rel.SessionID, "state": rel.State, "truncated": rel.Truncated})
	}
	res["related"] = related
	if res["session"], err = toResult(read.Session.ToProto()); err != nil {
		return nil, err
	}
	if res["events"], err = eventResults(read.Events); err != nil {
		return nil, err
	}
	res["artifacts"], err = artifactResults(read.Artifacts)
	return res, err
}

func getSnapshot(ctx context.Context, r *runner, _ *step, args map[string]any) (map[string]any, error) {
	var req pb.GetSnapshotRequest
	if err := fromArgs(args, &req); err != nil {
		return nil, err
	}
	var at sessions.Point
	switch p := req.Point.(type) {
	case *pb.GetSnapshotRequest_AtSeq:
		at = sessions.AtSeq(p.AtSeq)
	case *pb.GetSnapshotRequest_CheckpointId:
		at = sessions.AtCheckpoint(p.CheckpointId)
	}
	snap, err := r.client.GetSnapshot(ctx, req.SessionId, at)
	if err != nil {
		return nil, err
	}
	res := map[string]any{"state": snap.State, "seq": float64(snap.Seq), "artifact_names": artifactNames(snap.Artifacts, true)}
	if res["session"], err = toResult(snap.Session.ToProto()); err != nil {
		return nil, err
	}
	res["artifacts"], err = artifactResults(snap.Artifacts)
	return res, err
}

// pointOf is a SnapshotRef as a Point (nil: now).
func pointOf(ref *pb.SnapshotRef) sessions.Point {
	switch p := ref.GetPoint().(type) {
	case *pb.SnapshotRef_Seq:
		return sessions.AtSeq(p.Seq)
	case *pb.SnapshotRef_CheckpointId:
		return sessions.AtCheckpoint(p.CheckpointId)
	}
	return sessions.Point{}
}

func compareSnapshots(ctx context.Context, r *runner, _ *step, args map[string]any) (map[string]any, error) {
	var req pb.CompareSnapshotsRequest
	if err := fromArgs(args, &req); err != nil {
		return nil, err
	}
	d, err := r.client.CompareSnapshots(ctx, req.SessionId, pointOf(req.From), pointOf(req.To))
	if err != nil {
		return nil, err
	}
	changed := map[string]any{}
	for k, ch := range d.StateChanged {
		changed[k] = map[string]any{"old_value": ch.Old, "new_value": ch.New}
	}
	res := map[string]any{
		"state_added": d.StateAdded, "state_removed": d.StateRemoved, "state_changed": changed,
		"events_between": float64(d.EventsBetween),
		"added_names":    artifactNames(d.ArtifactsAdded, true), "removed_names": artifactNames(d.ArtifactsRemoved, true),
	}
	if res["artifacts_added"], err = artifactResults(d.ArtifactsAdded); err != nil {
		return nil, err
	}
	res["artifacts_removed"], err = artifactResults(d.ArtifactsRemoved)
	return res, err
}

func grantAccess(ctx context.Context, r *runner, _ *step, args map[string]any) (map[string]any, error) {
	var req pb.GrantSessionAccessRequest
	if err := fromArgs(args, &req); err != nil {
		return nil, err
	}
	return sessionResult(r.client.GrantSessionAccess(ctx, req.SessionId, req.Subject, req.Access))
}

func revokeAccess(ctx context.Context, r *runner, _ *step, args map[string]any) (map[string]any, error) {
	var req pb.RevokeSessionAccessRequest
	if err := fromArgs(args, &req); err != nil {
		return nil, err
	}
	return sessionResult(r.client.RevokeSessionAccess(ctx, req.SessionId, req.Subject))
}

func eventResults(events []*sessions.Event) ([]any, error) {
	out := []any{}
	for _, e := range events {
		m, err := toResult(e.ToProto())
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

func artifactResults(artifacts []*sessions.Artifact) ([]any, error) {
	out := []any{}
	for _, a := range artifacts {
		m, err := toResult(a.ToProto())
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// artifactNames lists the artifacts' names, in order or sorted.
func artifactNames(artifacts []*sessions.Artifact, sorted bool) []any {
	names := make([]string, 0, len(artifacts))
	for _, a := range artifacts {
		names = append(names, a.Name)
	}
	if sorted {
		slices.Sort(names)
	}
	out := make([]any, len(names))
	for i, n := range names {
		out[i] = n
	}
	return out
}
