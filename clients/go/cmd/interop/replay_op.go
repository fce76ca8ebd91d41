package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	pb "github.com/llmspell/llmspell-sessions/clients/go/gen/llmspell/sessions/v1"
	"github.com/llmspell/llmspell-sessions/clients/go/sessions"
)

// The replay_session op: a replay driven by the scenario's schedule of controls.

// scheduleEntry is one entry of replay_session's controls.
type scheduleEntry struct {
	AfterFrame int64 `json:"after_frame"`
	DelayMS    int64 `json:"delay_ms"`
	Send       []any `json:"send"`
}

// replaySession replays with the scenario's schedule of controls and reports every frame.
func replaySession(ctx context.Context, r *runner, _ *step, args map[string]any) (map[string]any, error) {
	var schedule []scheduleEntry
	if err := remarshal(args["controls"], &schedule); err != nil {
		return nil, fmt.Errorf("controls: %w", err)
	}
	var start pb.ReplayStart
	if err := fromArgs(without(args, "controls"), &start); err != nil {
		return nil, err
	}
	o := sessions.ReplayOptions{
		ToSeq: start.ToSeq, Mode: start.Mode, Speed: start.Speed, Types: start.Types,
		BreakAtSeqs: start.GetBreakpoints().GetSeqs(), BreakAtTypes: start.GetBreakpoints().GetEventTypes(),
	}
	switch f := start.From.(type) {
	case *pb.ReplayStart_FromSeq:
		o.From = sessions.AtSeq(f.FromSeq)
	case *pb.ReplayStart_CheckpointId:
		o.From = sessions.AtCheckpoint(f.CheckpointId)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	replay, err := r.client.ReplaySession(ctx, start.SessionId, o)
	if err != nil {
		return nil, err
	}
	defer replay.Close()
	var frames atomic.Int64
	arrived := make(chan struct{}, 1)
	sendErr := make(chan error, 1)
	go func() { sendErr <- sendSchedule(ctx, replay, schedule, &frames, arrived) }()

	seqs, statuses, indexes, changed := []any{}, []any{}, []any{}, []any{}
	var total int64
	for {
		f, err := replay.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		var seq int64
		if f.Event != nil {
			seq = f.Event.Seq
		}
		keys := []any{}
		for _, k := range f.ChangedKeys {
			keys = append(keys, k)
		}
		seqs, statuses = append(seqs, float64(seq)), append(statuses, f.Status.String())
		indexes, changed, total = append(indexes, float64(f.Index)), append(changed, keys), f.Total
		frames.Add(1)
		select {
		case arrived <- struct{}{}:
		default:
		}
		if f.Status == sessions.ReplayCompleted || f.Status == sessions.ReplayStopped {
			break
		}
	}
	cancel()
	if err := <-sendErr; err != nil && !errors.Is(err, context.Canceled) {
		return nil, fmt.Errorf("sending controls: %w", err)
	}
	return map[string]any{"seqs": seqs, "statuses": statuses, "indexes": indexes, "total": float64(total), "changed_keys": changed}, nil
}

// sendSchedule sends each entry's controls once the frames it waits for arrived and its delay passed.
func sendSchedule(ctx context.Context, replay *sessions.Replay, schedule []scheduleEntry, frames *atomic.Int64, arrived <-chan struct{}) error {
	for _, e := range schedule {
		for frames.Load() < e.AfterFrame {
			select {
			case <-arrived:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		select {
		case <-time.After(time.Duration(e.DelayMS) * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
		for _, c := range e.Send {
			if err := sendControl(replay, c); err != nil {
				return err
			}
		}
	}
	return nil
}

// sendControl sends "pause", "resume", "step", "stop", {"set_speed": X} or {"add_breakpoint": {...}}.
func sendControl(replay *sessions.Replay, c any) error {
	switch v := c.(type) {
	case string:
		switch v {
		case "pause":
			return replay.Pause()
		case "resume":
			return replay.Resume()
		case "step":
			return replay.Step()
		case "stop":
			return replay.Stop()
		}
	case map[string]any:
		if s, ok := number(v["set_speed"]); ok {
			return replay.SetSpeed(s)
		}
		if bp, ok := v["add_breakpoint"].(map[string]any); ok {
			seq, _ := number(bp["seq"])
			typ, _ := bp["event_type"].(string)
			return replay.AddBreakpoint(int64(seq), typ)
		}
	}
	return fmt.Errorf("unknown control %v", c)
}
