package sessions

import (
	"testing"
	"time"

	pb "github.com/llmspell/llmspell-sessions/clients/go/gen/llmspell/sessions/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestModelTypesRoundTripTheirMessages(t *testing.T) {
	ts := timestamppb.New(time.Date(2026, 12, 5, 18, 0, 0, 123, time.UTC))
	md, _ := structpb.NewStruct(map[string]any{"k": "v", "n": 2.0})
	s := &pb.Session{
		SessionId: "s1", Name: "n", Tags: []string{"a"}, Metadata: md, State: StateSuspended, ParentSessionId: "p",
		CreateTime: ts, UpdateTime: ts, LastEventSeq: 7, Etag: "e", Grants: map[string]SessionAccess{"bob": AccessRead},
	}
	got := sessionFromPB(s)
	if got.ID != "s1" || got.ParentID != "p" || !got.CreateTime.Equal(ts.AsTime()) || !got.EndTime.IsZero() || got.Metadata["n"] != 2.0 {
		t.Errorf("session %+v", got)
	}
	if !proto.Equal(got.ToProto(), s) {
		t.Errorf("session round trip:\n%v\n%v", got.ToProto(), s)
	}
	a := &pb.Artifact{ArtifactId: "a1", SessionId: "s1", Name: "x", Version: 2, Size: 5, ContentDigest: "d", CreateTime: ts, Metadata: md}
	if ga := artifactFromPB(a); ga.ID != "a1" || !proto.Equal(ga.ToProto(), a) {
		t.Errorf("artifact round trip %+v", ga)
	}
	e := &pb.Event{SessionId: "s1", Seq: 3, Type: "t", Time: ts, CorrelationId: "c", Payload: md}
	if ge := eventFromPB(e); ge.CorrelationID != "c" || !proto.Equal(ge.ToProto(), e) {
		t.Errorf("event round trip %+v", ge)
	}
	if sessionFromPB(nil) != nil || artifactFromPB(nil) != nil || eventFromPB(nil) != nil {
		t.Error("nil messages must give nil")
	}
}
