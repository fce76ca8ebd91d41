package sessions

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"

	"lukechampine.com/blake3"
)

// The content-defined chunker of the server (FastCDC 2020, normalization level 1, the
// "llmspell-gear-v1" gear table), so that a client cuts content exactly where the server would and
// only sends the chunks the server lacks. server/llmspell_sessions/hotpath/_pure.py is the
// reference; tests/vectors/chunking.json holds golden vectors.

// GearTableID names the gear table this chunker uses.
const GearTableID = "llmspell-gear-v1"

// ChunkingAlgorithm names the chunking algorithm this chunker implements.
const ChunkingAlgorithm = "fastcdc-2020"

// gear is GEAR[i] = the first 8 bytes, little-endian, of BLAKE3("llmspell-sessions/gear/v1" + [i]).
var gear = func() (t [256]uint64) {
	for i := range t {
		sum := blake3.Sum256(append([]byte("llmspell-sessions/gear/v1"), byte(i)))
		t[i] = binary.LittleEndian.Uint64(sum[:8])
	}
	return t
}()

// masks is the fastcdc crate's v2020 MASKS: entry k has k one bits (indexes 0-4 unused).
var masks = [...]uint64{
	0, 0, 0, 0, 0,
	0x0000000001804110, 0x0000000001803110, 0x0000000018035100, 0x0000001800035300,
	0x0000019000353000, 0x0000590003530000, 0x0000d90003530000, 0x0000d90103530000,
	0x0000d90303530000, 0x0000d90313530000, 0x0000d90f03530000, 0x0000d90303537000,
	0x0000d90703537000, 0x0000d90707537000, 0x0000d91707537000, 0x0000d91747537000,
	0x0000d91767537000, 0x0000d93767537000, 0x0000d93777537000, 0x0000d93777577000,
	0x0000db3777577000,
}

// chunker cuts content into chunks of MinSize..MaxSize bytes around AvgSize.
type chunker struct {
	min, avg, max int
	maskS, maskL  uint64
}

// newChunker checks the server's parameters and derives the masks.
func newChunker(p ChunkingParams) (*chunker, error) {
	switch {
	case p.Algorithm != ChunkingAlgorithm || p.GearTable != GearTableID || p.Normalization != 1:
		return nil, fmt.Errorf("sessions: unsupported chunking %s / %s / level %d", p.Algorithm, p.GearTable, p.Normalization)
	case p.MinSize < 64 || p.MinSize > p.AvgSize || p.AvgSize > p.MaxSize || p.MaxSize > 16<<20:
		return nil, fmt.Errorf("sessions: bad chunk sizes %d, %d, %d", p.MinSize, p.AvgSize, p.MaxSize)
	}
	b := maskBits(uint64(p.AvgSize))
	return &chunker{min: int(p.MinSize), avg: int(p.AvgSize), max: int(p.MaxSize), maskS: masks[b+1], maskL: masks[b-1]}, nil
}

// maskBits is round(log2(avg)), computed with integers exactly as the server does.
func maskBits(avg uint64) int {
	b := bits.Len64(avg) - 1
	if avg*avg > 1<<(2*b+1) {
		return b + 1
	}
	return b
}

// cut returns the length of the chunk at the start of src (all of src when it is the last one).
func (c *chunker) cut(src []byte) int {
	n := len(src)
	if n <= c.min {
		return n
	}
	n = min(n, c.max)
	center := min(c.avg, n)
	var h uint64
	for i := c.min; i < center; i++ {
		h = h<<1 + gear[src[i]]
		if h&c.maskS == 0 {
			return i
		}
	}
	for i := center; i < n; i++ {
		h = h<<1 + gear[src[i]]
		if h&c.maskL == 0 {
			return i
		}
	}
	return n
}

// cuts returns the chunk end offsets of data, ascending.
func (c *chunker) cuts(data []byte) []int {
	var out []int
	for start := 0; start < len(data); {
		start += c.cut(data[start:])
		out = append(out, start)
	}
	return out
}

// each reads r to the end and calls fn with every chunk in order (the slice is only valid during
// the call). It holds at most 2 × max_size bytes.
func (c *chunker) each(r io.Reader, fn func(chunk []byte) error) error {
	buf := make([]byte, 0, 2*c.max)
	eof := false
	for {
		for !eof && len(buf) < c.max {
			n, err := r.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if errors.Is(err, io.EOF) {
				eof = true
			} else if err != nil {
				return err
			}
		}
		if len(buf) == 0 {
			return nil
		}
		// With max_size bytes at hand (or all that is left) the cut is final.
		size := c.cut(buf)
		if err := fn(buf[:size]); err != nil {
			return err
		}
		buf = buf[:copy(buf, buf[size:])]
	}
}
