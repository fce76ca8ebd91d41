package sessions

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/grpc/codes"
)

func TestDownloadOfCorruptedBytesIsAnIntegrityError(t *testing.T) {
	content := bytes.Repeat([]byte("abcdefgh"), 50_000)
	c := startFake(t, &fakeServer{content: content, corrupt: true})
	var buf bytes.Buffer
	_, err := c.Download(context.Background(), "a1", &buf)
	var e *Error
	if !errors.As(err, &e) || e.Code != codes.DataLoss || !IsIntegrityError(err) || e.Metadata["artifact_id"] != "a1" {
		t.Fatalf("got %v", err)
	}
}

func TestDownloadFileReplacesTheTargetOnlyAfterTheCheck(t *testing.T) {
	content := bytes.Repeat([]byte("0123456789abcdef"), 40_000)
	dir := t.TempDir()
	target := filepath.Join(dir, "out.bin")
	if err := os.WriteFile(target, []byte("previous"), 0o644); err != nil {
		t.Fatal(err)
	}

	bad := startFake(t, &fakeServer{content: content, corrupt: true})
	if _, err := bad.DownloadFile(context.Background(), "a1", target); !IsIntegrityError(err) {
		t.Fatalf("corrupted download: %v", err)
	}
	assertDir(t, dir, target, []byte("previous"))

	if _, err := bad.DownloadFile(context.Background(), "missing", target); !IsNotFound(err) {
		t.Fatalf("missing artifact: %v", err)
	}
	assertDir(t, dir, target, []byte("previous"))

	good := startFake(t, &fakeServer{content: content})
	a, err := good.DownloadFile(context.Background(), "a1", target)
	if err != nil || a.ID != "a1" {
		t.Fatalf("download: %v %v", a, err)
	}
	assertDir(t, dir, target, content)
}

func TestExpectDigestChecksAgainstTheCallersDigest(t *testing.T) {
	content := bytes.Repeat([]byte("z"), 70_000)
	c := startFake(t, &fakeServer{content: content})
	var buf bytes.Buffer
	if _, err := c.Download(context.Background(), "a1", &buf, ExpectDigest(digestHex([]byte("other")))); !IsIntegrityError(err) {
		t.Errorf("wrong expected digest: %v", err)
	}
	buf.Reset()
	if _, err := c.Download(context.Background(), "a1", &buf, ExpectDigest(digestHex(content))); err != nil {
		t.Errorf("right expected digest: %v", err)
	}
}

func TestDownloadRangeChecksTheLengthReceived(t *testing.T) {
	content := bytes.Repeat([]byte{9}, 1000)
	c := startFake(t, &fakeServer{content: content})
	var buf bytes.Buffer
	if _, err := c.DownloadRange(context.Background(), "a1", 990, 0, &buf); err != nil || buf.Len() != 10 {
		t.Fatalf("tail range: %d bytes, %v", buf.Len(), err)
	}
}

// assertDir checks that dir holds only target, with content want (no temporary file left).
func assertDir(t *testing.T, dir, target string, want []byte) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("%d files in the directory, want only the target", len(entries))
	}
	got, err := os.ReadFile(target)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("target holds %d bytes (err %v), want %d", len(got), err, len(want))
	}
}
