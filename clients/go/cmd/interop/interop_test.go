package main

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	"lukechampine.com/blake3"
)

// Digests computed by the Python reference (blake3-py) over the same generator.
func TestXorshift32MatchesThePythonReference(t *testing.T) {
	for _, tc := range []struct {
		seed   uint32
		size   int
		prefix string
		digest string
	}{
		{1, 7, "21200400010608", "cf2363ba17cf6238439dc7bafe15468ad0900381a91a400e859b0fe9cc049430"},
		{7, 1 << 20, "e7e01c000792091c", "873ad93b836eb7c4de4aaa827b81dfd523de3ca4e9745f5a95edff555cdff5f5"},
		{20261125, 5 << 20, "efbaae26d66097cf", "9afe26b7ec5d5014e50149c8ddae993d34f6e3c949bbda93994b98848b682504"},
	} {
		b := xorshift32(tc.seed, tc.size)
		if len(b) != tc.size || hex.EncodeToString(b[:len(tc.prefix)/2]) != tc.prefix || digest(b) != tc.digest {
			t.Errorf("seed %d size %d: prefix %x digest %s", tc.seed, tc.size, b[:7], digest(b))
		}
	}
}

// The repo's gear table is derived from BLAKE3 by the Python side: the Go BLAKE3 must agree.
func TestBlake3AgreesWithTheSharedGearTable(t *testing.T) {
	raw, err := os.ReadFile("../../../../tests/vectors/gear_table.json")
	if err != nil {
		t.Skip("shared vectors not found:", err)
	}
	var doc struct{ Table []string }
	if err := json.Unmarshal(raw, &doc); err != nil || len(doc.Table) != 256 {
		t.Fatalf("gear table: %v (%d entries)", err, len(doc.Table))
	}
	for i, want := range doc.Table {
		sum := blake3.Sum256(append([]byte("llmspell-sessions/gear/v1"), byte(i)))
		if got := hex.EncodeToString(binary.BigEndian.AppendUint64(nil, binary.LittleEndian.Uint64(sum[:8]))); got != want {
			t.Fatalf("entry %d: %s, want %s", i, got, want)
		}
	}
}

func TestHashCounterMatchesDigest(t *testing.T) {
	b := xorshift32(99, 100_000)
	w := newHashCounter()
	w.Write(b[:3])
	w.Write(b[3:])
	if w.n != 100_000 || w.digest() != digest(b) {
		t.Errorf("%d bytes %s", w.n, w.digest())
	}
}

func TestSubstituteResolvesLangSavedFieldsAndDigests(t *testing.T) {
	r := &runner{lang: "go", uid: "0123456789abcdef", random: 77, contentDigest: "d1", saved: map[string]any{
		"s": map[string]any{"session_id": "abc", "last_event_seq": "5", "session": map[string]any{"grants": map[string]any{"x": "R"}}},
	}}
	args := map[string]any{
		"name":  "blob-$lang.bin",
		"id":    "$s.session_id",
		"seq":   "$s.last_event_seq",
		"tags":  []any{"interop", "$lang"},
		"both":  "$s.session_id/$content_digest",
		"plain": 3.0,
		"path":  "$s.session.grants.x",
		"uid":   "up-$lang-$uid",
		"seed":  "$random",
	}
	got, err := r.substitute(args)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"name": "blob-go.bin", "id": "abc", "seq": "5", "tags": []any{"interop", "go"}, "both": "abc/d1", "plain": 3.0,
		"path": "R", "uid": "up-go-0123456789abcdef", "seed": 77.0}
	if !equal(want, got) {
		t.Errorf("got %v", got)
	}
	if _, err := r.substitute("$t.session_id"); err == nil {
		t.Error("an unknown reference must fail the step")
	}
}

func TestEqualComparesNumbersNumericallyAndObjectsExactly(t *testing.T) {
	cases := []struct {
		want, got any
		eq        bool
	}{
		{5.0, "5", true},
		{5.0, "6", false},
		{map[string]any{"n": 1.0}, map[string]any{"n": 1.0}, true},
		{map[string]any{"n": 1.0}, map[string]any{"n": 1.0, "extra": nil}, false},
		{[]any{2.0, 3.0}, []any{2.0, 3.0}, true},
		{[]any{2.0}, []any{2.0, 3.0}, false},
		{"SESSION_STATE_ACTIVE", "SESSION_STATE_ACTIVE", true},
		{nil, nil, true},
		{false, nil, true}, // an absent field equals the expected default
		{0.0, nil, true},
		{map[string]any{}, nil, true},
		{1.0, nil, false},
		{true, 1.0, false},
	}
	for _, tc := range cases {
		if equal(tc.want, tc.got) != tc.eq {
			t.Errorf("equal(%v, %v) != %v", tc.want, tc.got, tc.eq)
		}
	}
}

func TestRangeDigestUsesTheSavedUploadsContent(t *testing.T) {
	content := xorshift32(20261125, 5<<20)
	r := &runner{contents: map[string][]byte{"a": content}}
	st := &step{Op: "download_artifact", Args: map[string]any{"artifact_id": "$a.artifact_id", "offset": 1000000.0, "limit": 4096.0}}
	if r.noteRange(st); r.rangeDigest != "a19e2bbe5f62fef908788d2443b7b747b7e4594c8eddfb7254e1f431cf0028e1" {
		t.Errorf("range digest %s", r.rangeDigest)
	}
}

func TestContentEditsXorAndInsert(t *testing.T) {
	xor, ins := 90, 3
	spec := contentSpec{Generate: "xorshift32", Seed: 5, Size: 10, Edits: []edit{
		{Xor: &xor, Offset: 2, Size: 2}, {Insert: &ins, Offset: 4, Seed: 9},
	}}
	got, err := spec.generate()
	if err != nil {
		t.Fatal(err)
	}
	base := xorshift32(5, 10)
	want := append([]byte{}, base[:2]...)
	want = append(want, base[2]^90, base[3]^90)
	want = append(want, xorshift32(9, 3)...)
	want = append(want, base[4:]...)
	if !bytes.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestLookupFollowsPathsAndListIndexes(t *testing.T) {
	result := map[string]any{"artifacts": []any{map[string]any{"name": "a"}}, "session": map[string]any{"seq": "4"}}
	if lookup(result, "artifacts.0.name") != "a" || lookup(result, "session.seq") != "4" || lookup(result, "artifacts.1.name") != nil {
		t.Error("lookup")
	}
}
