package sessions

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/structpb"
)

func TestAllSessionsWalksEveryPage(t *testing.T) {
	f := &fakeServer{sessions: 7, pageSize: 3}
	c := startFake(t, f)
	var ids []string
	for s, err := range c.AllSessions(context.Background(), nil) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, s.ID)
	}
	if want := []string{"s0", "s1", "s2", "s3", "s4", "s5", "s6"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("ids %v", ids)
	}
	if f.listCalls != 3 {
		t.Errorf("%d ListSessions calls for 3 pages", f.listCalls)
	}
}

func TestAllSessionsStopsFetchingWhenTheLoopBreaks(t *testing.T) {
	f := &fakeServer{sessions: 100, pageSize: 10}
	c := startFake(t, f)
	n := 0
	for range c.AllSessions(context.Background(), &ListSessionsRequest{PageSize: 10}) {
		if n++; n == 12 {
			break
		}
	}
	if f.listCalls != 2 {
		t.Errorf("%d ListSessions calls after reading 12 items of pages of 10", f.listCalls)
	}
}

func TestAllSessionsYieldsAPageErrorAndStops(t *testing.T) {
	f := &fakeServer{sessions: 10, pageSize: 4, failAtToken: "4"}
	c := startFake(t, f)
	var got []error
	n := 0
	for _, err := range c.AllSessions(context.Background(), nil) {
		if err != nil {
			got = append(got, err)
		} else {
			n++
		}
	}
	if n != 4 || len(got) != 1 || CodeOf(got[0]) != codes.Unavailable {
		t.Errorf("%d sessions, errors %v", n, got)
	}
}

func TestGetSessionMapsNotFoundToError(t *testing.T) {
	c := startFake(t, &fakeServer{})
	_, err := c.GetSession(context.Background(), "nope")
	var e *Error
	if !errors.As(err, &e) || !IsNotFound(err) || e.Reason != ReasonSessionNotFound || e.Metadata["session_id"] != "nope" {
		t.Errorf("got %#v", err)
	}
}

