// Command artifacts stores and reads artifacts with the Go client: a streamed upload from an
// io.Reader, a second version, a full and a ranged download to an io.Writer, a listing, a
// deduplicated file upload and its edited re-upload, and a verified download to a file. It
// talks to $LLMSPELL_SESSION_ADDRESS (default 127.0.0.1:50051) with $LLMSPELL_SESSION_TOKEN if
// set, and exits 1 on any failure.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/llmspell/llmspell-sessions/clients/go/sessions"
)

func main() {
	log.SetFlags(0)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx); err != nil {
		log.Fatalf("artifacts: %v", err)
	}
}

func run(ctx context.Context) error {
	c, err := sessions.Dial(ctx, envOr("LLMSPELL_SESSION_ADDRESS", "127.0.0.1:50051"),
		sessions.WithToken(os.Getenv("LLMSPELL_SESSION_TOKEN")), sessions.WithBlock())
	if err != nil {
		return err
	}
	defer c.Close()
	s, err := c.CreateSession(ctx, sessions.NewSession{Name: "go-artifacts-example", Tags: []string{"example", "go"}})
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}

	content := make([]byte, 3<<20+12345) // 3 MiB and a bit: four upload messages
	rand.Read(content)
	a, err := c.Upload(ctx, &sessions.UploadHeader{
		SessionId: s.ID, Name: "report.bin", Type: sessions.TypeToolResult,
		MimeType: "application/octet-stream", ExpectedSize: int64(len(content)),
	}, bytes.NewReader(content))
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	fmt.Printf("uploaded %s v%d: %d bytes, stored %d, digest %s\n", a.Name, a.Version, a.Size, a.StoredSize, a.ContentDigest)

	v2, err := c.StoreArtifact(ctx, &sessions.UploadHeader{SessionId: s.ID, Name: "report.bin", MimeType: "text/plain"}, []byte("a short second version"))
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	fmt.Printf("stored %s v%d, previous digest %s\n", v2.Name, v2.Version, v2.PreviousDigest)

	var buf bytes.Buffer
	if _, err := c.Download(ctx, a.ID, &buf); err != nil {
		return fmt.Errorf("download: %w", err)
	}
	if !bytes.Equal(buf.Bytes(), content) {
		return fmt.Errorf("downloaded %d bytes that differ from the %d uploaded", buf.Len(), len(content))
	}
	buf.Reset()
	if _, err := c.DownloadRange(ctx, a.ID, 1<<20, 100, &buf); err != nil {
		return fmt.Errorf("ranged download: %w", err)
	}
	if !bytes.Equal(buf.Bytes(), content[1<<20:1<<20+100]) {
		return fmt.Errorf("ranged download differs")
	}
	fmt.Println("full and ranged downloads match")

	for art, err := range c.AllArtifacts(ctx, &sessions.ListArtifactsRequest{SessionId: s.ID, AllVersions: true}) {
		if err != nil {
			return fmt.Errorf("list: %w", err)
		}
		fmt.Printf("  %s v%d %d bytes %s\n", art.Name, art.Version, art.Size, art.MimeType)
	}
	if _, err := c.GetArtifact(ctx, "00000000-0000-7000-8000-000000000000"); !sessions.IsNotFound(err) {
		return fmt.Errorf("missing artifact: want NOT_FOUND, got %v", err)
	}
	if err := dedupAndVerify(ctx, c, s.ID); err != nil {
		return err
	}
	return c.DeleteSession(ctx, s.ID)
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// dedupAndVerify uploads an 8 MiB file, edits 1% of it and uploads it again (only the chunks the
// server lacks travel), then downloads it to a file that appears only once its digest checks out.
func dedupAndVerify(ctx context.Context, c *sessions.Client, sessionID string) error {
	dir, err := os.MkdirTemp("", "go-artifacts-example-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	content := make([]byte, 8<<20)
	rand.Read(content)
	path := filepath.Join(dir, "dataset.bin")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		return err
	}
	first, err := c.UploadFile(ctx, path, &sessions.UploadHeader{SessionId: sessionID})
	if err != nil {
		return fmt.Errorf("upload file: %w", err)
	}
	rand.Read(content[4<<20 : 4<<20+len(content)/100]) // edit 1% in the middle
	if err := os.WriteFile(path, content, 0o600); err != nil {
		return err
	}
	second, err := c.UploadFile(ctx, path, &sessions.UploadHeader{SessionId: sessionID})
	if err != nil {
		return fmt.Errorf("re-upload file: %w", err)
	}
	fmt.Printf("%s v%d added %d bytes, v%d after a 1%% edit added %d\n", first.Name, first.Version, first.NewBytes, second.Version, second.NewBytes)
	if second.NewBytes > int64(len(content))/10 {
		return fmt.Errorf("the re-upload stored %d new bytes: deduplication did not work", second.NewBytes)
	}
	out := filepath.Join(dir, "copy.bin")
	if _, err := c.DownloadFile(ctx, second.ID, out); err != nil {
		return fmt.Errorf("download file: %w", err)
	}
	got, err := os.ReadFile(out)
	if err != nil || !bytes.Equal(got, content) {
		return fmt.Errorf("downloaded file differs (%v)", err)
	}
	fmt.Println("verified download written to", filepath.Base(out))
	return nil
}
