package sessions

import (
	"reflect"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"
)

func TestValueMapRoundTripsJSONLikeValues(t *testing.T) {
	in := map[string]any{
		"plan":    map[string]any{"steps": []any{"search", "summarise"}, "done": false, "cost": 0.25},
		"count":   3,
		"nothing": nil,
		"text":    "héllo ✓",
	}
	pv, err := ToValueMap(in)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"plan":    map[string]any{"steps": []any{"search", "summarise"}, "done": false, "cost": 0.25},
		"count":   3.0, // numbers come back as float64
		"nothing": nil,
		"text":    "héllo ✓",
	}
	if got := FromValueMap(pv); !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v", got)
	}
}

func TestToValueFallsBackToJSONForTypedValues(t *testing.T) {
	type step struct {
		Tool string `json:"tool"`
		N    int    `json:"n"`
	}
	v, err := ToValue(map[string]any{"tags": []string{"a", "b"}, "step": step{"grep", 2}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"tags": []any{"a", "b"}, "step": map[string]any{"tool": "grep", "n": 2.0}}
	if got := v.AsInterface(); !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v", got)
	}
}

func TestToValueRejectsWhatJSONCannotEncode(t *testing.T) {
	if _, err := ToValueMap(map[string]any{"ch": make(chan int)}); err == nil {
		t.Error("a channel must not convert")
	}
}

func TestNilMapsGiveNilStructAndEmptyMap(t *testing.T) {
	if s, err := ToStruct(nil); s != nil || err != nil {
		t.Errorf("ToStruct(nil) = %v, %v", s, err)
	}
	if m := FromStruct((*structpb.Struct)(nil)); m == nil || len(m) != 0 {
		t.Errorf("FromStruct(nil) = %#v", m)
	}
}
