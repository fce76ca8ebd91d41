package sessions

import (
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/types/known/structpb"
)

// ToValue converts a Go value to a protobuf Value. It takes what structpb.NewValue takes (nil,
// bool, ints, floats, string, []any, map[string]any) and, for anything else that encodes as JSON
// (structs, []string, map[string]int...), its JSON form.
func ToValue(v any) (*structpb.Value, error) {
	if pv, err := structpb.NewValue(v); err == nil {
		return pv, nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("sessions: value %T: %w", v, err)
	}
	var generic any
	if err := json.Unmarshal(raw, &generic); err != nil {
		return nil, fmt.Errorf("sessions: value %T: %w", v, err)
	}
	return structpb.NewValue(generic)
}

// ToValueMap converts a map of Go values (see ToValue) to a map of protobuf Values.
func ToValueMap(m map[string]any) (map[string]*structpb.Value, error) {
	if m == nil {
		return nil, nil
	}
	out := make(map[string]*structpb.Value, len(m))
	for k, v := range m {
		pv, err := ToValue(v)
		if err != nil {
			return nil, fmt.Errorf("sessions: key %q: %w", k, err)
		}
		out[k] = pv
	}
	return out, nil
}

// FromValueMap converts a map of protobuf Values to Go values: nil, bool, float64, string,
// []any and map[string]any (numbers come back as float64, as with encoding/json).
func FromValueMap(m map[string]*structpb.Value) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v.AsInterface()
	}
	return out
}

// ToStruct converts a map of Go values (see ToValue) to a protobuf Struct; nil gives nil.
func ToStruct(m map[string]any) (*structpb.Struct, error) {
	if m == nil {
		return nil, nil
	}
	fields, err := ToValueMap(m)
	if err != nil {
		return nil, err
	}
	return &structpb.Struct{Fields: fields}, nil
}

// FromStruct converts a protobuf Struct to a map of Go values; nil gives an empty map.
func FromStruct(s *structpb.Struct) map[string]any {
	return FromValueMap(s.GetFields())
}
