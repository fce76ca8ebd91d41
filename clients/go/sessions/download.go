package sessions

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	pb "github.com/llmspell/llmspell-sessions/clients/go/gen/llmspell/sessions/v1"
	"google.golang.org/grpc/codes"
	"lukechampine.com/blake3"
)

// DownloadOption changes how Download and DownloadFile check what they receive.
type DownloadOption func(*downloadOptions)

type downloadOptions struct{ digest string }

// ExpectDigest checks the content against digest (BLAKE3 hex, e.g. from a manifest you trust)
// instead of the digest the server reports for the artifact.
func ExpectDigest(digest string) DownloadOption {
	return func(o *downloadOptions) { o.digest = digest }
}

// Download writes a whole artifact's content to w and returns its metadata. The bytes are hashed
// (BLAKE3) as they arrive: when their size or digest differs from the artifact's (or from
// ExpectDigest's), Download returns an integrity error (IsIntegrityError) after w has received
// them — use DownloadFile to keep unverified bytes away from their destination.
func (c *Client) Download(ctx context.Context, artifactID string, w io.Writer, opts ...DownloadOption) (*Artifact, error) {
	return c.downloadVerified(ctx, &pb.DownloadArtifactRequest{ArtifactId: artifactID}, w, opts)
}

// downloadVerified streams a whole artifact to w, checking size and digest at the end.
func (c *Client) downloadVerified(ctx context.Context, req *pb.DownloadArtifactRequest, w io.Writer, opts []DownloadOption) (*Artifact, error) {
	var o downloadOptions
	for _, opt := range opts {
		opt(&o)
	}
	h := blake3.New(32, nil)
	a, n, err := c.download(ctx, req, io.MultiWriter(w, h))
	if err != nil {
		return nil, err
	}
	want := a.ContentDigest
	if o.digest != "" {
		want = o.digest
	}
	if err := verify(a, n, h.Sum(nil), want); err != nil {
		return nil, err
	}
	return a, nil
}

// DownloadByName downloads version (0 = latest) of the artifact name of a session to w, checked
// like Download, in one call (no GetArtifact first).
func (c *Client) DownloadByName(ctx context.Context, sessionID, name string, version int32, w io.Writer, opts ...DownloadOption) (*Artifact, error) {
	return c.downloadVerified(ctx, &pb.DownloadArtifactRequest{SessionId: sessionID, Name: name, Version: version}, w, opts)
}

// DownloadRange writes limit bytes of an artifact's content from offset (limit 0 = to the end)
// to w and returns the artifact's metadata. The server verifies every chunk it reads; here only
// the length received is checked against the range (a part has no digest to compare with).
func (c *Client) DownloadRange(ctx context.Context, artifactID string, offset, limit int64, w io.Writer) (*Artifact, error) {
	a, n, err := c.download(ctx, &pb.DownloadArtifactRequest{ArtifactId: artifactID, Offset: offset, Limit: limit}, w)
	if err != nil {
		return nil, err
	}
	want := max(a.Size-offset, 0)
	if limit > 0 {
		want = min(want, limit)
	}
	if n != want {
		return nil, integrityError(a.ID, fmt.Sprintf("received %d bytes of a %d-byte range", n, want))
	}
	return a, nil
}

// DownloadFile downloads an artifact into the file path: the bytes go to a temporary file in the
// same directory, are checked against the artifact's size and BLAKE3 digest, and the file is
// renamed to path only when they match. On any failure (integrity error, cancellation, server
// error) the temporary file is removed and path is left as it was.
func (c *Client) DownloadFile(ctx context.Context, artifactID, path string, opts ...DownloadOption) (a *Artifact, err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.part")
	if err != nil {
		return nil, fmt.Errorf("sessions: download file: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if a, err = c.Download(ctx, artifactID, tmp, opts...); err != nil {
		return nil, err
	}
	if err = tmp.Sync(); err == nil {
		err = tmp.Close()
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return nil, fmt.Errorf("sessions: download file: %w", err)
	}
	return a, nil
}

// download streams a DownloadArtifact call into w and returns the metadata and the byte count.
func (c *Client) download(ctx context.Context, req *pb.DownloadArtifactRequest, w io.Writer) (*Artifact, int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the stream if w fails half-way
	stream, err := c.ArtifactService.DownloadArtifact(ctx, req)
	if err != nil {
		return nil, 0, wrapErr(err)
	}
	var meta *Artifact
	var n int64
	for {
		msg, err := stream.Recv()
		if err == io.EOF {
			if meta == nil {
				return nil, 0, errors.New("sessions: download ended without artifact metadata")
			}
			return meta, n, nil
		}
		if err != nil {
			return nil, 0, wrapErr(err)
		}
		if a := msg.GetArtifact(); a != nil {
			meta = artifactFromPB(a)
			continue
		}
		k, err := w.Write(msg.GetData())
		n += int64(k)
		if err != nil {
			return nil, 0, fmt.Errorf("sessions: download write: %w", err)
		}
	}
}

// verify compares what was received with the artifact's size and the digest wanted.
func verify(a *Artifact, n int64, digest []byte, want string) error {
	got := hex.EncodeToString(digest)
	switch {
	case n != a.Size:
		return integrityError(a.ID, fmt.Sprintf("received %d bytes, the artifact has %d", n, a.Size))
	case got != want:
		return integrityError(a.ID, fmt.Sprintf("content digest %s, expected %s", got, want))
	}
	return nil
}

// integrityError is the client-side twin of the server's DATA_LOSS / INTEGRITY_ERROR.
func integrityError(artifactID, msg string) *Error {
	return &Error{
		Code: codes.DataLoss, Message: "downloaded bytes do not match the artifact: " + msg,
		Reason: ReasonIntegrityError, Domain: ErrorDomain, Metadata: map[string]string{"artifact_id": artifactID},
	}
}
