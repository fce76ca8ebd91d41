package sessions

import (
	"context"
	"errors"
	"io"
	"iter"
	"sync"

	pb "github.com/llmspell/llmspell-sessions/clients/go/gen/llmspell/sessions/v1"
)

// ReplayMode is how a replay paces events.
type ReplayMode = pb.ReplayMode

// Replay modes: TIMED keeps the original gaps divided by the speed, FAST does not wait, STEP
// sends one event per Replay.Step.
const (
	ReplayTimed = pb.ReplayMode_REPLAY_MODE_TIMED
	ReplayFast  = pb.ReplayMode_REPLAY_MODE_FAST
	ReplayStep  = pb.ReplayMode_REPLAY_MODE_STEP
)

// ReplayStatus is the state of a replay, carried by each frame.
type ReplayStatus = pb.ReplayStatus

// Replay statuses.
const (
	ReplayRunning      = pb.ReplayStatus_REPLAY_STATUS_RUNNING
	ReplayPaused       = pb.ReplayStatus_REPLAY_STATUS_PAUSED
	ReplayAtBreakpoint = pb.ReplayStatus_REPLAY_STATUS_AT_BREAKPOINT
	ReplayCompleted    = pb.ReplayStatus_REPLAY_STATUS_COMPLETED
	ReplayStopped      = pb.ReplayStatus_REPLAY_STATUS_STOPPED
)

// ReplayFrame is one replayed event with its position, the replay's status and the state keys it
// changed.
type ReplayFrame struct {
	// Event is nil on the final COMPLETED or STOPPED frame.
	Event *Event
	// Index is the 1-based position of Event among the Total events replayed.
	Index, Total int64
	Status       ReplayStatus
	ChangedKeys  []string
}

// ReplayOptions say what to replay and how.
type ReplayOptions struct {
	// From is where to start (the zero Point: the beginning of the log).
	From Point
	// ToSeq is the last seq to replay (0: the end of the log).
	ToSeq int64
	// Mode defaults to ReplayFast.
	Mode ReplayMode
	// Speed (0.1 to 10) divides the original gaps in ReplayTimed mode.
	Speed float64
	// BreakAtSeqs and BreakAtTypes pause the replay (ReplayAtBreakpoint) at those events.
	BreakAtSeqs  []int64
	BreakAtTypes []string
	// Types are the event type prefixes to replay (none: all).
	Types []string
}

// Replay is a running ReplaySession: receive frames with Frames or Recv, control it with Pause,
// Resume, Step, SetSpeed, AddBreakpoint and Stop (safe from another goroutine than the receiver).
// Close (or cancelling the context) ends it; a replay ended that way reports codes.Canceled.
type Replay struct {
	stream pb.ReplayService_ReplaySessionClient
	cancel context.CancelFunc
	mu     sync.Mutex // one sender at a time
}

// ReplaySession starts replaying a session's log. The source session is never modified.
func (c *Client) ReplaySession(ctx context.Context, sessionID string, o ReplayOptions) (*Replay, error) {
	ctx, cancel := context.WithCancel(ctx)
	stream, err := c.ReplayService.ReplaySession(ctx)
	if err != nil {
		cancel()
		return nil, wrapErr(err)
	}
	if o.Mode == pb.ReplayMode_REPLAY_MODE_UNSPECIFIED {
		o.Mode = ReplayFast
	}
	start := &pb.ReplayStart{
		SessionId: sessionID, ToSeq: o.ToSeq, Mode: o.Mode, Speed: o.Speed, Types: o.Types,
		Breakpoints: &pb.ReplayBreakpoints{Seqs: o.BreakAtSeqs, EventTypes: o.BreakAtTypes},
	}
	switch {
	case o.From.checkpointID != "":
		start.From = &pb.ReplayStart_CheckpointId{CheckpointId: o.From.checkpointID}
	case o.From.set:
		start.From = &pb.ReplayStart_FromSeq{FromSeq: o.From.seq}
	}
	r := &Replay{stream: stream, cancel: cancel}
	if err := r.send(&pb.ReplayControl{Control: &pb.ReplayControl_Start{Start: start}}); err != nil {
		cancel()
		return nil, err
	}
	return r, nil
}

// Recv returns the next frame, or io.EOF once the replay has ended (after its COMPLETED or
// STOPPED frame).
func (r *Replay) Recv() (*ReplayFrame, error) {
	f, err := r.stream.Recv()
	if err != nil {
		if err == io.EOF {
			r.cancel()
			return nil, io.EOF
		}
		r.cancel()
		return nil, wrapErr(err)
	}
	return &ReplayFrame{
		Event: eventFromPB(f.GetEvent()), Index: f.GetIndex(), Total: f.GetTotal(), Status: f.GetStatus(), ChangedKeys: f.GetChangedKeys(),
	}, nil
}

// Frames iterates over the frames until the replay ends; breaking out of the loop leaves the
// replay open (call Close).
func (r *Replay) Frames() iter.Seq2[*ReplayFrame, error] {
	return func(yield func(*ReplayFrame, error) bool) {
		for {
			f, err := r.Recv()
			if err == io.EOF {
				return
			}
			if !yield(f, err) || err != nil {
				return
			}
		}
	}
}

// Pause stops sending events until Resume or Step.
func (r *Replay) Pause() error {
	return r.send(&pb.ReplayControl{Control: &pb.ReplayControl_Pause{Pause: &pb.ReplayPause{}}})
}

// Resume continues a paused replay or one stopped at a breakpoint.
func (r *Replay) Resume() error {
	return r.send(&pb.ReplayControl{Control: &pb.ReplayControl_Resume{Resume: &pb.ReplayResume{}}})
}

// Step sends one event (ReplayStep mode, or while paused).
func (r *Replay) Step() error {
	return r.send(&pb.ReplayControl{Control: &pb.ReplayControl_Step{Step: &pb.ReplayStep{}}})
}

// SetSpeed changes the speed of a timed replay (0.1 to 10).
func (r *Replay) SetSpeed(speed float64) error {
	return r.send(&pb.ReplayControl{Control: &pb.ReplayControl_SetSpeed{SetSpeed: &pb.ReplaySetSpeed{Speed: speed}}})
}

// AddBreakpoint pauses the replay at event seq (when > 0) or at events of type eventType.
func (r *Replay) AddBreakpoint(seq int64, eventType string) error {
	return r.send(&pb.ReplayControl{Control: &pb.ReplayControl_AddBreakpoint{
		AddBreakpoint: &pb.ReplayAddBreakpoint{Seq: seq, EventType: eventType},
	}})
}

// Stop ends the replay; the server sends a final STOPPED frame.
func (r *Replay) Stop() error {
	return r.send(&pb.ReplayControl{Control: &pb.ReplayControl_Stop{Stop: &pb.ReplayStop{}}})
}

// Close cancels the replay's call and releases it; frames not yet received are dropped.
func (r *Replay) Close() error {
	r.cancel()
	return nil
}

func (r *Replay) send(m *pb.ReplayControl) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	err := r.stream.Send(m)
	if errors.Is(err, io.EOF) {
		return errors.New("sessions: replay already ended")
	}
	return wrapErr(err)
}
