package sessions

import (
	"bytes"
	"context"
	"io"
	"runtime"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
)

// cancelOnWrite cancels the download's context on its first write, then accepts everything.
type cancelOnWrite struct {
	cancel context.CancelFunc
	n      int
}

func (w *cancelOnWrite) Write(p []byte) (int, error) {
	w.n++
	w.cancel()
	return len(p), nil
}

func TestCancellationSurfacesAsCanceledOnEveryKindOfCall(t *testing.T) {
	f := &fakeServer{content: bytes.Repeat([]byte("x"), 8<<20), unsubscribe: make(chan struct{})}
	c := startFake(t, f)
	c.GetSession(context.Background(), "warm-up") // connects: the transport's goroutines start now
	before := runtime.NumGoroutine()

	// Unary: a context cancelled before the call.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.GetSession(ctx, "s"); CodeOf(err) != codes.Canceled || !IsCanceled(err) {
		t.Errorf("unary: %v", err)
	}

	// Server stream, cancelled half-way.
	ctx, cancel = context.WithCancel(context.Background())
	if _, err := c.Download(ctx, "a1", &cancelOnWrite{cancel: cancel}); CodeOf(err) != codes.Canceled {
		t.Errorf("download: %v", err)
	}

	// Client stream, cancelled before it ends.
	ctx, cancel = context.WithCancel(context.Background())
	r := &cancelAfterReader{r: bytes.NewReader(make([]byte, 4<<20)), cancel: cancel, after: 2 << 20}
	if _, err := c.Upload(ctx, &UploadHeader{Name: "x"}, r); CodeOf(err) != codes.Canceled {
		t.Errorf("upload: %v", err)
	}

	// A live subscription: the iterator yields the cancellation and stops.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	var last error
	n := 0
	for _, err := range c.SubscribeEvents(ctx, "s", 0) {
		if err != nil {
			last = err
			break
		}
		if n++; n == 5 {
			cancel()
		}
	}
	if CodeOf(last) != codes.Canceled {
		t.Errorf("subscribe: %v", last)
	}
	select {
	case <-f.unsubscribe:
	case <-time.After(5 * time.Second):
		t.Error("the server never saw the subscription end")
	}

	// Nothing keeps running for the calls that were cancelled.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("%d goroutines before the cancelled calls, %d after", before, after)
	}
}

// cancelAfterReader cancels its context once after bytes were read.
type cancelAfterReader struct {
	r      io.Reader
	cancel context.CancelFunc
	after  int
	read   int
}

func (r *cancelAfterReader) Read(p []byte) (int, error) {
	if r.read >= r.after {
		r.cancel()
	}
	n, err := r.r.Read(p)
	r.read += n
	return n, err
}
