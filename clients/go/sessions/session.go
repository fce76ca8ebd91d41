package sessions

import (
	"context"
	"iter"

	pb "github.com/llmspell/llmspell-sessions/clients/go/gen/llmspell/sessions/v1"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// NewSession describes a session to create.
type NewSession struct {
	// Name is a human-readable name (not unique).
	Name string
	// Description is free text, searched by ListSessions' search filter.
	Description string
	// Tags label the session; ListSessions can filter on them.
	Tags []string
	// Metadata is arbitrary JSON-like data (see ToValue).
	Metadata map[string]any
	// ParentID makes the new session a child of another one.
	ParentID string
	// RequestID is an idempotency key: a retry with the same id within 10 minutes returns the same session.
	RequestID string
}

var asSession = convert(sessionFromPB)

// CreateSession creates a session in the ACTIVE state.
func (c *Client) CreateSession(ctx context.Context, s NewSession) (*Session, error) {
	md, err := ToStruct(s.Metadata)
	if err != nil {
		return nil, err
	}
	return asSession(c.SessionService.CreateSession(ctx, &pb.CreateSessionRequest{
		Name: s.Name, Description: s.Description, Tags: s.Tags, Metadata: md,
		ParentSessionId: s.ParentID, RequestId: s.RequestID,
	}))
}

// GetSession returns a session by id.
func (c *Client) GetSession(ctx context.Context, id string) (*Session, error) {
	return asSession(c.SessionService.GetSession(ctx, &pb.GetSessionRequest{SessionId: id}))
}

// SessionPage is one page of ListSessions.
type SessionPage struct {
	Sessions []*Session
	// NextPageToken continues the listing ("" = last page); TotalSize counts every match.
	NextPageToken string
	TotalSize     int64
}

// ListSessions returns one page of sessions; req may be nil (first page, defaults).
func (c *Client) ListSessions(ctx context.Context, req *ListSessionsRequest) (*SessionPage, error) {
	if req == nil {
		req = &ListSessionsRequest{}
	}
	resp, err := c.SessionService.ListSessions(ctx, req)
	if err != nil {
		return nil, wrapErr(err)
	}
	return &SessionPage{Sessions: mapAll(resp.GetSessions(), sessionFromPB), NextPageToken: resp.GetNextPageToken(), TotalSize: resp.GetTotalSize()}, nil
}

// AllSessions iterates over every session matching req (nil = all but ARCHIVED ones), fetching
// pages as the loop advances. req's page token is ignored; req is not modified.
func (c *Client) AllSessions(ctx context.Context, req *ListSessionsRequest) iter.Seq2[*Session, error] {
	return pages(ctx, func(ctx context.Context, token string) ([]*Session, string, error) {
		r := cloneRequest(req)
		r.PageToken = token
		page, err := c.ListSessions(ctx, r)
		if err != nil {
			return nil, "", err
		}
		return page.Sessions, page.NextPageToken, nil
	})
}

// UpdateSession changes the fields of s named by paths ("name", "description", "tags",
// "metadata"; none = all four) on the session s.ID. A non-empty s.Etag that is stale fails with
// ABORTED / ETAG_MISMATCH.
func (c *Client) UpdateSession(ctx context.Context, s *Session, paths ...string) (*Session, error) {
	if _, err := ToStruct(s.Metadata); err != nil {
		return nil, err
	}
	return asSession(c.SessionService.UpdateSession(ctx, &pb.UpdateSessionRequest{
		Session: s.ToProto(), UpdateMask: &fieldmaskpb.FieldMask{Paths: paths},
	}))
}

// SuspendSession moves an ACTIVE session to SUSPENDED. Options: IfEtag.
func (c *Client) SuspendSession(ctx context.Context, id string, opts ...WriteOption) (*Session, error) {
	o := collectWrite(opts)
	return asSession(c.SessionService.SuspendSession(ctx, &pb.SuspendSessionRequest{SessionId: id, Etag: o.etag}))
}

// ResumeSession moves a SUSPENDED session back to ACTIVE. Options: IfEtag.
func (c *Client) ResumeSession(ctx context.Context, id string, opts ...WriteOption) (*Session, error) {
	o := collectWrite(opts)
	return asSession(c.SessionService.ResumeSession(ctx, &pb.ResumeSessionRequest{SessionId: id, Etag: o.etag}))
}

// CompleteSession moves an ACTIVE or SUSPENDED session to COMPLETED. Options: IfEtag.
func (c *Client) CompleteSession(ctx context.Context, id string, opts ...WriteOption) (*Session, error) {
	o := collectWrite(opts)
	return asSession(c.SessionService.CompleteSession(ctx, &pb.CompleteSessionRequest{SessionId: id, Etag: o.etag}))
}

// FailSession moves an ACTIVE or SUSPENDED session to FAILED with a reason. Options: IfEtag.
func (c *Client) FailSession(ctx context.Context, id, reason string, opts ...WriteOption) (*Session, error) {
	o := collectWrite(opts)
	return asSession(c.SessionService.FailSession(ctx, &pb.FailSessionRequest{SessionId: id, Reason: reason, Etag: o.etag}))
}

// ArchiveSession moves a COMPLETED or FAILED session to ARCHIVED (read-only). Options: IfEtag.
func (c *Client) ArchiveSession(ctx context.Context, id string, opts ...WriteOption) (*Session, error) {
	o := collectWrite(opts)
	return asSession(c.SessionService.ArchiveSession(ctx, &pb.ArchiveSessionRequest{SessionId: id, Etag: o.etag}))
}

// DeleteSession removes a session with its artifacts, state, events and checkpoints. Options: IfEtag.
func (c *Client) DeleteSession(ctx context.Context, id string, opts ...WriteOption) error {
	o := collectWrite(opts)
	_, err := c.SessionService.DeleteSession(ctx, &pb.DeleteSessionRequest{SessionId: id, Etag: o.etag})
	return wrapErr(err)
}

// SaveSession returns once the session and everything written before it is durable on disk.
func (c *Client) SaveSession(ctx context.Context, id string) (*Session, error) {
	return asSession(c.SessionService.SaveSession(ctx, &pb.SaveSessionRequest{SessionId: id}))
}

// LoadedSession is a whole restorable session, as LoadSession returns it.
type LoadedSession struct {
	// Session is the session record.
	Session *Session
	// State is the session's key-value state as Go values.
	State map[string]any
	// Artifacts are the latest version of each artifact name, metadata only.
	Artifacts []*Artifact
}

// LoadSession returns the session record, its state and its latest artifacts in one call.
func (c *Client) LoadSession(ctx context.Context, id string) (*LoadedSession, error) {
	resp, err := c.SessionService.LoadSession(ctx, &pb.LoadSessionRequest{SessionId: id})
	if err != nil {
		return nil, wrapErr(err)
	}
	return &LoadedSession{
		Session: sessionFromPB(resp.GetSession()), State: FromValueMap(resp.GetState()),
		Artifacts: mapAll(resp.GetArtifacts(), artifactFromPB),
	}, nil
}

// StateUpdate is one atomic change to a session's state.
type StateUpdate struct {
	// Set maps keys to their new values (see ToValue for the Go types accepted).
	Set map[string]any
	// Delete lists keys to remove.
	Delete []string
}

// SetState sets and deletes state keys in one step (one state.changed event) and returns the
// updated session. Only ACTIVE sessions accept state changes. Options: IfEtag.
func (c *Client) SetState(ctx context.Context, id string, u StateUpdate, opts ...WriteOption) (*Session, error) {
	entries, err := ToValueMap(u.Set)
	if err != nil {
		return nil, err
	}
	o := collectWrite(opts)
	return asSession(c.SessionService.SetSessionState(ctx, &pb.SetSessionStateRequest{
		SessionId: id, Entries: entries, DeleteKeys: u.Delete, Etag: o.etag,
	}))
}

// GetState returns the state entries named by keys (all of them when none are given) as Go
// values; keys that are not set are absent from the map.
func (c *Client) GetState(ctx context.Context, id string, keys ...string) (map[string]any, error) {
	resp, err := c.SessionService.GetSessionState(ctx, &pb.GetSessionStateRequest{SessionId: id, Keys: keys})
	if err != nil {
		return nil, wrapErr(err)
	}
	return FromValueMap(resp.GetEntries()), nil
}

// call passes a unary result through, mapping its error to *Error.
func call[T any](v T, err error) (T, error) {
	if err != nil {
		var zero T
		return zero, wrapErr(err)
	}
	return v, nil
}
