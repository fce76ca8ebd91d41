package sessions

import (
	"context"
	"io"
	"iter"

	pb "github.com/llmspell/llmspell-sessions/clients/go/gen/llmspell/sessions/v1"
)

// NewEvent is a client event to append. Types must not start with a reserved prefix
// ("session.", "state.", "artifact.", "checkpoint.").
type NewEvent struct {
	// Type names the event, e.g. "agent.step".
	Type string
	// Payload is arbitrary JSON-like data (see ToValue).
	Payload map[string]any
	// CorrelationID overrides the request's correlation id for this event.
	CorrelationID string
	// CausationID names the event or request that caused this one.
	CausationID string
}

// AppendEvents appends events to a session's log atomically and returns them with their seqs.
// Options: IfLastSeq(n) fails the call with ABORTED / SEQ_MISMATCH unless the log's last seq is n.
func (c *Client) AppendEvents(ctx context.Context, sessionID string, events []NewEvent, opts ...WriteOption) ([]*Event, error) {
	req := &pb.AppendEventsRequest{SessionId: sessionID, ExpectedLastSeq: collectWrite(opts).lastSeq}
	var err error
	if req.Events, err = newEventsToPB(events); err != nil {
		return nil, err
	}
	resp, err := c.ReplayService.AppendEvents(ctx, req)
	if err != nil {
		return nil, wrapErr(err)
	}
	return mapAll(resp.GetEvents(), eventFromPB), nil
}

// ListEvents returns one page of a session's events after req.AfterSeq, optionally filtered by
// type prefixes.
func (c *Client) ListEvents(ctx context.Context, req *ListEventsRequest) (*EventPage, error) {
	resp, err := c.ReplayService.ListEvents(ctx, req)
	if err != nil {
		return nil, wrapErr(err)
	}
	return &EventPage{Events: mapAll(resp.GetEvents(), eventFromPB), NextPageToken: resp.GetNextPageToken()}, nil
}

// EventPage is one page of ListEvents.
type EventPage struct {
	Events []*Event
	// NextPageToken continues the listing ("" = last page).
	NextPageToken string
}

// AllEvents iterates over every event matching req, fetching pages as the loop advances.
func (c *Client) AllEvents(ctx context.Context, req *ListEventsRequest) iter.Seq2[*Event, error] {
	return pages(ctx, func(ctx context.Context, token string) ([]*Event, string, error) {
		r := cloneRequest(req)
		r.PageToken = token
		page, err := c.ListEvents(ctx, r)
		if err != nil {
			return nil, "", err
		}
		return page.Events, page.NextPageToken, nil
	})
}

// SubscribeEvents iterates over a session's events after afterSeq (matching the type prefixes,
// if any): first the history, then live events as they are appended, in order and without gaps.
// The iteration ends when ctx is done (yielding its error) or when the loop breaks, which closes
// the stream.
func (c *Client) SubscribeEvents(ctx context.Context, sessionID string, afterSeq int64, types ...string) iter.Seq2[*Event, error] {
	return func(yield func(*Event, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stream, err := c.ReplayService.SubscribeEvents(ctx, &pb.SubscribeEventsRequest{
			SessionId: sessionID, AfterSeq: afterSeq, Types: types,
		})
		if err != nil {
			yield(nil, wrapErr(err))
			return
		}
		for {
			ev, err := stream.Recv()
			if err == io.EOF {
				return
			}
			if err != nil {
				yield(nil, wrapErr(err))
				return
			}
			if !yield(eventFromPB(ev), nil) {
				return
			}
		}
	}
}

// CreateCheckpoint names the current point of a session's history.
func (c *Client) CreateCheckpoint(ctx context.Context, sessionID, label string) (*Checkpoint, error) {
	return call(c.ReplayService.CreateCheckpoint(ctx, &pb.CreateCheckpointRequest{SessionId: sessionID, Label: label}))
}

// ListCheckpoints returns one page of a session's checkpoints (pageToken "" = first page).
func (c *Client) ListCheckpoints(ctx context.Context, sessionID string, pageSize int32, pageToken string) (*pb.ListCheckpointsResponse, error) {
	return call(c.ReplayService.ListCheckpoints(ctx, &pb.ListCheckpointsRequest{
		SessionId: sessionID, PageSize: pageSize, PageToken: pageToken,
	}))
}

// Point is a point in a session's history: an event seq or a checkpoint. Build it with AtSeq or
// AtCheckpoint; the zero Point means "now" (the end of the log).
type Point struct {
	seq          int64
	checkpointID string
	set          bool
}

// AtSeq is the point right after event seq.
func AtSeq(seq int64) Point { return Point{seq: seq, set: true} }

// AtCheckpoint is the point of a checkpoint.
func AtCheckpoint(id string) Point { return Point{checkpointID: id, set: true} }

// ForkSession creates a new ACTIVE child session named name with the state and artifacts the
// source session had at point at (no bytes are copied). Its ParentID is sessionID.
func (c *Client) ForkSession(ctx context.Context, sessionID string, at Point, name string) (*Session, error) {
	req := &pb.ForkSessionRequest{SessionId: sessionID, Name: name}
	switch {
	case at.checkpointID != "":
		req.Point = &pb.ForkSessionRequest_CheckpointId{CheckpointId: at.checkpointID}
	case at.set:
		req.Point = &pb.ForkSessionRequest_AtSeq{AtSeq: at.seq}
	}
	return asSession(c.ReplayService.ForkSession(ctx, req))
}

// RewindSession restores a session's state and artifacts to point to (through a session.rewound
// event; earlier history stays readable). Options: IfEtag.
func (c *Client) RewindSession(ctx context.Context, sessionID string, to Point, opts ...WriteOption) (*Session, error) {
	req := &pb.RewindSessionRequest{SessionId: sessionID, Etag: collectWrite(opts).etag}
	switch {
	case to.checkpointID != "":
		req.Point = &pb.RewindSessionRequest_CheckpointId{CheckpointId: to.checkpointID}
	case to.set:
		req.Point = &pb.RewindSessionRequest_ToSeq{ToSeq: to.seq}
	}
	return asSession(c.ReplayService.RewindSession(ctx, req))
}
