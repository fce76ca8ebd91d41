package main

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"lukechampine.com/blake3"
)

// contentSpec is a step's generated content: {"generate": "xorshift32", "seed": S, "size": N,
// "edits": [...]}.
type contentSpec struct {
	Generate string `json:"generate"`
	Seed     uint32 `json:"seed"`
	Size     int    `json:"size"`
	Edits    []edit `json:"edits"`
}

// edit changes generated content: {"xor": B, "offset": O, "size": L} XORs [O, O+L) with B;
// {"insert": L, "offset": O, "seed": S} inserts xorshift32(S, L) before byte O.
type edit struct {
	Xor    *int   `json:"xor"`
	Insert *int   `json:"insert"`
	Offset int    `json:"offset"`
	Size   int    `json:"size"`
	Seed   uint32 `json:"seed"`
}

// generate returns the spec's bytes.
func (c contentSpec) generate() ([]byte, error) {
	if c.Generate != "xorshift32" {
		return nil, fmt.Errorf("unknown content generator %q", c.Generate)
	}
	out := xorshift32(c.Seed, c.Size)
	for _, e := range c.Edits {
		switch {
		case e.Xor != nil && e.Offset+e.Size <= len(out):
			for i := e.Offset; i < e.Offset+e.Size; i++ {
				out[i] ^= byte(*e.Xor)
			}
		case e.Insert != nil && e.Offset <= len(out):
			ins := xorshift32(e.Seed, *e.Insert)
			out = append(out[:e.Offset:e.Offset], append(ins, out[e.Offset:]...)...)
		default:
			return nil, fmt.Errorf("bad edit %+v of %d bytes", e, len(out))
		}
	}
	return out, nil
}

// xorshift32 returns n bytes: each step of the generator (x ^= x<<13; x ^= x>>17; x ^= x<<5)
// emits x little-endian, the last word truncated to fit.
func xorshift32(seed uint32, n int) []byte {
	out := make([]byte, (n+3)/4*4)
	x := seed
	for i := 0; i < len(out); i += 4 {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		binary.LittleEndian.PutUint32(out[i:], x)
	}
	return out[:n]
}

// digest is the lowercase hex BLAKE3-256 of b.
func digest(b []byte) string {
	sum := blake3.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// hashCounter is an io.Writer that hashes and counts what passes through it.
type hashCounter struct {
	h *blake3.Hasher
	n int64
}

func newHashCounter() *hashCounter { return &hashCounter{h: blake3.New(32, nil)} }

// Write hashes and counts p.
func (w *hashCounter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return w.h.Write(p)
}

func (w *hashCounter) digest() string { return hex.EncodeToString(w.h.Sum(nil)) }
