package sessions

import (
	"context"
	"errors"
	"io"
	"iter"

	pb "github.com/llmspell/llmspell-sessions/clients/go/gen/llmspell/sessions/v1"
)

// Chunk is one content-defined chunk to store: its BLAKE3 hex digest and its bytes.
type Chunk struct {
	Digest string
	Data   []byte
}

// ChunkRef names a stored chunk of an artifact by digest and size.
type ChunkRef struct {
	Digest string
	Size   int64
}

// ChunksStored is what an UploadChunks call stored: chunks and the bytes the tenant did not hold.
type ChunksStored struct {
	Chunks int64
	Bytes  int64
}

// UploadStatus is how much of a resumable upload the server holds.
type UploadStatus struct {
	// CommittedSize is where a resumed stream starts (UploadHeader.WriteOffset).
	CommittedSize int64
	Complete      bool
	// ArtifactID is set once the upload completed.
	ArtifactID string
}

// QueryUploadStatus reports a resumable upload (UploadHeader.UploadId) the server knows of.
func (c *Client) QueryUploadStatus(ctx context.Context, uploadID string) (*UploadStatus, error) {
	resp, err := c.ArtifactService.QueryUploadStatus(ctx, &pb.QueryUploadStatusRequest{UploadId: uploadID})
	if err != nil {
		return nil, wrapErr(err)
	}
	return &UploadStatus{CommittedSize: resp.GetCommittedSize(), Complete: resp.GetComplete(), ArtifactID: resp.GetArtifactId()}, nil
}

// FindMissingChunks returns the digests (BLAKE3 hex of uncompressed chunks) the caller's tenant
// does not hold.
func (c *Client) FindMissingChunks(ctx context.Context, digests []string) ([]string, error) {
	resp, err := c.ArtifactService.FindMissingChunks(ctx, &pb.FindMissingChunksRequest{Digests: digests})
	if err != nil {
		return nil, wrapErr(err)
	}
	return resp.GetMissingDigests(), nil
}

// UploadChunks stores chunks in one client stream; the server verifies every digest
// (INVALID_ARGUMENT / INTEGRITY_ERROR on a mismatch). Stored chunks are staged for 24 h until a
// CommitArtifact uses them.
func (c *Client) UploadChunks(ctx context.Context, chunks ...Chunk) (*ChunksStored, error) {
	return c.streamChunks(ctx, func(yield func(Chunk, error) bool) {
		for _, ch := range chunks {
			if !yield(ch, nil) {
				return
			}
		}
	})
}

// streamChunks sends the chunks of seq, read one at a time, in one UploadChunks stream.
func (c *Client) streamChunks(ctx context.Context, seq iter.Seq2[Chunk, error]) (*ChunksStored, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the stream if reading a chunk fails half-way
	stream, err := c.ArtifactService.UploadChunks(ctx)
	if err != nil {
		return nil, wrapErr(err)
	}
	for ch, err := range seq {
		if err != nil {
			return nil, err
		}
		if err := stream.Send(&pb.UploadChunksRequest{Digest: ch.Digest, Data: ch.Data}); err != nil {
			if errors.Is(err, io.EOF) {
				break // the server ended the call: CloseAndRecv returns its status
			}
			return nil, wrapErr(err)
		}
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return nil, wrapErr(err)
	}
	return &ChunksStored{Chunks: resp.GetStoredChunks(), Bytes: resp.GetStoredBytes()}, nil
}

// CommitArtifact builds an artifact described by h from chunks the tenant holds, in order; the
// server checks contentDigest (BLAKE3 hex of the whole content). Chunks it does not hold fail
// with FAILED_PRECONDITION / MISSING_CHUNKS.
func (c *Client) CommitArtifact(ctx context.Context, h *UploadHeader, chunks []ChunkRef, contentDigest string) (*Artifact, error) {
	refs := make([]*pb.ChunkRef, len(chunks))
	for i, ch := range chunks {
		refs[i] = &pb.ChunkRef{Digest: ch.Digest, Size: ch.Size}
	}
	return asArtifact(c.ArtifactService.CommitArtifact(ctx, &pb.CommitArtifactRequest{Header: h, Chunks: refs, ContentDigest: contentDigest}))
}

// Capabilities is what the server announces: digest and compression, limits, and how it chunks.
type Capabilities struct {
	DigestFunction       string
	Compression          string
	CompressionThreshold int64
	MaxArtifactSize      int64
	MaxMessageSize       int64
	Chunking             ChunkingParams
}

// ChunkingParams are the content-defined chunking parameters (FastCDC 2020) of the server.
type ChunkingParams struct {
	// Algorithm is "fastcdc-2020"; GearTable names the gear table ("llmspell-gear-v1").
	Algorithm     string
	GearTable     string
	MinSize       int64
	AvgSize       int64
	MaxSize       int64
	Normalization int32
}

// GetCapabilities returns the server's capabilities.
func (c *Client) GetCapabilities(ctx context.Context) (*Capabilities, error) {
	resp, err := c.ArtifactService.GetCapabilities(ctx, &pb.GetCapabilitiesRequest{})
	if err != nil {
		return nil, wrapErr(err)
	}
	ch := resp.GetChunking()
	return &Capabilities{
		DigestFunction: resp.GetDigestFunction(), Compression: resp.GetCompression(),
		CompressionThreshold: resp.GetCompressionThreshold(), MaxArtifactSize: resp.GetMaxArtifactSize(),
		MaxMessageSize: resp.GetMaxMessageSize(),
		Chunking: ChunkingParams{
			Algorithm: ch.GetAlgorithm(), GearTable: ch.GetGearTable(), MinSize: ch.GetMinSize(),
			AvgSize: ch.GetAvgSize(), MaxSize: ch.GetMaxSize(), Normalization: ch.GetNormalization(),
		},
	}, nil
}

// StorageStats describes live artifacts of a session or of the caller's tenant.
type StorageStats struct {
	ArtifactCount int64
	LogicalBytes  int64
	StoredBytes   int64
	UniqueChunks  int64
	// DedupRatio is logical ÷ distinct bytes; CompressionRatio is distinct ÷ stored bytes.
	DedupRatio       float64
	CompressionRatio float64
}

// GetStorageStats returns the storage statistics of a session ("" = the caller's whole tenant).
func (c *Client) GetStorageStats(ctx context.Context, sessionID string) (*StorageStats, error) {
	resp, err := c.ArtifactService.GetStorageStats(ctx, &pb.GetStorageStatsRequest{SessionId: sessionID})
	if err != nil {
		return nil, wrapErr(err)
	}
	return &StorageStats{
		ArtifactCount: resp.GetArtifactCount(), LogicalBytes: resp.GetLogicalBytes(), StoredBytes: resp.GetStoredBytes(),
		UniqueChunks: resp.GetUniqueChunks(), DedupRatio: resp.GetDedupRatio(), CompressionRatio: resp.GetCompressionRatio(),
	}, nil
}
