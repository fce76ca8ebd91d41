package sessions

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	pb "github.com/llmspell/llmspell-sessions/clients/go/gen/llmspell/sessions/v1"
)

func TestLiveArchiveRoundTripAndBackup(t *testing.T) {
	c, ctx := liveClient(t)
	s, err := c.CreateSession(ctx, NewSession{Name: "go-archive"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetState(ctx, s.ID, StateUpdate{Set: map[string]any{"goal": "tea"}}); err != nil {
		t.Fatal(err)
	}
	content := bytes.Repeat([]byte("archive me "), 5000)
	if _, err := c.StoreArtifact(ctx, &UploadHeader{SessionId: s.ID, Name: "blob.txt"}, content); err != nil {
		t.Fatal(err)
	}
	var archive bytes.Buffer
	if err := c.ExportSessions(ctx, &archive, s.ID); err != nil {
		t.Fatal(err)
	}

	other, err := Dial(ctx, ownServer(t), WithBlock())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	report, err := other.ImportSessions(ctx, bytes.NewReader(archive.Bytes()))
	if err != nil || len(report.ImportedSessionIds) != 1 || report.ImportedSessionIds[0] != s.ID {
		t.Fatalf("import: %v %v", report, err)
	}
	again, err := other.ImportSessions(ctx, bytes.NewReader(archive.Bytes()))
	if err != nil || len(again.SkippedSessionIds) != 1 {
		t.Fatalf("second import: %v %v", again, err)
	}
	if state, err := other.GetState(ctx, s.ID); err != nil || state["goal"] != "tea" {
		t.Fatalf("imported state: %v %v", state, err)
	}
	var copied bytes.Buffer
	if _, err := other.DownloadByName(ctx, s.ID, "blob.txt", 0, &copied); err != nil || !bytes.Equal(copied.Bytes(), content) {
		t.Fatalf("imported artifact: %d bytes, %v", copied.Len(), err)
	}
	cut := archive.Bytes()[:archive.Len()/2]
	if _, err := other.ImportSessions(ctx, bytes.NewReader(cut)); ReasonOf(err) != "INVALID_ARCHIVE" {
		t.Errorf("a cut archive: %v", err)
	}

	short, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var files []string
	err = c.BackupStore(short, func(p *pb.BackupStorePart) error {
		if f := p.GetFile(); f != nil {
			files = append(files, f.Path)
		}
		return nil
	})
	if err != nil || !strings.Contains(strings.Join(files, " "), "segments/") {
		t.Fatalf("backup: %v %v", files, err)
	}
}
