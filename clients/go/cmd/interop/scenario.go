package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/llmspell/llmspell-sessions/clients/go/sessions"
)

// scenarioFile is tests/interop/scenarios.json.
type scenarioFile struct {
	Version   int        `json:"version"`
	Scenarios []scenario `json:"scenarios"`
}

type scenario struct {
	Name  string `json:"name"`
	Steps []step `json:"steps"`
}

// step is one call of a scenario, plus what this run learnt while making it.
type step struct {
	Op          string         `json:"op"`
	Args        map[string]any `json:"args"`
	Save        string         `json:"save"`
	Share       bool           `json:"share"`
	Expect      map[string]any `json:"expect"`
	ExpectNot   map[string]any `json:"expect_not"`
	ExpectError *struct {
		Code   string `json:"code"`
		Reason string `json:"reason"`
	} `json:"expect_error"`

	content       []byte // generated content this step uploaded
	contentDigest string
	rangeDigest   string
}

// sharedArtifact is an artifact listed in --out for other languages to --verify.
type sharedArtifact struct {
	ArtifactID    string `json:"artifact_id"`
	ContentDigest string `json:"content_digest"`
	Size          int64  `json:"size"`
}

// runner runs scenarios against one client, keeping what later steps refer to.
type runner struct {
	client   *sessions.Client
	lang     string
	timeout  time.Duration
	saved    map[string]map[string]any // results by their "save" name
	contents map[string][]byte         // uploaded content by the upload step's "save" name
	shared   []sharedArtifact
}

// run runs one scenario and returns nil or the reason its first failing step failed.
func (r *runner) run(ctx context.Context, sc scenario) error {
	r.saved, r.contents = map[string]map[string]any{}, map[string][]byte{}
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
	args, err := r.substitute(st, st.Args)
	if err != nil {
		return err
	}
	st.rangeDigest = r.rangeDigest(st)
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	result, err := do(ctx, r.client, st, args.(map[string]any))
	if st.ExpectError != nil {
		return checkError(err, st.ExpectError.Code, st.ExpectError.Reason)
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

func checkError(err error, code, reason string) error {
	if err == nil {
		return fmt.Errorf("expected %s/%s, the call succeeded", code, reason)
	}
	gotCode, gotReason := codeName(sessions.CodeOf(err)), sessions.ReasonOf(err)
	if gotCode != code || gotReason != reason {
		return fmt.Errorf("expected %s/%s, got %s/%s (%v)", code, reason, gotCode, gotReason, err)
	}
	return nil
}

func (r *runner) check(st *step, result map[string]any) error {
	for key, raw := range st.Expect {
		want, err := r.substitute(st, raw)
		if err != nil {
			return err
		}
		if !equal(want, result[key]) {
			return fmt.Errorf("%s: expected %s, got %s", key, show(want), show(result[key]))
		}
	}
	for key, raw := range st.ExpectNot {
		want, err := r.substitute(st, raw)
		if err != nil {
			return err
		}
		if equal(want, result[key]) {
			return fmt.Errorf("%s: expected anything but %s", key, show(want))
		}
	}
	return nil
}

// refPattern matches $name or $name.field.
var refPattern = regexp.MustCompile(`\$([A-Za-z_][A-Za-z0-9_]*)(\.[A-Za-z_][A-Za-z0-9_]*)?`)

// substitute replaces references in every string of v. A string that is exactly one $name.field
// takes the referenced value as it is (number, object...).
func (r *runner) substitute(st *step, v any) (any, error) {
	switch t := v.(type) {
	case string:
		return r.substituteString(st, t)
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			s, err := r.substitute(st, e)
			if err != nil {
				return nil, err
			}
			out[k] = s
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			s, err := r.substitute(st, e)
			if err != nil {
				return nil, err
			}
			out[i] = s
		}
		return out, nil
	}
	return v, nil
}

func (r *runner) substituteString(st *step, s string) (any, error) {
	if m := refPattern.FindStringSubmatch(s); m != nil && m[0] == s && m[2] != "" && r.saved[m[1]] != nil {
		return r.lookup(m[1], m[2][1:])
	}
	var failed error
	out := refPattern.ReplaceAllStringFunc(s, func(ref string) string {
		m := refPattern.FindStringSubmatch(ref)
		name, field := m[1], strings.TrimPrefix(m[2], ".")
		if special, ok := r.special(st, name); ok {
			return special + m[2] // "$lang.bin" is $lang then ".bin"
		}
		v, err := r.lookup(name, field)
		if err != nil {
			failed = err
			return ref
		}
		return fmt.Sprint(v)
	})
	return out, failed
}

// special resolves $lang, $content_digest and $range_digest.
func (r *runner) special(st *step, name string) (string, bool) {
	switch name {
	case "lang":
		return r.lang, true
	case "content_digest":
		return st.contentDigest, true
	case "range_digest":
		return st.rangeDigest, true
	}
	return "", false
}

func (r *runner) lookup(name, field string) (any, error) {
	result, ok := r.saved[name]
	if !ok || field == "" {
		return nil, fmt.Errorf("unknown reference $%s", name)
	}
	v, ok := result[field]
	if !ok {
		return nil, fmt.Errorf("$%s has no field %q", name, field)
	}
	return v, nil
}

// rangeDigest is the BLAKE3 of content[offset:offset+limit] of the upload whose saved result the
// step's artifact_id names ("$a.artifact_id"), or "" when there is none.
func (r *runner) rangeDigest(st *step) string {
	ref, _ := st.Args["artifact_id"].(string)
	m := refPattern.FindStringSubmatch(ref)
	if m == nil || r.contents[m[1]] == nil {
		return ""
	}
	content := r.contents[m[1]]
	offset, _ := number(st.Args["offset"])
	limit, _ := number(st.Args["limit"])
	start := min(int64(offset), int64(len(content)))
	end := int64(len(content))
	if limit > 0 {
		end = min(start+int64(limit), end)
	}
	return digest(content[start:end])
}
