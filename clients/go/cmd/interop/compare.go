package main

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// toResult renders a message as its proto3 JSON with snake_case names and every field present.
func toResult(m proto.Message) (map[string]any, error) {
	raw, err := protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}.Marshal(m)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	return out, json.Unmarshal(raw, &out)
}

// fromArgs fills a request message from step args (proto field names, enums by name).
func fromArgs(args map[string]any, m proto.Message) error {
	raw, err := json.Marshal(args)
	if err != nil {
		return err
	}
	return protojson.Unmarshal(raw, m)
}

// equal compares an expected JSON value with a result value (tests/interop/README.md,
// "Expectations"): structurally, numbers numerically (int64 may be decimal strings), objects with
// exactly the same keys, and a null (absent) result equal to the expected default.
func equal(want, got any) bool {
	if got == nil {
		return want == nil || isDefault(want)
	}
	if wb, ok := want.(bool); ok {
		gb, ok := got.(bool)
		return ok && gb == wb
	}
	if _, ok := got.(bool); ok {
		return false
	}
	switch w := want.(type) {
	case float64:
		g, ok := number(got)
		return ok && (g == w || math.Abs(g-w) <= 1e-9*math.Max(math.Abs(g), math.Abs(w)))
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for k, wv := range w {
			gv, present := g[k]
			if !present || !equal(wv, gv) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !equal(w[i], g[i]) {
				return false
			}
		}
		return true
	default:
		return want == got
	}
}

// isDefault reports a proto3 default: 0, "", false, [] or {}.
func isDefault(v any) bool {
	switch t := v.(type) {
	case float64:
		return t == 0
	case string:
		return t == ""
	case bool:
		return !t
	case []any:
		return len(t) == 0
	case map[string]any:
		return len(t) == 0
	}
	return false
}

// lookup is the value at a dotted path of a result (decimal segments index lists), nil when absent.
func lookup(result any, path string) any {
	v := result
	for _, part := range strings.Split(path, ".") {
		switch t := v.(type) {
		case map[string]any:
			v = t[part]
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(t) {
				return nil
			}
			v = t[i]
		default:
			return nil
		}
		if v == nil {
			return nil
		}
	}
	return v
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case uint32:
		return float64(n), true
	case float64:
		return n, true
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	case string:
		f, err := strconv.ParseFloat(n, 64)
		return f, err == nil
	}
	return 0, false
}

// show renders a value for a failure message.
func show(v any) string {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(raw) > 200 {
		return string(raw[:200]) + "..."
	}
	return string(raw)
}

// codeName is the canonical upper-case name of a gRPC code ("FAILED_PRECONDITION").
func codeName(c codes.Code) string {
	names := [...]string{"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
		"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
		"OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"}
	if int(c) < len(names) {
		return names[c]
	}
	return c.String()
}
