package sessions

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
)

func TestLiveApplyChangesAndReadSession(t *testing.T) {
	c, ctx := liveClient(t)
	s, err := c.CreateSession(ctx, NewSession{Name: "go-apply"})
	if err != nil {
		t.Fatal(err)
	}
	if s, err = c.SetState(ctx, s.ID, StateUpdate{Set: map[string]any{"plan": "a"}}); err != nil {
		t.Fatal(err)
	}
	applied, err := c.ApplyChanges(ctx, s.ID, Changes{
		Set:    map[string]any{"msg/001": "hi", "msg/002": "there"},
		Create: map[string]any{"plan": "ignored", "fresh": true},
		Events: []NewEvent{{Type: "agent.turn", Payload: map[string]any{"n": 1}}},
	}, IfEtag(s.Etag), IfLastSeq(s.LastEventSeq), WithRequestID("apply-1"))
	if err != nil {
		t.Fatal(err)
	}
	if len(applied.Events) != 2 || applied.Events[0].Type != "state.changed" || applied.Events[1].Type != "agent.turn" {
		t.Fatalf("events %v", applied.Events)
	}
	again, err := c.ApplyChanges(ctx, s.ID, Changes{Set: map[string]any{"x": 1}}, WithRequestID("apply-1"))
	if err != nil || again.Session.Etag != applied.Session.Etag {
		t.Errorf("retry with the same request id wrote again: %v %v", again, err)
	}
	if _, err := c.ApplyChanges(ctx, s.ID, Changes{Set: map[string]any{"y": 1}}, IfLastSeq(0)); ReasonOf(err) != ReasonSeqMismatch {
		t.Errorf("stale last seq: %v", err)
	}
	if _, err := c.ApplyChanges(ctx, s.ID, Changes{Set: map[string]any{"y": 1}}, IfEtag("stale")); ReasonOf(err) != ReasonEtagMismatch {
		t.Errorf("stale etag: %v", err)
	}

	read, err := c.ReadSession(ctx, s.ID, Read{
		StateKeys: []string{"plan", "fresh", "missing"}, StatePrefix: "msg/", PageSize: 1,
		LastEvents: 1, EventTypes: []string{"agent."},
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]any{"plan": "a", "fresh": true}; !reflect.DeepEqual(read.State, want) {
		t.Errorf("state %v", read.State)
	}
	if len(read.Entries) != 1 || read.Entries[0] != (KeyValue{"msg/001", "hi"}) || read.NextPageToken == "" {
		t.Errorf("prefix page %v next %q", read.Entries, read.NextPageToken)
	}
	if len(read.Events) != 1 || read.Events[0].Type != "agent.turn" {
		t.Errorf("last events %v", read.Events)
	}
	next, err := c.ReadSession(ctx, s.ID, Read{StatePrefix: "msg/", PageSize: 1, PageToken: read.NextPageToken})
	if err != nil || len(next.Entries) != 1 || next.Entries[0].Key != "msg/002" {
		t.Errorf("second page %v %v", next, err)
	}
	shared, err := c.CreateSession(ctx, NewSession{Name: "go-apply-shared"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetState(ctx, shared.ID, StateUpdate{Set: map[string]any{"user": "ann"}}); err != nil {
		t.Fatal(err)
	}
	withRelated, err := c.ReadSession(ctx, s.ID, Read{RelatedSessionIDs: []string{shared.ID}})
	if err != nil || len(withRelated.Related) != 1 || withRelated.Related[0].SessionID != shared.ID ||
		!reflect.DeepEqual(withRelated.Related[0].State, map[string]any{"user": "ann"}) {
		t.Errorf("related state %+v %v", withRelated, err)
	}
}

func TestLiveGrantAndRevokeAccess(t *testing.T) {
	c, ctx := liveClient(t)
	s, err := c.CreateSession(ctx, NewSession{Name: "go-grants"})
	if err != nil {
		t.Fatal(err)
	}
	g, err := c.GrantSessionAccess(ctx, s.ID, "bob", AccessRead)
	if err != nil || g.Grants["bob"] != AccessRead {
		t.Fatalf("grant: %v %v", g, err)
	}
	r, err := c.RevokeSessionAccess(ctx, s.ID, "bob")
	if err != nil || len(r.Grants) != 0 {
		t.Fatalf("revoke: %v %v", r, err)
	}
}

func TestLiveSnapshotsAndComparison(t *testing.T) {
	c, ctx := liveClient(t)
	s, err := c.CreateSession(ctx, NewSession{Name: "go-snapshots"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetState(ctx, s.ID, StateUpdate{Set: map[string]any{"a": 1, "b": "old"}}); err != nil {
		t.Fatal(err)
	}
	cp, err := c.CreateCheckpoint(ctx, s.ID, "before")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetState(ctx, s.ID, StateUpdate{Set: map[string]any{"b": "new", "c": true}, Delete: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StoreArtifact(ctx, &UploadHeader{SessionId: s.ID, Name: "notes"}, []byte("n")); err != nil {
		t.Fatal(err)
	}
	snap, err := c.GetSnapshot(ctx, s.ID, AtCheckpoint(cp.CheckpointId))
	if err != nil || snap.Seq != cp.Seq || !reflect.DeepEqual(snap.State, map[string]any{"a": 1.0, "b": "old"}) || len(snap.Artifacts) != 0 {
		t.Fatalf("snapshot %+v %v", snap, err)
	}
	bySeq, err := c.GetSnapshot(ctx, s.ID, AtSeq(1))
	if err != nil || len(bySeq.State) != 0 {
		t.Errorf("snapshot at seq 1: %+v %v", bySeq, err)
	}
	d, err := c.CompareSnapshots(ctx, s.ID, AtCheckpoint(cp.CheckpointId), AtSeq(cp.Seq+2))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(d.StateAdded, map[string]any{"c": true}) || !reflect.DeepEqual(d.StateRemoved, map[string]any{"a": 1.0}) ||
		d.StateChanged["b"] != (StateChange{Old: "old", New: "new"}) || len(d.ArtifactsAdded) != 1 || d.EventsBetween != 2 {
		t.Errorf("diff %+v", d)
	}
}

func TestLiveControlledReplay(t *testing.T) {
	c, ctx := liveClient(t)
	s, err := c.CreateSession(ctx, NewSession{Name: "go-replay"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AppendEvents(ctx, s.ID, []NewEvent{{Type: "t.a"}, {Type: "t.b"}, {Type: "t.c"}, {Type: "t.d"}}); err != nil {
		t.Fatal(err)
	}
	// Step mode: one event per Step.
	r, err := c.ReplaySession(ctx, s.ID, ReplayOptions{Mode: ReplayStep, Types: []string{"t."}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var seqs []int64
	for range 2 {
		if err := r.Step(); err != nil {
			t.Fatal(err)
		}
		f, err := r.Recv()
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, f.Event.Seq)
	}
	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}
	var last *ReplayFrame
	for f, err := range r.Frames() {
		if err != nil {
			t.Fatal(err)
		}
		last = f
	}
	if !reflect.DeepEqual(seqs, []int64{2, 3}) || last.Status != ReplayStopped {
		t.Errorf("stepped seqs %v, last frame %v", seqs, last)
	}

	// Fast mode with a breakpoint at a type, then resume to the end.
	r2, err := c.ReplaySession(ctx, s.ID, ReplayOptions{Mode: ReplayFast, BreakAtTypes: []string{"t.c"}, Types: []string{"t."}})
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	var statuses []ReplayStatus
	for f, err := range r2.Frames() {
		if err != nil {
			t.Fatal(err)
		}
		statuses = append(statuses, f.Status)
		if f.Status == ReplayAtBreakpoint {
			if f.Event.Type != "t.c" {
				t.Errorf("breakpoint at %v", f.Event)
			}
			if err := r2.Resume(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(statuses) == 0 || statuses[len(statuses)-1] != ReplayCompleted {
		t.Errorf("statuses %v", statuses)
	}

	// Closing a replay ends its call as CANCELLED.
	r3, err := c.ReplaySession(ctx, s.ID, ReplayOptions{Mode: ReplayStep})
	if err != nil {
		t.Fatal(err)
	}
	r3.Close()
	if _, err := r3.Recv(); !IsCanceled(err) {
		t.Errorf("closed replay: %v", err)
	}
}

func TestLiveChunkLevelUploadAndCapabilities(t *testing.T) {
	c, ctx := liveClient(t)
	caps, err := c.GetCapabilities(ctx)
	if err != nil || caps.DigestFunction != "blake3" || caps.Chunking.Algorithm != "fastcdc-2020" || caps.Chunking.AvgSize == 0 {
		t.Fatalf("capabilities %+v %v", caps, err)
	}
	s, err := c.CreateSession(ctx, NewSession{Name: "go-chunks"})
	if err != nil {
		t.Fatal(err)
	}
	parts := [][]byte{bytes.Repeat([]byte("first chunk "), 1000), bytes.Repeat([]byte("second "), 900)}
	var chunks []Chunk
	var refs []ChunkRef
	var digests []string
	for _, p := range parts {
		d := digestHex(p)
		chunks = append(chunks, Chunk{Digest: d, Data: p})
		refs = append(refs, ChunkRef{Digest: d, Size: int64(len(p))})
		digests = append(digests, d)
	}
	missing, err := c.FindMissingChunks(ctx, digests)
	if err != nil || len(missing) != 2 {
		t.Fatalf("missing %v %v", missing, err)
	}
	h := &UploadHeader{SessionId: s.ID, Name: "joined"}
	whole := bytes.Join(parts, nil)
	if _, err := c.CommitArtifact(ctx, h, refs, digestHex(whole)); ReasonOf(err) != ReasonMissingChunks {
		t.Errorf("commit before upload: %v", err)
	}
	stored, err := c.UploadChunks(ctx, chunks...)
	if err != nil || stored.Chunks != 2 {
		t.Fatalf("upload chunks %+v %v", stored, err)
	}
	if _, err := c.UploadChunks(ctx, Chunk{Digest: digests[0], Data: []byte("not it")}); ReasonOf(err) != ReasonIntegrityError {
		t.Errorf("wrong digest: %v", err)
	}
	if missing, _ := c.FindMissingChunks(ctx, digests); len(missing) != 0 {
		t.Errorf("still missing %v", missing)
	}
	a, err := c.CommitArtifact(ctx, h, refs, digestHex(whole))
	if err != nil || a.Size != int64(len(whole)) || a.ChunkCount != 2 {
		t.Fatalf("commit %v %v", a, err)
	}
	byName, err := c.GetArtifactByName(ctx, s.ID, "joined", 0)
	if err != nil || byName.ID != a.ID {
		t.Errorf("by name: %v %v", byName, err)
	}
	var buf bytes.Buffer
	if _, err := c.Download(ctx, a.ID, &buf); err != nil || !bytes.Equal(buf.Bytes(), whole) {
		t.Errorf("download of a committed artifact: %v", err)
	}
	buf.Reset()
	if got, err := c.DownloadByName(ctx, s.ID, "joined", 0, &buf); err != nil || got.ID != a.ID || !bytes.Equal(buf.Bytes(), whole) {
		t.Errorf("download by name: %v %v", got, err)
	}
	stats, err := c.GetStorageStats(ctx, s.ID)
	if err != nil || stats.ArtifactCount != 1 || stats.LogicalBytes != int64(len(whole)) {
		t.Errorf("stats %+v %v", stats, err)
	}
}

func TestLiveCorrelationIDAndDeadline(t *testing.T) {
	c, ctx := liveClient(t)
	s, err := c.CreateSession(WithCorrelationID(ctx, "go-corr-1"), NewSession{Name: "go-corr"})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := c.AppendEvents(WithCorrelationID(ctx, "go-corr-2"), s.ID, []NewEvent{{Type: "x.y"}})
	if err != nil || evs[0].CorrelationID != "go-corr-2" {
		t.Fatalf("events %v %v", evs, err)
	}
	first, err := c.ListEvents(ctx, &ListEventsRequest{SessionId: s.ID, PageSize: 1})
	if err != nil || first.Events[0].CorrelationID != "go-corr-1" {
		t.Errorf("session.created correlation id: %v %v", first, err)
	}
	short, cancel := context.WithTimeout(ctx, time.Millisecond)
	defer cancel()
	time.Sleep(2 * time.Millisecond)
	if _, err := c.GetSession(short, s.ID); CodeOf(err) != codes.DeadlineExceeded {
		t.Errorf("expired deadline: %v", err)
	}
	// A subscription with a default timeout ends with DEADLINE_EXCEEDED once it is due.
	dc, _ := liveClient(t, WithDefaultTimeout(300*time.Millisecond))
	var last error
	for _, err := range dc.SubscribeEvents(context.Background(), s.ID, 0) {
		last = err
	}
	if CodeOf(last) != codes.DeadlineExceeded {
		t.Errorf("default timeout on a stream: %v", last)
	}
}

func TestLiveRateLimitCarriesRetryInfo(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(cfg, []byte("rate_limit_per_session = 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := ownServer(t, "--config", cfg)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := c.CreateSession(ctx, NewSession{Name: "go-rate"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		_, err = c.SetState(ctx, s.ID, StateUpdate{Set: map[string]any{"i": i}})
		if err != nil {
			break
		}
	}
	d, ok := RetryDelayOf(err)
	if ReasonOf(err) != ReasonRateLimited || !ok || d <= 0 {
		t.Fatalf("after 10 quick writes: %v (retry delay %v %v)", err, d, ok)
	}
	var e *Error
	if !errors.As(err, &e) || e.Code != codes.ResourceExhausted {
		t.Errorf("code %v", err)
	}
}

func TestLiveBulkSessionActionDryRunThenPages(t *testing.T) {
	c, ctx := liveClient(t)
	tag := "go-bulk-" + time.Now().Format("150405.000000")
	var ids []string
	for i := 0; i < 3; i++ {
		s, err := c.CreateSession(ctx, NewSession{Name: "go-bulk", Tags: []string{tag}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, s.ID)
	}
	filter := &ListSessionsRequest{Tags: []string{tag}}
	dry, err := c.BulkSessionAction(ctx, &BulkSessionActionRequest{Filter: filter, Action: BulkDelete, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(dry.GetChangedSessionIds(), ids) || dry.GetTotalSize() != 3 {
		t.Fatalf("dry run %v", dry)
	}
	if s, err := c.GetSession(ctx, ids[0]); err != nil || s.State != StateActive {
		t.Fatalf("a dry run changed %v: %v", s, err)
	}
	var completed []string
	token := ""
	for {
		page, err := c.BulkSessionAction(ctx, &BulkSessionActionRequest{Filter: filter, Action: BulkComplete, PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		completed = append(completed, page.GetChangedSessionIds()...)
		if token = page.GetNextPageToken(); token == "" {
			break
		}
	}
	if !reflect.DeepEqual(completed, ids) {
		t.Fatalf("completed %v, want %v", completed, ids)
	}
	again, err := c.BulkSessionAction(ctx, &BulkSessionActionRequest{Filter: filter, Action: BulkComplete})
	if err != nil || len(again.GetSkipped()) != 3 || again.GetSkipped()[0].GetReason() != "INVALID_STATE_TRANSITION" {
		t.Fatalf("re-run %v %v", again, err)
	}
	if _, err := c.BulkSessionAction(ctx, &BulkSessionActionRequest{Filter: filter}); ReasonOf(err) != "INVALID_ARGUMENT" {
		t.Errorf("no action: %v", err)
	}
	deleted, err := c.BulkSessionAction(ctx, &BulkSessionActionRequest{Filter: filter, Action: BulkDelete})
	if err != nil || len(deleted.GetChangedSessionIds()) != 3 {
		t.Fatalf("delete %v %v", deleted, err)
	}
}
