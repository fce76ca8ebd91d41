package sessions

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"

	pb "github.com/llmspell/llmspell-sessions/clients/go/gen/llmspell/sessions/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/structpb"
	"lukechampine.com/blake3"
)

// fakeServer is an in-process implementation of the three services, just enough to exercise the
// wrapper: sessions "s0".."sN-1" listed in pages, one state map, one stored artifact, an event log.
type fakeServer struct {
	pb.UnimplementedSessionServiceServer
	pb.UnimplementedArtifactServiceServer
	pb.UnimplementedReplayServiceServer

	mu          sync.Mutex
	sessions    int
	pageSize    int
	listCalls   int
	failAtToken string
	state       map[string]*structpb.Value
	uploadSizes []int // data message sizes of the last upload
	header      *pb.UploadHeader
	content     []byte
	events      []*pb.Event
	auth        []string // authorization headers seen
	unsubscribe chan struct{}
	corrupt     bool // DownloadArtifact flips a byte of the content it sends
}

// startFake serves f on a bufconn listener and returns a Client connected to it.
func startFake(t *testing.T, f *fakeServer, opts ...Option) *Client {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(grpc.UnaryInterceptor(f.recordAuth))
	pb.RegisterSessionServiceServer(srv, f)
	pb.RegisterArtifactServiceServer(srv, f)
	pb.RegisterReplayServiceServer(srv, f)
	go srv.Serve(lis)
	dialer := func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }
	opts = append([]Option{WithInsecure(), WithDialOptions(grpc.WithContextDialer(dialer))}, opts...)
	c, err := Dial(context.Background(), "passthrough:///bufnet", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); srv.Stop() })
	return c
}

func (f *fakeServer) recordAuth(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	f.mu.Lock()
	f.auth = append(f.auth, md.Get("authorization")...)
	f.mu.Unlock()
	return h(ctx, req)
}

func notFound(id string) error {
	s, _ := status.New(codes.NotFound, "no session "+id).WithDetails(&errdetails.ErrorInfo{
		Reason: ReasonSessionNotFound, Domain: ErrorDomain, Metadata: map[string]string{"session_id": id},
	})
	return s.Err()
}

func (f *fakeServer) GetSession(_ context.Context, req *pb.GetSessionRequest) (*pb.Session, error) {
	return nil, notFound(req.SessionId)
}

func (f *fakeServer) ListSessions(_ context.Context, req *pb.ListSessionsRequest) (*pb.ListSessionsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.listCalls++
	if req.PageToken != "" && req.PageToken == f.failAtToken {
		return nil, status.Error(codes.Unavailable, "storage down")
	}
	start, _ := strconv.Atoi(req.PageToken)
	resp := &pb.ListSessionsResponse{TotalSize: int64(f.sessions)}
	for i := start; i < min(start+f.pageSize, f.sessions); i++ {
		resp.Sessions = append(resp.Sessions, &pb.Session{SessionId: fmt.Sprintf("s%d", i)})
	}
	if end := start + f.pageSize; end < f.sessions {
		resp.NextPageToken = strconv.Itoa(end)
	}
	return resp, nil
}

func (f *fakeServer) SetSessionState(_ context.Context, req *pb.SetSessionStateRequest) (*pb.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, v := range req.Entries {
		f.state[k] = v
	}
	for _, k := range req.DeleteKeys {
		delete(f.state, k)
	}
	return &pb.Session{SessionId: req.SessionId, Etag: req.Etag}, nil
}

func (f *fakeServer) GetSessionState(_ context.Context, req *pb.GetSessionStateRequest) (*pb.GetSessionStateResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &pb.GetSessionStateResponse{Entries: f.state}, nil
}

func (f *fakeServer) UploadArtifact(stream pb.ArtifactService_UploadArtifactServer) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	f.header, f.uploadSizes, f.content = first.GetHeader(), nil, nil
	for {
		if f.header.GetName() == "too-big" && len(f.content) > 0 {
			return status.Error(codes.ResourceExhausted, "over max_artifact_size")
		}
		msg, err := stream.Recv()
		if err == io.EOF {
			return stream.SendAndClose(&pb.Artifact{ArtifactId: "a1", Name: f.header.GetName(), Size: int64(len(f.content))})
		}
		if err != nil {
			return err
		}
		f.uploadSizes = append(f.uploadSizes, len(msg.GetData()))
		f.content = append(f.content, msg.GetData()...)
	}
}

func (f *fakeServer) DownloadArtifact(req *pb.DownloadArtifactRequest, stream pb.ArtifactService_DownloadArtifactServer) error {
	if req.ArtifactId != "a1" {
		return status.Error(codes.NotFound, "no artifact")
	}
	if err := stream.Send(&pb.DownloadArtifactResponse{Kind: &pb.DownloadArtifactResponse_Artifact{
		Artifact: &pb.Artifact{ArtifactId: "a1", Size: int64(len(f.content)), ContentDigest: digestHex(f.content)}}}); err != nil {
		return err
	}
	data := f.content[req.Offset:]
	if f.corrupt {
		data = bytes.Clone(data)
		data[len(data)/2] ^= 1
	}
	if req.Limit > 0 {
		data = data[:req.Limit]
	}
	for len(data) > 0 { // small messages, to test reassembly
		n := min(len(data), 100_000)
		if err := stream.Send(&pb.DownloadArtifactResponse{Kind: &pb.DownloadArtifactResponse_Data{Data: data[:n]}}); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

func (f *fakeServer) AppendEvents(_ context.Context, req *pb.AppendEventsRequest) (*pb.AppendEventsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if req.ExpectedLastSeq != nil && *req.ExpectedLastSeq != int64(len(f.events)) {
		return nil, status.Error(codes.Aborted, "seq mismatch")
	}
	resp := &pb.AppendEventsResponse{}
	for _, e := range req.Events {
		ev := &pb.Event{SessionId: req.SessionId, Seq: int64(len(f.events) + 1), Type: e.Type, Payload: e.Payload}
		f.events = append(f.events, ev)
		resp.Events = append(resp.Events, ev)
	}
	return resp, nil
}

func (f *fakeServer) SubscribeEvents(req *pb.SubscribeEventsRequest, stream pb.ReplayService_SubscribeEventsServer) error {
	defer close(f.unsubscribe)
	for i := range 1000 {
		if err := stream.Send(&pb.Event{SessionId: req.SessionId, Seq: req.AfterSeq + int64(i) + 1}); err != nil {
			return err // the client went away while flow control held us back
		}
	}
	<-stream.Context().Done() // a live subscription: only the client ends it
	return nil
}

func (f *fakeServer) ForkSession(_ context.Context, req *pb.ForkSessionRequest) (*pb.Session, error) {
	point := "now"
	switch p := req.Point.(type) {
	case *pb.ForkSessionRequest_AtSeq:
		point = fmt.Sprintf("seq %d", p.AtSeq)
	case *pb.ForkSessionRequest_CheckpointId:
		point = "checkpoint " + p.CheckpointId
	}
	return &pb.Session{Name: req.Name, ParentSessionId: req.SessionId, Description: point}, nil
}

// digestHex is the BLAKE3 hex digest of b.
func digestHex(b []byte) string {
	sum := blake3.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// payload is the test's view of a stored upload: the data bytes.
func (f *fakeServer) payload() []byte { return bytes.Clone(f.content) }
