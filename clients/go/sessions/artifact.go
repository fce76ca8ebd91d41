package sessions

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"

	pb "github.com/llmspell/llmspell-sessions/clients/go/gen/llmspell/sessions/v1"
)

var asArtifact = convert(artifactFromPB)

// UploadMessageSize is the size of the data messages Upload sends (1 MiB), well under the
// default 4 MiB gRPC message limit.
const UploadMessageSize = 1 << 20

// Upload streams r to a new artifact described by h: the first message is the header, then
// UploadMessageSize data messages until r is exhausted. It returns the stored artifact. Set
// h.ExpectedSize / h.ExpectedDigest to have the server check the content; a failed upload
// leaves nothing visible.
func (c *Client) Upload(ctx context.Context, h *UploadHeader, r io.Reader) (*Artifact, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the stream if sending fails half-way
	stream, err := c.ArtifactService.UploadArtifact(ctx)
	if err != nil {
		return nil, wrapErr(err)
	}
	err = stream.Send(&pb.UploadArtifactRequest{Kind: &pb.UploadArtifactRequest_Header{Header: h}})
	if err == nil {
		err = sendData(stream, r)
	}
	if errors.Is(err, io.EOF) {
		// The server ended the call early; CloseAndRecv returns its status.
		err = nil
	}
	if err != nil {
		return nil, wrapErr(err)
	}
	return asArtifact(stream.CloseAndRecv())
}

func sendData(stream pb.ArtifactService_UploadArtifactClient, r io.Reader) error {
	buf := make([]byte, UploadMessageSize)
	for {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			// Send marshals before returning, so buf can be reused.
			msg := &pb.UploadArtifactRequest{Kind: &pb.UploadArtifactRequest_Data{Data: buf[:n]}}
			if err := stream.Send(msg); err != nil {
				return err
			}
		}
		switch {
		case rerr == io.EOF || rerr == io.ErrUnexpectedEOF:
			return nil
		case rerr != nil:
			return fmt.Errorf("sessions: upload read: %w", rerr)
		}
	}
}

// StoreArtifact stores small content in one unary call.
func (c *Client) StoreArtifact(ctx context.Context, h *UploadHeader, content []byte) (*Artifact, error) {
	return asArtifact(c.ArtifactService.StoreArtifact(ctx, &pb.StoreArtifactRequest{Header: h, Content: content}))
}

// GetArtifact returns an artifact's metadata by id.
func (c *Client) GetArtifact(ctx context.Context, artifactID string) (*Artifact, error) {
	return asArtifact(c.ArtifactService.GetArtifact(ctx, &pb.GetArtifactRequest{ArtifactId: artifactID}))
}

// GetArtifactByName returns the metadata of version (0 = latest) of the artifact name in a session.
func (c *Client) GetArtifactByName(ctx context.Context, sessionID, name string, version int32) (*Artifact, error) {
	return asArtifact(c.ArtifactService.GetArtifact(ctx, &pb.GetArtifactRequest{SessionId: sessionID, Name: name, Version: version}))
}

// ArtifactPage is one page of ListArtifacts.
type ArtifactPage struct {
	Artifacts []*Artifact
	// NextPageToken continues the listing ("" = last page); TotalSize counts every match.
	NextPageToken string
	TotalSize     int64
}

// ListArtifacts returns one page of a session's artifacts (latest versions unless req.AllVersions).
func (c *Client) ListArtifacts(ctx context.Context, req *ListArtifactsRequest) (*ArtifactPage, error) {
	resp, err := c.ArtifactService.ListArtifacts(ctx, req)
	if err != nil {
		return nil, wrapErr(err)
	}
	return &ArtifactPage{Artifacts: mapAll(resp.GetArtifacts(), artifactFromPB), NextPageToken: resp.GetNextPageToken(), TotalSize: resp.GetTotalSize()}, nil
}

// AllArtifacts iterates over every artifact matching req, fetching pages as the loop advances.
func (c *Client) AllArtifacts(ctx context.Context, req *ListArtifactsRequest) iter.Seq2[*Artifact, error] {
	return pages(ctx, func(ctx context.Context, token string) ([]*Artifact, string, error) {
		r := cloneRequest(req)
		r.PageToken = token
		page, err := c.ListArtifacts(ctx, r)
		if err != nil {
			return nil, "", err
		}
		return page.Artifacts, page.NextPageToken, nil
	})
}

// DeleteArtifact deletes one stored artifact (one version).
func (c *Client) DeleteArtifact(ctx context.Context, artifactID string) error {
	_, err := c.ArtifactService.DeleteArtifact(ctx, &pb.DeleteArtifactRequest{ArtifactId: artifactID})
	return wrapErr(err)
}
