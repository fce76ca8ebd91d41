package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/llmspell/llmspell-sessions/clients/go/sessions"
)

// scenarioFile is tests/interop/scenarios.json.
type scenarioFile struct {
	Version   int                  `json:"version"`
	Tokens    map[string]tokenSpec `json:"tokens"`
	Scenarios []scenario           `json:"scenarios"`
}

// tokenSpec is one entry of the file's tokens table.
type tokenSpec struct {
	Token string `json:"token"`
}

type scenario struct {
	Name   string `json:"name"`
	Server string `json:"server"`
	Token  string `json:"token"`
	Steps  []step `json:"steps"`
}

// step is one call of a scenario, plus what this run learnt while making it.
type step struct {
	Op               string         `json:"op"`
	Args             map[string]any `json:"args"`
	Token            *string        `json:"token"`
	Save             string         `json:"save"`
	Share            bool           `json:"share"`
	RepeatUntilError int            `json:"repeat_until_error"`
	Expect           map[string]any `json:"expect"`
	ExpectNot        map[string]any `json:"expect_not"`
	ExpectAtLeast    map[string]any `json:"expect_at_least"`
	ExpectAtMost     map[string]any `json:"expect_at_most"`
	ExpectError      map[string]any `json:"expect_error"`

	content []byte // generated content this step uploaded
}

// sharedArtifact is an artifact listed in --out for other languages to --verify.
type sharedArtifact struct {
	ArtifactID    string `json:"artifact_id"`
	ContentDigest string `json:"content_digest"`
	Size          int64  `json:"size"`
}

// errSkipped marks a scenario this run cannot make (an auth scenario without --target-auth).
var errSkipped = errors.New("no --target-auth")

// runner runs scenarios, keeping what later steps refer to.
type runner struct {
	clients map[string]*sessions.Client // "main" and, when given, "auth"
	tokens  map[string]tokenSpec
	lang    string
	timeout time.Duration
	shared  []sharedArtifact

	// per scenario run
	client        *sessions.Client
	token         string
	saved         map[string]any    // results by their "save" name
	contents      map[string][]byte // uploaded content by the upload step's "save" name
	uid           string
	random        uint32
	contentDigest string // of the content the last upload step generated
	rangeDigest   string // of the range the last download step asked for
}

// run runs one scenario and returns nil, errSkipped or the reason its first failing step failed.
func (r *runner) run(ctx context.Context, sc scenario) error {
	server := sc.Server
	if server == "" {
		server = "main"
	}
	r.client = r.clients[server]
	if r.client == nil {
		return errSkipped
	}
	r.token = sc.Token
	r.saved, r.contents, r.contentDigest, r.rangeDigest = map[string]any{}, map[string][]byte{}, "", ""
	var b [12]byte
	rand.Read(b[:])
	r.uid = hex.EncodeToString(b[:8])
	r.random = max(binary.LittleEndian.Uint32(b[8:]), 1)
	for i := range sc.Steps {
		st := &sc.Steps[i]
		if err := r.runStep(ctx, st); err != nil {
			return fmt.Errorf("step %d (%s): %w", i+1, st.Op, err)
		}
	}
	return nil
}

func (r *runner) runStep(ctx context.Context, st *step) error {
	do, ok := ops[st.Op]
	if !ok {
		return errors.New("unsupported op")
	}
	args, err := r.substitute(st.Args)
	if err != nil {
		return err
	}
	r.noteRange(st)
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	ctx = r.withToken(ctx, st)
	var result map[string]any
	attempts := 0
	for {
		attempts++
		result, err = do(ctx, r, st, args.(map[string]any))
		if err != nil || attempts >= st.RepeatUntilError {
			break
		}
	}
	if st.ExpectError != nil {
		return r.checkError(st, err, attempts)
	}
	if err != nil {
		return err
	}
	if err := r.check(st, result); err != nil {
		return err
	}
	r.keep(st, result)
	return nil
}

// withToken sends the step's token (or the scenario's) as the call's bearer token.
func (r *runner) withToken(ctx context.Context, st *step) context.Context {
	name, explicit := r.token, r.token != ""
	if st.Token != nil {
		name, explicit = *st.Token, true
	}
	if !explicit { // the connection's own token, if any
		return ctx
	}
	return sessions.WithCallToken(ctx, r.tokens[name].Token)
}

// keep saves a step's result and shares its artifact when asked to.
func (r *runner) keep(st *step, result map[string]any) {
	if st.Save != "" {
		r.saved[st.Save] = result
		if st.content != nil {
			r.contents[st.Save] = st.content
		}
	}
	if st.Share {
		size, _ := number(result["size"])
		id, _ := result["artifact_id"].(string)
		dg, _ := result["content_digest"].(string)
		r.shared = append(r.shared, sharedArtifact{ArtifactID: id, ContentDigest: dg, Size: int64(size)})
	}
}

