package sessions

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"testing/iotest"

	"lukechampine.com/blake3"
)

// vectorsDir is the repository's tests/vectors, shared by every implementation of the chunker.
var vectorsDir = filepath.Join("..", "..", "..", "tests", "vectors")

func TestGearTableMatchesTheGoldenTable(t *testing.T) {
	var golden struct {
		ID    string   `json:"id"`
		Table []string `json:"table"`
	}
	readJSON(t, filepath.Join(vectorsDir, "gear_table.json"), &golden)
	if golden.ID != GearTableID || len(golden.Table) != 256 {
		t.Fatalf("golden table %q with %d entries", golden.ID, len(golden.Table))
	}
	for i, h := range golden.Table {
		want, _ := strconv.ParseUint(h, 16, 64)
		if gear[i] != want {
			t.Fatalf("gear[%d] = %016x, want %s", i, gear[i], h)
		}
	}
}

type chunkVector struct {
	Name        string   `json:"name"`
	Input       string   `json:"input"`
	Seed        string   `json:"seed"`
	Length      int      `json:"length"`
	MinSize     int64    `json:"min_size"`
	AvgSize     int64    `json:"avg_size"`
	MaxSize     int64    `json:"max_size"`
	MaskS       string   `json:"mask_s"`
	MaskL       string   `json:"mask_l"`
	Content     string   `json:"content_blake3"`
	Cuts        []int    `json:"cuts"`
	ChunkBlake3 []string `json:"chunk_blake3"`
}

func (v chunkVector) data(t *testing.T) []byte {
	switch v.Input {
	case "zeros":
		return make([]byte, v.Length)
	case "blake3-xof":
		h := blake3.New(32, nil)
		h.Write([]byte(v.Seed))
		out := make([]byte, v.Length)
		if _, err := h.XOF().Read(out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	t.Fatalf("unknown input %q", v.Input)
	return nil
}

func TestChunkerMatchesTheGoldenVectors(t *testing.T) {
	var file struct {
		Vectors []chunkVector `json:"vectors"`
	}
	readJSON(t, filepath.Join(vectorsDir, "chunking.json"), &file)
	if len(file.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	for _, v := range file.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			c, err := newChunker(ChunkingParams{Algorithm: ChunkingAlgorithm, GearTable: GearTableID, Normalization: 1,
				MinSize: v.MinSize, AvgSize: v.AvgSize, MaxSize: v.MaxSize})
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprintf("%016x/%016x", c.maskS, c.maskL); got != v.MaskS+"/"+v.MaskL {
				t.Errorf("masks %s, want %s/%s", got, v.MaskS, v.MaskL)
			}
			data := v.data(t)
			if d := digestHex(data); d != v.Content {
				t.Fatalf("input digest %s, want %s", d, v.Content)
			}
			cuts := c.cuts(data)
			if len(cuts) == 0 {
				cuts = []int{}
			}
			if !reflect.DeepEqual(cuts, v.Cuts) {
				t.Errorf("cuts %v, want %v", cuts, v.Cuts)
			}
			// The streaming form, fed one byte at a time, gives the same chunks.
			var digests []string
			err = c.each(iotest.OneByteReader(bytes.NewReader(data)), func(ch []byte) error {
				digests = append(digests, digestHex(ch))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(digests) == 0 {
				digests = []string{}
			}
			if !reflect.DeepEqual(digests, v.ChunkBlake3) {
				t.Errorf("streamed chunk digests differ: %d vs %d chunks", len(digests), len(v.ChunkBlake3))
			}
		})
	}
}

func TestChunkerRefusesParametersItDoesNotImplement(t *testing.T) {
	ok := ChunkingParams{Algorithm: ChunkingAlgorithm, GearTable: GearTableID, Normalization: 1, MinSize: 64, AvgSize: 256, MaxSize: 1024}
	for _, bad := range []func(*ChunkingParams){
		func(p *ChunkingParams) { p.Algorithm = "rabin" },
		func(p *ChunkingParams) { p.GearTable = "other" },
		func(p *ChunkingParams) { p.Normalization = 2 },
		func(p *ChunkingParams) { p.MinSize = 32 },
		func(p *ChunkingParams) { p.AvgSize = 2048 },
	} {
		p := ok
		bad(&p)
		if _, err := newChunker(p); err == nil {
			t.Errorf("accepted %+v", p)
		}
	}
	if _, err := newChunker(ok); err != nil {
		t.Error(err)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatal(err)
	}
}
