package sessions

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	pb "github.com/llmspell/llmspell-sessions/clients/go/gen/llmspell/sessions/v1"
	"google.golang.org/grpc"
)

// sentBytes counts the content bytes a client puts on the wire in upload streams.
type sentBytes struct{ n atomic.Int64 }

func (s *sentBytes) interceptor(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	cs, err := streamer(ctx, desc, cc, method, opts...)
	return &countingStream{ClientStream: cs, sent: s}, err
}

type countingStream struct {
	grpc.ClientStream
	sent *sentBytes
}

func (s *countingStream) SendMsg(m any) error {
	switch m := m.(type) {
	case *pb.UploadChunksRequest:
		s.sent.n.Add(int64(len(m.GetData())))
	case *pb.UploadArtifactRequest:
		s.sent.n.Add(int64(len(m.GetData())))
	}
	return s.ClientStream.SendMsg(m)
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

func TestLiveReuploadOfAnEditedFileSendsOnlyTheEdits(t *testing.T) {
	var sent sentBytes
	c, ctx := liveClient(t, WithDialOptions(grpc.WithChainStreamInterceptor(sent.interceptor)))
	s, err := c.CreateSession(ctx, NewSession{Name: "go-dedup"})
	if err != nil {
		t.Fatal(err)
	}
	const size = 32 << 20
	content := randomBytes(size, 42)
	path := filepath.Join(t.TempDir(), "model.bin")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	a1, err := c.UploadFile(ctx, path, &UploadHeader{SessionId: s.ID})
	if err != nil {
		t.Fatal(err)
	}
	if a1.Name != "model.bin" || a1.Size != size || a1.ContentDigest != digestOf(content) {
		t.Fatalf("first upload %v", a1)
	}
	if first := sent.n.Load(); first < size {
		t.Fatalf("first upload sent %d bytes of %d new ones", first, size)
	}

	copy(content[size/2:], randomBytes(size/100, 7)) // a 1% edit in the middle
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	sent.n.Store(0)
	a2, err := c.UploadFile(ctx, path, &UploadHeader{SessionId: s.ID})
	if err != nil {
		t.Fatal(err)
	}
	if a2.Version != 2 || a2.ContentDigest != digestOf(content) {
		t.Fatalf("second upload %v", a2)
	}
	if got := sent.n.Load(); got > size/20 {
		t.Errorf("re-upload of a 1%%-edited file sent %d bytes, more than 5%% of %d", got, size)
	} else {
		t.Logf("re-upload sent %d bytes (%.2f%%)", got, 100*float64(got)/size)
	}
	var buf bytes.Buffer
	if _, err := c.Download(ctx, a2.ID, &buf); err != nil || !bytes.Equal(buf.Bytes(), content) {
		t.Errorf("download of the deduplicated upload: %v", err)
	}
}

// failingReader returns errCutOff once limit bytes were read, after a pause that lets the
// server take in the bytes already sent (as when a network drops a stream that was idle).
type failingReader struct {
	r     io.Reader
	limit int
	read  int
}

var errCutOff = errors.New("connection cut off")

func (f *failingReader) Read(p []byte) (int, error) {
	if f.read >= f.limit {
		time.Sleep(500 * time.Millisecond)
		return 0, errCutOff
	}
	p = p[:min(len(p), f.limit-f.read)]
	n, err := f.r.Read(p)
	f.read += n
	return n, err
}

func TestLiveResumableUploadContinuesWhereItStopped(t *testing.T) {
	var sent sentBytes
	c, ctx := liveClient(t, WithDialOptions(grpc.WithChainStreamInterceptor(sent.interceptor)))
	s, err := c.CreateSession(ctx, NewSession{Name: "go-resume"})
	if err != nil {
		t.Fatal(err)
	}
	content := randomBytes(6<<20+123, 3)
	h := &UploadHeader{SessionId: s.ID, Name: "resumed.bin", UploadId: "go-resume-" + s.ID, ExpectedSize: int64(len(content))}
	_, err = c.Upload(ctx, h, &failingReader{r: bytes.NewReader(content), limit: 3 << 20})
	if !errors.Is(err, errCutOff) {
		t.Fatalf("cut-off upload: %v", err)
	}
	// The server takes in what reached it after the client went away: wait until it settles.
	var st *UploadStatus
	for i := 0; i < 100; i++ {
		prev := st
		if st, err = c.QueryUploadStatus(ctx, h.UploadId); err != nil && !IsNotFound(err) {
			break
		}
		if err == nil && prev != nil && st.CommittedSize > 0 && st.CommittedSize == prev.CommittedSize {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil || st.Complete || st.CommittedSize <= 0 || st.CommittedSize > 3<<20 {
		t.Fatalf("status after the cut: %+v %v", st, err)
	}
	sent.n.Store(0)
	a, err := c.ResumeUpload(ctx, h, bytes.NewReader(content))
	if err != nil || a.Size != int64(len(content)) || a.ContentDigest != digestOf(content) {
		t.Fatalf("resumed upload: %v %v", a, err)
	}
	if got := sent.n.Load(); got != int64(len(content))-st.CommittedSize {
		t.Errorf("resume sent %d bytes, want the %d missing", got, int64(len(content))-st.CommittedSize)
	}
	again, err := c.ResumeUpload(ctx, h, bytes.NewReader(content))
	if err != nil || again.ID != a.ID {
		t.Errorf("resuming a completed upload: %v %v", again, err)
	}
}