// checkError compares a failed call with expect_error and the bounds.
func (r *runner) checkError(st *step, err error, attempts int) error {
	if err == nil {
		return fmt.Errorf("expected the error %v, the call succeeded", st.ExpectError)
	}
	delay, _ := sessions.RetryDelayOf(err)
	result := map[string]any{
		"code": codeName(sessions.CodeOf(err)), "reason": sessions.ReasonOf(err),
		"retry_delay_ms": float64(delay.Milliseconds()), "attempts": float64(attempts),
	}
	for key, raw := range st.ExpectError {
		want, serr := r.substitute(raw)
		if serr != nil {
			return serr
		}
		if !equal(want, result[key]) {
			return fmt.Errorf("expected the error %v, got %s/%s (%v)", st.ExpectError, result["code"], result["reason"], err)
		}
	}
	return r.checkBounds(st, result)
}

func (r *runner) check(st *step, result map[string]any) error {
	for key, raw := range st.Expect {
		want, err := r.substitute(raw)
		if err != nil {
			return err
		}
		if got := lookup(result, key); !equal(want, got) {
			return fmt.Errorf("%s: expected %s, got %s", key, show(want), show(got))
		}
	}
	for key, raw := range st.ExpectNot {
		want, err := r.substitute(raw)
		if err != nil {
			return err
		}
		if equal(want, lookup(result, key)) {
			return fmt.Errorf("%s: expected anything but %s", key, show(want))
		}
	}
	return r.checkBounds(st, result)
}

// checkBounds applies expect_at_least and expect_at_most.
func (r *runner) checkBounds(st *step, result map[string]any) error {
	for _, b := range []struct {
		name  string
		want  map[string]any
		holds func(got, limit float64) bool
	}{
		{"at least", st.ExpectAtLeast, func(g, l float64) bool { return g >= l }},
		{"at most", st.ExpectAtMost, func(g, l float64) bool { return g <= l }},
	} {
		for key, raw := range b.want {
			v, err := r.substitute(raw)
			if err != nil {
				return err
			}
			got, ok1 := number(lookup(result, key))
			limit, ok2 := number(v)
			if !ok1 || !ok2 || !b.holds(got, limit) {
				return fmt.Errorf("%s = %s, expected %s %s", key, show(lookup(result, key)), b.name, show(v))
			}
		}
	}
	return nil
}

// refPattern matches $name and $name.path.to.field.
var refPattern = regexp.MustCompile(`\$([A-Za-z_][A-Za-z0-9_]*)((?:\.[A-Za-z0-9_]+)*)`)

// substitute replaces references in every string of v. A string that is exactly one $name.path
// takes the referenced value as it is (number, object...).
func (r *runner) substitute(v any) (any, error) {
	switch t := v.(type) {
	case string:
		return r.substituteString(t)
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			s, err := r.substitute(e)
			if err != nil {
				return nil, err
			}
			out[k] = s
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			s, err := r.substitute(e)
			if err != nil {
				return nil, err
			}
			out[i] = s
		}
		return out, nil
	}
	return v, nil
}

func (r *runner) substituteString(s string) (any, error) {
	if m := refPattern.FindStringSubmatch(s); m != nil && m[0] == s {
		if m[1] == "random" {
			return float64(r.random), nil
		}
		if r.saved[m[1]] != nil && m[2] != "" {
			return r.lookup(m[1], m[2][1:])
		}
	}
	var failed error
	out := refPattern.ReplaceAllStringFunc(s, func(ref string) string {
		m := refPattern.FindStringSubmatch(ref)
		if special, ok := r.special(m[1]); ok {
			return special + m[2] // "$lang.bin" is $lang then ".bin"
		}
		v, err := r.lookup(m[1], strings.TrimPrefix(m[2], "."))
		if err != nil {
			failed = err
			return ref
		}
		return fmt.Sprint(v)
	})
	return out, failed
}

// special resolves $lang, $uid, $random, $content_digest and $range_digest.
func (r *runner) special(name string) (string, bool) {
	switch name {
	case "lang":
		return r.lang, true
	case "uid":
		return r.uid, true
	case "random":
		return fmt.Sprint(r.random), true
	case "content_digest":
		return r.contentDigest, true
	case "range_digest":
		return r.rangeDigest, true
	}
	return "", false
}

func (r *runner) lookup(name, path string) (any, error) {
	result, ok := r.saved[name]
	if !ok || path == "" {
		return nil, fmt.Errorf("unknown reference $%s", name)
	}
	v := lookup(result, path)
	if v == nil {
		return nil, fmt.Errorf("$%s has no field %q", name, path)
	}
	return v, nil
}

// noteRange remembers the BLAKE3 of content[offset:offset+limit] of the artifact a download step
// reads, when this scenario uploaded it (its artifact_id is "$name.artifact_id").
func (r *runner) noteRange(st *step) {
	if st.Op != "download_artifact" {
		return
	}
	r.rangeDigest = ""
	ref, _ := st.Args["artifact_id"].(string)
	m := refPattern.FindStringSubmatch(ref)
	if m == nil || r.contents[m[1]] == nil {
		return
	}
	content := r.contents[m[1]]
	offset, _ := number(st.Args["offset"])
	limit, _ := number(st.Args["limit"])
	start := min(int64(offset), int64(len(content)))
	end := int64(len(content))
	if limit > 0 {
		end = min(start+int64(limit), end)
	}
	r.rangeDigest = digest(content[start:end])
}
