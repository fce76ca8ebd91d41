package sessions

import (
	"time"

	pb "github.com/llmspell/llmspell-sessions/clients/go/gen/llmspell/sessions/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Session is a session record: one run of an agent or tool, with a lifecycle, a key-value state,
// artifacts and an append-only event log.
type Session struct {
	// ID is the server-assigned UUIDv7 text (time-ordered).
	ID          string
	Name        string
	Description string
	Tags        []string
	// Metadata is JSON-like data as Go values (see FromStruct).
	Metadata map[string]any
	State    SessionState
	// ParentID is set for forks and child sessions.
	ParentID string
	// CreatedBy is the subject of the caller that created the session.
	CreatedBy  string
	CreateTime time.Time
	UpdateTime time.Time
	// EndTime is set when the session reaches COMPLETED or FAILED (else the zero time).
	EndTime time.Time
	// ExpireTime is when a timeout will suspend or fail an ACTIVE session (else the zero time).
	ExpireTime time.Time
	// ArtifactCount and ArtifactBytes count live artifacts (every version) and their logical bytes.
	ArtifactCount int64
	ArtifactBytes int64
	// LastEventSeq is the seq of the newest event of the session's log.
	LastEventSeq int64
	// Etag changes on every mutation; pass it back with IfEtag for optimistic concurrency.
	Etag          string
	FailureReason string
	// Grants maps the subjects besides the owner that may use the session to their access.
	Grants map[string]SessionAccess
}

// Artifact is an artifact's metadata: content stored content-addressed, versioned per
// (session, name).
type Artifact struct {
	// ID is unique per stored artifact.
	ID        string
	SessionID string
	Name      string
	// Version counts per (session, name) from 1.
	Version     int32
	Type        ArtifactType
	CustomType  string
	Description string
	Tags        []string
	MimeType    string
	Metadata    map[string]any
	// Size is the content's length in bytes.
	Size int64
	// ContentDigest is the BLAKE3 of the whole content, lowercase hex.
	ContentDigest string
	// StoredSize is what the artifact's chunks occupy after compression.
	StoredSize int64
	Compressed bool
	ChunkCount int32
	// NewBytes is what this write added to the store (0 when all content was known).
	NewBytes         int64
	ParentArtifactID string
	// PreviousDigest is the previous version's ContentDigest.
	PreviousDigest string
	CreateTime     time.Time
	CreatedBy      string
}

// Event is one entry of a session's append-only event log.
type Event struct {
	SessionID string
	// Seq is gapless per session, from 1.
	Seq  int64
	Type string
	Time time.Time
	// Actor is the subject whose request appended the event.
	Actor string
	// CorrelationID is shared by all events of one request (see WithCorrelationID).
	CorrelationID string
	CausationID   string
	Payload       map[string]any
}

func timeOf(t *timestamppb.Timestamp) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.AsTime()
}