func TestStateGoesThroughAsGoValues(t *testing.T) {
	f := &fakeServer{state: map[string]*structpb.Value{"old": structpb.NewBoolValue(true)}}
	c := startFake(t, f)
	ctx := context.Background()
	_, err := c.SetState(ctx, "s", StateUpdate{Set: map[string]any{"plan": []string{"a", "b"}, "n": 2}, Delete: []string{"old"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.GetState(ctx, "s")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]any{"plan": []any{"a", "b"}, "n": 2.0}; !reflect.DeepEqual(got, want) {
		t.Errorf("state %#v", got)
	}
}

func TestUploadSendsHeaderThenOneMiBMessages(t *testing.T) {
	f := &fakeServer{}
	c := startFake(t, f)
	content := bytes.Repeat([]byte("0123456789"), 262_144) // 2.5 MiB
	a, err := c.Upload(context.Background(), &UploadHeader{SessionId: "s", Name: "blob"}, bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{1 << 20, 1 << 20, len(content) - 2<<20}; !reflect.DeepEqual(f.uploadSizes, want) {
		t.Errorf("message sizes %v, want %v", f.uploadSizes, want)
	}
	if f.header.GetName() != "blob" || a.Size != int64(len(content)) || !bytes.Equal(f.payload(), content) {
		t.Errorf("header %v, artifact %v", f.header, a)
	}
}

func TestUploadReturnsTheStatusOfAServerThatEndsTheStreamEarly(t *testing.T) {
	c := startFake(t, &fakeServer{})
	content := make([]byte, 64<<20) // far more than the stream's flow-control window
	_, err := c.Upload(context.Background(), &UploadHeader{Name: "too-big"}, bytes.NewReader(content))
	if !IsResourceExhausted(err) {
		t.Errorf("got %v", err)
	}
}

func TestUploadOfEmptyContentSendsOnlyTheHeader(t *testing.T) {
	f := &fakeServer{}
	c := startFake(t, f)
	if _, err := c.Upload(context.Background(), &UploadHeader{Name: "empty"}, bytes.NewReader(nil)); err != nil {
		t.Fatal(err)
	}
	if len(f.uploadSizes) != 0 {
		t.Errorf("data messages %v", f.uploadSizes)
	}
}

func TestDownloadReassemblesContentAndReturnsMetadata(t *testing.T) {
	content := bytes.Repeat([]byte{1, 2, 3, 4, 5, 6, 7}, 100_000)
	c := startFake(t, &fakeServer{content: content})
	var buf bytes.Buffer
	a, err := c.Download(context.Background(), "a1", &buf)
	if err != nil || a.ID != "a1" || !bytes.Equal(buf.Bytes(), content) {
		t.Fatalf("artifact %v, %d bytes, err %v", a, buf.Len(), err)
	}
	buf.Reset()
	if _, err := c.DownloadRange(context.Background(), "a1", 1000, 4096, &buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), content[1000:5096]) {
		t.Errorf("range: %d bytes", buf.Len())
	}
	if _, err := c.Download(context.Background(), "zz", &buf); !IsNotFound(err) {
		t.Errorf("missing artifact: %v", err)
	}
}

func TestAppendEventsSendsExpectedSeqOnlyWhenAsked(t *testing.T) {
	c := startFake(t, &fakeServer{})
	ctx := context.Background()
	evs, err := c.AppendEvents(ctx, "s", []NewEvent{{Type: "a", Payload: map[string]any{"i": 1}}, {Type: "b"}}, IfLastSeq(0))
	if err != nil || len(evs) != 2 || evs[1].Seq != 2 || evs[0].Payload["i"] != 1.0 {
		t.Fatalf("events %v, err %v", evs, err)
	}
	if _, err := c.AppendEvents(ctx, "s", []NewEvent{{Type: "late"}}, IfLastSeq(0)); !IsConflict(err) {
		t.Errorf("stale expected seq: %v", err)
	}
	if evs, err := c.AppendEvents(ctx, "s", []NewEvent{{Type: "c"}}); err != nil || evs[0].Seq != 3 {
		t.Errorf("AnySeq: %v %v", evs, err)
	}
}

func TestSubscribeEventsClosesTheStreamWhenTheLoopBreaks(t *testing.T) {
	f := &fakeServer{unsubscribe: make(chan struct{})}
	c := startFake(t, f)
	var seqs []int64
	for ev, err := range c.SubscribeEvents(context.Background(), "s", 10) {
		if err != nil {
			t.Fatal(err)
		}
		if seqs = append(seqs, ev.Seq); len(seqs) == 3 {
			break
		}
	}
	if !reflect.DeepEqual(seqs, []int64{11, 12, 13}) {
		t.Errorf("seqs %v", seqs)
	}
	select {
	case <-f.unsubscribe:
	case <-time.After(5 * time.Second):
		t.Error("the server stream was not cancelled")
	}
}

func TestForkSessionSendsThePoint(t *testing.T) {
	c := startFake(t, &fakeServer{})
	ctx := context.Background()
	for at, want := range map[Point]string{AtSeq(0): "seq 0", AtCheckpoint("cp"): "checkpoint cp", {}: "now"} {
		s, err := c.ForkSession(ctx, "src", at, "f")
		if err != nil || s.Description != want || s.ParentID != "src" {
			t.Errorf("%v: %v %v", at, s, err)
		}
	}
}

func TestCallTokenReplacesTheDialToken(t *testing.T) {
	f := &fakeServer{}
	c := startFake(t, f, WithToken("dial"), WithTokenOverPlaintext())
	ctx := context.Background()
	c.GetSession(WithCallToken(ctx, "call"), "x")
	c.GetSession(WithCallToken(ctx, ""), "x")
	c.GetSession(ctx, "x")
	if !reflect.DeepEqual(f.auth, []string{"Bearer call", "Bearer dial"}) {
		t.Errorf("authorization headers %v", f.auth)
	}
	plain := startFake(t, &fakeServer{}) // bufnet is not loopback: a call token over it is refused
	if _, err := plain.GetSession(WithCallToken(ctx, "t"), "x"); !errors.Is(err, ErrTokenOverPlaintext) {
		t.Errorf("call token over plaintext: %v", err)
	}
}

func TestTokenIsSentAsBearerMetadata(t *testing.T) {
	f := &fakeServer{}
	c := startFake(t, f, WithToken("s3cret"), WithTokenOverPlaintext())
	c.GetSession(context.Background(), "x")
	if !reflect.DeepEqual(f.auth, []string{"Bearer s3cret"}) {
		t.Errorf("authorization %v", f.auth)
	}
}
