package sessions

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"iter"
	"os"

	"lukechampine.com/blake3"
)

// DedupMinSize is the smallest file UploadFile deduplicates (4 MiB): below it one plain stream
// costs less than the FindMissingChunks round trip.
const DedupMinSize = 4 << 20

// maxCommitChunks is the most chunks one CommitArtifact takes.
const maxCommitChunks = 16384

// findMissingBatch is how many digests one FindMissingChunks call asks about.
const findMissingBatch = 1000

// UploadFile uploads the file at path as the artifact h describes (h.Name defaults to the file's
// base name; h.ExpectedSize is set from the file) and returns it.
//
//   - With h.UploadId set the upload is resumable: if an earlier UploadFile with that id was cut
//     off, this one asks QueryUploadStatus how much the server holds and sends only the rest (or
//     returns the artifact when it completed).
//   - Otherwise a file of DedupMinSize or more is deduplicated: it is cut into chunks exactly as
//     the server cuts content (the parameters of GetCapabilities), and only the chunks the server
//     lacks are sent (FindMissingChunks → UploadChunks → CommitArtifact). Re-uploading an edited
//     file sends little more than the edits.
//   - Smaller files go in one plain stream.
func (c *Client) UploadFile(ctx context.Context, path string, h *UploadHeader) (*Artifact, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sessions: upload file: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("sessions: upload file: %w", err)
	}
	hdr := cloneHeader(h)
	if hdr.Name == "" {
		hdr.Name = info.Name()
	}
	hdr.ExpectedSize = info.Size()
	switch {
	case hdr.UploadId != "":
		return c.ResumeUpload(ctx, hdr, f)
	case info.Size() >= DedupMinSize:
		return c.uploadDeduplicated(ctx, hdr, f)
	default:
		return c.Upload(ctx, hdr, f)
	}
}

// ResumeUpload continues (or starts) the resumable upload h.UploadId of r's content: it asks the
// server how much it holds (QueryUploadStatus; an unknown id starts from 0), seeks r there and
// streams the rest with h.WriteOffset set. An upload that already completed returns its artifact.
func (c *Client) ResumeUpload(ctx context.Context, h *UploadHeader, r io.ReadSeeker) (*Artifact, error) {
	if h.GetUploadId() == "" {
		return nil, fmt.Errorf("sessions: ResumeUpload needs h.UploadId")
	}
	var offset int64
	st, err := c.QueryUploadStatus(ctx, h.GetUploadId())
	switch {
	case IsNotFound(err):
	case err != nil:
		return nil, err
	case st.Complete:
		return c.GetArtifact(ctx, st.ArtifactID)
	default:
		offset = st.CommittedSize
	}
	if _, err := r.Seek(offset, io.SeekStart); err != nil {
		return nil, fmt.Errorf("sessions: resume upload: %w", err)
	}
	hdr := cloneHeader(h)
	hdr.WriteOffset = offset
	return c.Upload(ctx, hdr, r)
}

// chunkPlan is a file cut into chunks: where each is and its digest, and the whole content's.
type chunkPlan struct {
	refs    []ChunkRef
	offsets []int64
	digest  string
}

// uploadDeduplicated sends only the chunks of f the server lacks, then commits the artifact.
func (c *Client) uploadDeduplicated(ctx context.Context, h *UploadHeader, f *os.File) (*Artifact, error) {
	ck, err := c.chunker(ctx)
	if err != nil {
		return nil, err
	}
	if ck == nil { // a server chunking another way: a plain stream still works
		return c.Upload(ctx, h, f)
	}
	plan, err := planChunks(ck, f)
	if err != nil {
		return nil, err
	}
	if len(plan.refs) > maxCommitChunks {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		return c.Upload(ctx, h, f)
	}
	missing, err := c.missing(ctx, plan.refs)
	if err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		if _, err := c.streamChunks(ctx, readChunks(f, plan, missing)); err != nil {
			return nil, err
		}
	}
	return c.CommitArtifact(ctx, h, plan.refs, plan.digest)
}

// chunker returns the chunker of the server's parameters, nil when this client cannot chunk like
// the server (the capabilities are asked once per Client).
func (c *Client) chunker(ctx context.Context) (*chunker, error) {
	c.capsMu.Lock()
	defer c.capsMu.Unlock()
	if c.caps == nil {
		caps, err := c.GetCapabilities(ctx)
		if err != nil {
			return nil, err
		}
		c.caps = caps
	}
	ck, err := newChunker(c.caps.Chunking)
	if err != nil {
		return nil, nil
	}
	return ck, nil
}

// planChunks reads f once: chunk boundaries, chunk digests and the content digest.
func planChunks(ck *chunker, f *os.File) (*chunkPlan, error) {
	plan := &chunkPlan{}
	whole := blake3.New(32, nil)
	var offset int64
	err := ck.each(f, func(ch []byte) error {
		whole.Write(ch)
		plan.refs = append(plan.refs, ChunkRef{Digest: digestOf(ch), Size: int64(len(ch))})
		plan.offsets = append(plan.offsets, offset)
		offset += int64(len(ch))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sessions: upload file: %w", err)
	}
	plan.digest = hex.EncodeToString(whole.Sum(nil))
	return plan, nil
}

// missing returns the set of the plan's digests the server lacks.
func (c *Client) missing(ctx context.Context, refs []ChunkRef) (map[string]bool, error) {
	out := map[string]bool{}
	seen := map[string]bool{}
	var batch []string
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		m, err := c.FindMissingChunks(ctx, batch)
		for _, d := range m {
			out[d] = true
		}
		batch = batch[:0]
		return err
	}
	for _, r := range refs {
		if seen[r.Digest] {
			continue
		}
		seen[r.Digest] = true
		if batch = append(batch, r.Digest); len(batch) == findMissingBatch {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	return out, flush()
}

// readChunks yields the missing chunks of the plan (each once), read back from f.
func readChunks(f *os.File, plan *chunkPlan, missing map[string]bool) iter.Seq2[Chunk, error] {
	return func(yield func(Chunk, error) bool) {
		for i, r := range plan.refs {
			if !missing[r.Digest] {
				continue
			}
			delete(missing, r.Digest)
			data := make([]byte, r.Size)
			if _, err := f.ReadAt(data, plan.offsets[i]); err != nil {
				yield(Chunk{}, fmt.Errorf("sessions: upload file: %w", err))
				return
			}
			if digestOf(data) != r.Digest {
				yield(Chunk{}, fmt.Errorf("sessions: upload file: %s changed while uploading", f.Name()))
				return
			}
			if !yield(Chunk{Digest: r.Digest, Data: data}, nil) {
				return
			}
		}
	}
}

// digestOf is the BLAKE3 hex digest of b.
func digestOf(b []byte) string {
	sum := blake3.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// cloneHeader copies h (nil gives an empty header) so the caller's is never modified.
func cloneHeader(h *UploadHeader) *UploadHeader {
	if h == nil {
		return &UploadHeader{}
	}
	return cloneRequest(h)
}
