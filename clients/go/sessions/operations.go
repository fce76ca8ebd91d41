package sessions

import (
	"context"
	"errors"
	"fmt"
	"io"

	pb "github.com/llmspell/llmspell-sessions/clients/go/gen/llmspell/sessions/v1"
)

// ImportReport is what ImportSessions created and skipped.
type ImportReport = pb.ImportSessionsResponse

// BackupFile names a file of a backup: its path in the store directory and its size.
type BackupFile = pb.BackupFile

// ExportSessions writes the sessions (record, state, whole history, checkpoints, artifacts and
// their bytes) as one archive file to w (docs/archive-format.md).
func (c *Client) ExportSessions(ctx context.Context, w io.Writer, sessionIDs ...string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the stream if w fails half-way
	stream, err := c.SessionService.ExportSessions(ctx, &pb.ExportSessionsRequest{SessionIds: sessionIDs})
	if err != nil {
		return wrapErr(err)
	}
	return receiveAll(stream.Recv, func(part *pb.ArchivePart) error {
		if _, err := w.Write(part.GetData()); err != nil {
			return fmt.Errorf("sessions: export write: %w", err)
		}
		return nil
	})
}

// ImportSessions sends an archive written by ExportSessions; the server verifies all of it, then
// writes every new session at once (ids kept, identical ones skipped).
func (c *Client) ImportSessions(ctx context.Context, r io.Reader) (*ImportReport, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.SessionService.ImportSessions(ctx)
	if err != nil {
		return nil, wrapErr(err)
	}
	buf := make([]byte, UploadMessageSize)
	for {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			if err := stream.Send(&pb.ArchivePart{Data: buf[:n]}); err != nil {
				if errors.Is(err, io.EOF) { // the server ended the call: CloseAndRecv has its status
					break
				}
				return nil, wrapErr(err)
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return nil, fmt.Errorf("sessions: import read: %w", rerr)
		}
	}
	report, err := stream.CloseAndRecv()
	return report, wrapErr(err)
}

// BackupStore streams a point-in-time copy of the server's embedded store (operators only): for
// each file, a BackupStorePart naming it, then its data parts; files in known (an earlier
// backup's) come as reused, without bytes. Each part goes to onPart, in order.
func (c *Client) BackupStore(ctx context.Context, onPart func(*pb.BackupStorePart) error, known ...*BackupFile) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.SessionService.BackupStore(ctx, &pb.BackupStoreRequest{KnownFiles: known})
	if err != nil {
		return wrapErr(err)
	}
	return receiveAll(stream.Recv, onPart)
}

// receiveAll hands every message of a server stream to each, in order, until the stream ends (nil),
// fails (its status as an *Error) or each fails (that error as is).
func receiveAll[T any](recv func() (T, error), each func(T) error) error {
	for {
		msg, err := recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return wrapErr(err)
		}
		if err := each(msg); err != nil {
			return err
		}
	}
}