func timestampOf(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func sessionFromPB(m *pb.Session) *Session {
	if m == nil {
		return nil
	}
	return &Session{
		ID: m.GetSessionId(), Name: m.GetName(), Description: m.GetDescription(), Tags: m.GetTags(),
		Metadata: FromStruct(m.GetMetadata()), State: m.GetState(), ParentID: m.GetParentSessionId(),
		CreatedBy: m.GetCreatedBy(), CreateTime: timeOf(m.GetCreateTime()), UpdateTime: timeOf(m.GetUpdateTime()),
		EndTime: timeOf(m.GetEndTime()), ExpireTime: timeOf(m.GetExpireTime()),
		ArtifactCount: m.GetArtifactCount(), ArtifactBytes: m.GetArtifactBytes(), LastEventSeq: m.GetLastEventSeq(),
		Etag: m.GetEtag(), FailureReason: m.GetFailureReason(), Grants: m.GetGrants(),
	}
}

// ToProto returns the session as its generated message (sessionsv1.Session), e.g. for protojson
// or the raw stubs; metadata that does not convert to a Struct is left out.
func (s *Session) ToProto() *pb.Session {
	md, _ := ToStruct(s.Metadata)
	return &pb.Session{
		SessionId: s.ID, Name: s.Name, Description: s.Description, Tags: s.Tags, Metadata: md, State: s.State,
		ParentSessionId: s.ParentID, CreatedBy: s.CreatedBy, CreateTime: timestampOf(s.CreateTime),
		UpdateTime: timestampOf(s.UpdateTime), EndTime: timestampOf(s.EndTime), ExpireTime: timestampOf(s.ExpireTime),
		ArtifactCount: s.ArtifactCount, ArtifactBytes: s.ArtifactBytes, LastEventSeq: s.LastEventSeq,
		Etag: s.Etag, FailureReason: s.FailureReason, Grants: s.Grants,
	}
}

func artifactFromPB(m *pb.Artifact) *Artifact {
	if m == nil {
		return nil
	}
	return &Artifact{
		ID: m.GetArtifactId(), SessionID: m.GetSessionId(), Name: m.GetName(), Version: m.GetVersion(),
		Type: m.GetType(), CustomType: m.GetCustomType(), Description: m.GetDescription(), Tags: m.GetTags(),
		MimeType: m.GetMimeType(), Metadata: FromStruct(m.GetMetadata()), Size: m.GetSize(),
		ContentDigest: m.GetContentDigest(), StoredSize: m.GetStoredSize(), Compressed: m.GetCompressed(),
		ChunkCount: m.GetChunkCount(), NewBytes: m.GetNewBytes(), ParentArtifactID: m.GetParentArtifactId(),
		PreviousDigest: m.GetPreviousDigest(), CreateTime: timeOf(m.GetCreateTime()), CreatedBy: m.GetCreatedBy(),
	}
}

// ToProto returns the artifact as its generated message (sessionsv1.Artifact).
func (a *Artifact) ToProto() *pb.Artifact {
	md, _ := ToStruct(a.Metadata)
	return &pb.Artifact{
		ArtifactId: a.ID, SessionId: a.SessionID, Name: a.Name, Version: a.Version, Type: a.Type,
		CustomType: a.CustomType, Description: a.Description, Tags: a.Tags, MimeType: a.MimeType, Metadata: md,
		Size: a.Size, ContentDigest: a.ContentDigest, StoredSize: a.StoredSize, Compressed: a.Compressed,
		ChunkCount: a.ChunkCount, NewBytes: a.NewBytes, ParentArtifactId: a.ParentArtifactID,
		PreviousDigest: a.PreviousDigest, CreateTime: timestampOf(a.CreateTime), CreatedBy: a.CreatedBy,
	}
}

// ToProto returns the event as its generated message (sessionsv1.Event).
func (e *Event) ToProto() *pb.Event {
	payload, _ := ToStruct(e.Payload)
	return &pb.Event{
		SessionId: e.SessionID, Seq: e.Seq, Type: e.Type, Time: timestampOf(e.Time), Actor: e.Actor,
		CorrelationId: e.CorrelationID, CausationId: e.CausationID, Payload: payload,
	}
}

func eventFromPB(m *pb.Event) *Event {
	if m == nil {
		return nil
	}
	return &Event{
		SessionID: m.GetSessionId(), Seq: m.GetSeq(), Type: m.GetType(), Time: timeOf(m.GetTime()),
		Actor: m.GetActor(), CorrelationID: m.GetCorrelationId(), CausationID: m.GetCausationId(),
		Payload: FromStruct(m.GetPayload()),
	}
}

// mapAll converts every message of a list.
func mapAll[M any, T any](in []M, f func(M) T) []T {
	out := make([]T, len(in))
	for i, m := range in {
		out[i] = f(m)
	}
	return out
}

// convert passes a unary result through a conversion, mapping its error to *Error.
func convert[M any, T any](f func(M) T) func(M, error) (T, error) {
	return func(m M, err error) (T, error) {
		if err != nil {
			var zero T
			return zero, wrapErr(err)
		}
		return f(m), nil
	}
}
