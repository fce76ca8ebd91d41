package main

import (
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
	r := &runner{lang: "go", saved: map[string]map[string]any{"s": {"session_id": "abc", "last_event_seq": "5"}}}
	st := &step{contentDigest: "d1"}
	args := map[string]any{
		"name":  "blob-$lang.bin",
		"id":    "$s.session_id",
		"seq":   "$s.last_event_seq",
		"tags":  []any{"interop", "$lang"},
		"both":  "$s.session_id/$content_digest",
		"plain": 3.0,
	}
	got, err := r.substitute(st, args)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"name": "blob-go.bin", "id": "abc", "seq": "5", "tags": []any{"interop", "go"}, "both": "abc/d1", "plain": 3.0}
	if !equal(want, got) {
		t.Errorf("got %v", got)
	}
	if _, err := r.substitute(st, "$t.session_id"); err == nil {
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
		{false, nil, false},
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
	st := &step{Args: map[string]any{"artifact_id": "$a.artifact_id", "offset": 1000000.0, "limit": 4096.0}}
	if got := r.rangeDigest(st); got != "a19e2bbe5f62fef908788d2443b7b747b7e4594c8eddfb7254e1f431cf0028e1" {
		t.Errorf("range digest %s", got)
	}
}
