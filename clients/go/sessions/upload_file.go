package sessions

import (
	"context"
	"encoding/hex"
	"errors"
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
		a, _, err := c.UploadDeduplicated(ctx, hdr, f, info.Size())
		return a, err
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

// UploadReport says what a deduplicated upload put on the wire.
type UploadReport struct {
	// Chunks is how many chunks the content was cut into; ChunksSent and BytesSent count the
	// ones the server lacked, sent once per distinct digest.
	Chunks     int
	ChunksSent int
	BytesSent  int64
	// Deduplicated is false when the server chunks in a way this client does not implement (or
	// the content has more chunks than one commit takes) and the content went in a plain stream.
	Deduplicated bool
}

// UploadDeduplicated uploads the size bytes of r as the artifact h describes, sending only the
// chunks the server lacks: it cuts the content exactly as the server does (FastCDC with the
// parameters of GetCapabilities), hashes each chunk (BLAKE3), asks FindMissingChunks, streams the
// missing chunks in one UploadChunks call and commits the artifact with CommitArtifact. r is read
// twice (planning, then the missing chunks).
func (c *Client) UploadDeduplicated(ctx context.Context, h *UploadHeader, r io.ReaderAt, size int64) (*Artifact, *UploadReport, error) {
	ck, err := c.chunker(ctx)
	if err != nil {
		return nil, nil, err
	}
	var plan *chunkPlan
	if ck != nil {
		if plan, err = planChunks(ck, io.NewSectionReader(r, 0, size)); err != nil {
			return nil, nil, err
		}
	}
	if plan == nil || len(plan.refs) > maxCommitChunks { // a plain stream still works
		a, err := c.Upload(ctx, h, io.NewSectionReader(r, 0, size))
		return a, &UploadReport{BytesSent: size}, err
	}
	report := &UploadReport{Chunks: len(plan.refs), Deduplicated: true}
	missing, err := c.missing(ctx, plan.refs)
	if err != nil {
		return nil, nil, err
	}
	if len(missing) > 0 {
		if _, err := c.streamChunks(ctx, readChunks(r, plan, missing, report)); err != nil {
			return nil, nil, err
		}
	}
	a, err := c.CommitArtifact(ctx, h, plan.refs, plan.digest)
	if err != nil {
		return nil, nil, err
	}
	return a, report, nil
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

// planChunks reads r once: chunk boundaries, chunk digests and the content digest.
func planChunks(ck *chunker, r io.Reader) (*chunkPlan, error) {
	plan := &chunkPlan{}
	whole := blake3.New(32, nil)
	var offset int64
	err := ck.each(r, func(ch []byte) error {
		whole.Write(ch)
		plan.refs = append(plan.refs, ChunkRef{Digest: digestOf(ch), Size: int64(len(ch))})
		plan.offsets = append(plan.offsets, offset)
		offset += int64(len(ch))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sessions: upload read: %w", err)
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

// readChunks yields the missing chunks of the plan (each once), read back from r, counting them
// in report.
func readChunks(r io.ReaderAt, plan *chunkPlan, missing map[string]bool, report *UploadReport) iter.Seq2[Chunk, error] {
	return func(yield func(Chunk, error) bool) {
		for i, ref := range plan.refs {
			if !missing[ref.Digest] {
				continue
			}
			delete(missing, ref.Digest)
			data := make([]byte, ref.Size)
			if _, err := r.ReadAt(data, plan.offsets[i]); err != nil && !(errors.Is(err, io.EOF) && i == len(plan.refs)-1) {
				yield(Chunk{}, fmt.Errorf("sessions: upload read: %w", err))
				return
			}
			if digestOf(data) != ref.Digest {
				yield(Chunk{}, errors.New("sessions: upload read: the content changed while uploading"))
				return
			}
			report.ChunksSent++
			report.BytesSent += ref.Size
			if !yield(Chunk{Digest: ref.Digest, Data: data}, nil) {
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
