// Command artifacts stores and reads artifacts with the Go client: a streamed upload from an
// io.Reader, a second version, a full and a ranged download to an io.Writer, and a listing. It
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
		SessionId: s.SessionId, Name: "report.bin", Type: sessions.TypeToolResult,
		MimeType: "application/octet-stream", ExpectedSize: int64(len(content)),
	}, bytes.NewReader(content))
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	fmt.Printf("uploaded %s v%d: %d bytes, stored %d, digest %s\n", a.Name, a.Version, a.Size, a.StoredSize, a.ContentDigest)

	v2, err := c.StoreArtifact(ctx, &sessions.UploadHeader{SessionId: s.SessionId, Name: "report.bin", MimeType: "text/plain"}, []byte("a short second version"))
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	fmt.Printf("stored %s v%d, previous digest %s\n", v2.Name, v2.Version, v2.PreviousDigest)

	var buf bytes.Buffer
	if _, err := c.Download(ctx, a.ArtifactId, &buf); err != nil {
		return fmt.Errorf("download: %w", err)
	}
	if !bytes.Equal(buf.Bytes(), content) {
		return fmt.Errorf("downloaded %d bytes that differ from the %d uploaded", buf.Len(), len(content))
	}
	buf.Reset()
	if _, err := c.DownloadRange(ctx, a.ArtifactId, 1<<20, 100, &buf); err != nil {
		return fmt.Errorf("ranged download: %w", err)
	}
	if !bytes.Equal(buf.Bytes(), content[1<<20:1<<20+100]) {
		return fmt.Errorf("ranged download differs")
	}
	fmt.Println("full and ranged downloads match")

	for art, err := range c.AllArtifacts(ctx, &sessions.ListArtifactsRequest{SessionId: s.SessionId, AllVersions: true}) {
		if err != nil {
			return fmt.Errorf("list: %w", err)
		}
		fmt.Printf("  %s v%d %d bytes %s\n", art.Name, art.Version, art.Size, art.MimeType)
	}
	if _, err := c.GetArtifact(ctx, "00000000-0000-7000-8000-000000000000"); !sessions.IsNotFound(err) {
		return fmt.Errorf("missing artifact: want NOT_FOUND, got %v", err)
	}
	return c.DeleteSession(ctx, s.SessionId, "")
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
