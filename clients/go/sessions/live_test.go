package sessions

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
)

func TestLiveSessionCallsAgainstTheServer(t *testing.T) {
	c, ctx := liveClient(t)
	tag := "go-live-" + time.Now().Format("150405.000000")
	var ids []string
	for i := range 5 {
		s, err := c.CreateSession(ctx, NewSession{Name: tag, Tags: []string{tag}, Metadata: map[string]any{"i": i}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, s.ID)
	}
	n := 0
	for s, err := range c.AllSessions(ctx, &ListSessionsRequest{Tags: []string{tag}, PageSize: 2, OrderBy: "create_time"}) {
		if err != nil {
			t.Fatal(err)
		}
		if s.ID != ids[n] {
			t.Errorf("item %d is %s, want %s", n, s.ID, ids[n])
		}
		n++
	}
	if n != 5 {
		t.Errorf("listed %d of 5 sessions over pages of 2", n)
	}

	s, err := c.UpdateSession(ctx, &Session{ID: ids[0], Description: "updated"}, "description")
	if err != nil || s.Description != "updated" || s.Name != tag {
		t.Fatalf("update: %v %v", s, err)
	}
	if _, err := c.UpdateSession(ctx, &Session{ID: ids[0], Name: "x", Etag: "stale"}, "name"); ReasonOf(err) != ReasonEtagMismatch {
		t.Errorf("stale etag: %v", err)
	}
	if _, err := c.SetState(ctx, ids[0], StateUpdate{Set: map[string]any{"k": "stale"}}, IfEtag("stale")); ReasonOf(err) != ReasonEtagMismatch {
		t.Errorf("SetState with a stale etag: %v", err)
	}
	if _, err := c.SetState(ctx, ids[0], StateUpdate{Set: map[string]any{"k": []string{"v"}}}, IfEtag(s.Etag)); err != nil {
		t.Fatal(err)
	}
	loaded, err := c.LoadSession(ctx, ids[0])
	if err != nil || len(loaded.State) != 1 || loaded.Session.ID != ids[0] {
		t.Fatalf("load: %+v %v", loaded, err)
	}
	if _, err := c.SaveSession(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if s, err := c.FailSession(ctx, ids[1], "boom"); err != nil || s.State != StateFailed || s.FailureReason != "boom" {
		t.Fatalf("fail: %v %v", s, err)
	}
	if _, err := c.SuspendSession(ctx, ids[3], IfEtag("stale")); ReasonOf(err) != ReasonEtagMismatch {
		t.Errorf("suspend with a stale etag: %v", err)
	}
	if err := c.DeleteSession(ctx, ids[2]); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetSession(ctx, ids[2]); !IsNotFound(err) || ReasonOf(err) != ReasonSessionNotFound {
		t.Errorf("deleted session: %v", err)
	}
}

func skipIfUnimplemented(t *testing.T, err error) {
	t.Helper()
	if CodeOf(err) == codes.Unimplemented {
		t.Skip("server does not implement this yet:", err)
	}
}

func TestLiveArtifactRoundTrip(t *testing.T) {
	c, ctx := liveClient(t)
	s, err := c.CreateSession(ctx, NewSession{Name: "go-live-artifacts"})
	if err != nil {
		t.Fatal(err)
	}
	content := bytes.Repeat([]byte("llmspell "), 300_000) // 2.7 MB, compressible
	a, err := c.Upload(ctx, &UploadHeader{SessionId: s.ID, Name: "big.txt", ExpectedSize: int64(len(content))}, bytes.NewReader(content))
	skipIfUnimplemented(t, err)
	if err != nil || a.Size != int64(len(content)) || a.Version != 1 {
		t.Fatalf("upload: %v %v", a, err)
	}
	var buf bytes.Buffer
	if _, err := c.Download(ctx, a.ID, &buf); err != nil || !bytes.Equal(buf.Bytes(), content) {
		t.Fatalf("download: %d bytes, %v", buf.Len(), err)
	}
	path := filepath.Join(t.TempDir(), "big.txt")
	if got, err := c.DownloadFile(ctx, a.ID, path); err != nil || got.ContentDigest != a.ContentDigest {
		t.Fatalf("download file: %v %v", got, err)
	}
	if onDisk, _ := os.ReadFile(path); !bytes.Equal(onDisk, content) {
		t.Errorf("file holds %d bytes", len(onDisk))
	}
	_, err = c.Upload(ctx, &UploadHeader{SessionId: s.ID, Name: "bad", ExpectedSize: 5}, bytes.NewReader(content[:4]))
	if ReasonOf(err) != ReasonIntegrityError {
		t.Errorf("size mismatch: %v", err)
	}
}

func TestLiveSubscribeSeesHistoryThenLiveEvents(t *testing.T) {
	c, ctx := liveClient(t)
	s, err := c.CreateSession(ctx, NewSession{Name: "go-live-events"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.AppendEvents(ctx, s.ID, []NewEvent{{Type: "go.history"}}, IfLastSeq(1))
	skipIfUnimplemented(t, err)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for ev, err := range c.SubscribeEvents(ctx, s.ID, 0) {
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, ev.Type)
		if ev.Seq == 2 {
			go c.AppendEvents(ctx, s.ID, []NewEvent{{Type: "go.live"}})
		}
		if ev.Seq == 3 {
			break
		}
	}
	if want := []string{"session.created", "go.history", "go.live"}; !slices.Equal(types, want) {
		t.Errorf("types %v", types)
	}
}
