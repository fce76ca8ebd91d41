package sessions

import (
	"context"
	"fmt"

	pb "github.com/llmspell/llmspell-sessions/clients/go/gen/llmspell/sessions/v1"
)

// Changes is one framework write: state to set, to create where absent, to delete, and client
// events to append, committed atomically by ApplyChanges.
type Changes struct {
	// Set maps keys to their new values (see ToValue for the Go types accepted).
	Set map[string]any
	// Create sets keys only where they do not exist yet (insert-or-ignore).
	Create map[string]any
	// Delete lists keys to remove.
	Delete []string
	// Events are client events appended after the state.changed event, gapless.
	Events []NewEvent
}

// Applied is what ApplyChanges wrote: the updated session and every event appended, in seq order.
type Applied struct {
	Session *Session
	Events  []*Event
}

// ApplyChanges commits ch in one atomic write (one state.changed event, then the client events).
// Options: IfEtag, IfLastSeq, WithRequestID. Any bad part writes nothing.
func (c *Client) ApplyChanges(ctx context.Context, sessionID string, ch Changes, opts ...WriteOption) (*Applied, error) {
	o := collectWrite(opts)
	req := &pb.ApplyChangesRequest{
		SessionId: sessionID, DeleteKeys: ch.Delete, Etag: o.etag, RequestId: o.requestID, ExpectedLastSeq: o.lastSeq,
	}
	var err error
	if req.Entries, err = ToValueMap(ch.Set); err != nil {
		return nil, err
	}
	if req.CreateEntries, err = ToValueMap(ch.Create); err != nil {
		return nil, err
	}
	if req.Events, err = newEventsToPB(ch.Events); err != nil {
		return nil, err
	}
	resp, err := c.SessionService.ApplyChanges(ctx, req)
	if err != nil {
		return nil, wrapErr(err)
	}
	return &Applied{Session: sessionFromPB(resp.GetSession()), Events: mapAll(resp.GetEvents(), eventFromPB)}, nil
}

// Read says what ReadSession returns besides the session record.
type Read struct {
	// StateKeys are exact keys; missing ones are left out of SessionRead.State.
	StateKeys []string
	// StatePrefix asks for one page of the keys under it, in key order (or Reverse), after
	// StartAfter, of PageSize entries (default 100, max 1000), continuing from PageToken.
	StatePrefix string
	Reverse     bool
	StartAfter  string
	PageSize    int32
	PageToken   string
	// LastEvents asks for the last N events (max 1000), oldest first, of EventTypes prefixes.
	LastEvents int32
	EventTypes []string
	// ArtifactNames asks for the latest live version of each name (metadata only).
	ArtifactNames []string
	// RelatedSessionIDs asks for the whole state of up to 8 other sessions (read access needed).
	RelatedSessionIDs []string
}

// RelatedState is the state of one of Read.RelatedSessionIDs.
type RelatedState struct {
	SessionID string
	State     map[string]any
	// Truncated: the state did not fit in the response; read it with GetState.
	Truncated bool
}

// KeyValue is one state entry of a prefix page.
type KeyValue struct {
	Key   string
	Value any
}

// SessionRead is what ReadSession returned.
type SessionRead struct {
	Session *Session
	// State holds the StateKeys found.
	State map[string]any
	// Entries is the prefix page, in scan order; NextPageToken continues it ("" = last page).
	Entries       []KeyValue
	NextPageToken string
	Events        []*Event
	// EventsTruncated: more events matched than fit in the response; page them with ListEvents.
	EventsTruncated bool
	Artifacts       []*Artifact
	// Related holds one entry per Read.RelatedSessionIDs, in that order.
	Related []RelatedState
}

// ReadSession is one framework read in one call: the session record plus what r asks for.
func (c *Client) ReadSession(ctx context.Context, sessionID string, r Read) (*SessionRead, error) {
	resp, err := c.SessionService.ReadSession(ctx, &pb.ReadSessionRequest{
		SessionId: sessionID, StateKeys: r.StateKeys, StatePrefix: r.StatePrefix, Reverse: r.Reverse,
		StartAfter: r.StartAfter, PageSize: r.PageSize, PageToken: r.PageToken, LastEvents: r.LastEvents,
		EventTypes: r.EventTypes, ArtifactNames: r.ArtifactNames, RelatedSessionIds: r.RelatedSessionIDs,
	})
	if err != nil {
		return nil, wrapErr(err)
	}
	out := &SessionRead{
		Session: sessionFromPB(resp.GetSession()), State: FromValueMap(resp.GetState()), NextPageToken: resp.GetNextPageToken(),
		Events: mapAll(resp.GetEvents(), eventFromPB), Artifacts: mapAll(resp.GetArtifacts(), artifactFromPB),
		EventsTruncated: resp.GetEventsTruncated(),
	}
	for _, rel := range resp.GetRelated() {
		out.Related = append(out.Related, RelatedState{SessionID: rel.GetSessionId(), State: FromValueMap(rel.GetState()), Truncated: rel.GetTruncated()})
	}
	for _, kv := range resp.GetEntries() {
		out.Entries = append(out.Entries, KeyValue{Key: kv.GetKey(), Value: kv.GetValue().AsInterface()})
	}
	return out, nil
}

// SessionAccess is what a granted subject may do with a session.
type SessionAccess = pb.SessionAccess

// Access levels of GrantSessionAccess.
const (
	AccessRead  = pb.SessionAccess_SESSION_ACCESS_READ
	AccessWrite = pb.SessionAccess_SESSION_ACCESS_WRITE
)

// GrantSessionAccess lets another subject of the tenant read or write a session (admins only).
func (c *Client) GrantSessionAccess(ctx context.Context, sessionID, subject string, access SessionAccess) (*Session, error) {
	return asSession(c.SessionService.GrantSessionAccess(ctx, &pb.GrantSessionAccessRequest{
		SessionId: sessionID, Subject: subject, Access: access,
	}))
}

// RevokeSessionAccess takes a grant back (admins only); the subject's open streams of the
// session end with PERMISSION_DENIED.
func (c *Client) RevokeSessionAccess(ctx context.Context, sessionID, subject string) (*Session, error) {
	return asSession(c.SessionService.RevokeSessionAccess(ctx, &pb.RevokeSessionAccessRequest{SessionId: sessionID, Subject: subject}))
}

// newEventsToPB converts client events to their messages.
func newEventsToPB(events []NewEvent) ([]*pb.NewEvent, error) {
	out := make([]*pb.NewEvent, 0, len(events))
	for i, e := range events {
		payload, err := ToStruct(e.Payload)
		if err != nil {
			return nil, fmt.Errorf("sessions: event %d: %w", i, err)
		}
		out = append(out, &pb.NewEvent{Type: e.Type, Payload: payload, CorrelationId: e.CorrelationID, CausationId: e.CausationID})
	}
	return out, nil
}
