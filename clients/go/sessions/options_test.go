package sessions

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/grpc"
)

func TestIsLoopbackRecognisesLoopbackTargetsOnly(t *testing.T) {
	cases := map[string]bool{
		"127.0.0.1:50051": true, "127.8.9.1:1": true, "localhost:50051": true, "[::1]:50051": true,
		"dns:///localhost:443": true, "10.0.0.1:50051": false, "example.com:443": false, "passthrough:///bufnet": false,
	}
	for target, want := range cases {
		if got := isLoopback(target); got != want {
			t.Errorf("isLoopback(%q) = %v", target, got)
		}
	}
}

func TestBearerTokenRequiresTLSUnlessPlaintextWasChosen(t *testing.T) {
	for _, tc := range []struct {
		target string
		opts   []Option
		tls    bool
	}{
		{"127.0.0.1:1", nil, false},
		{"example.com:443", nil, true},
		{"example.com:443", []Option{WithInsecure(), WithTokenOverPlaintext()}, false},
	} {
		o := options{token: "t"}
		for _, opt := range tc.opts {
			opt(&o)
		}
		tlsCfg, _ := o.tls()
		if (bearer{token: "t", plaintext: o.plaintext(tc.target, tlsCfg)}).RequireTransportSecurity() != tc.tls {
			t.Errorf("%s %d options: RequireTransportSecurity != %v", tc.target, len(tc.opts), tc.tls)
		}
	}
}

func TestTokenOverPlaintextIsRefusedUnlessLoopbackOrOptedIn(t *testing.T) {
	for _, tc := range []struct {
		target string
		opts   []Option
		refuse bool
	}{
		{"10.0.0.1:50051", []Option{WithInsecure()}, true},
		{"example.com:443", []Option{WithInsecure()}, true},
		{"example.com:443", []Option{WithInsecure(), WithTokenOverPlaintext()}, false},
		{"127.0.0.1:50051", []Option{WithInsecure()}, false},
		{"localhost:50051", nil, false},
		{"example.com:443", nil, false}, // TLS by default
	} {
		opts := append([]Option{WithToken("t")}, tc.opts...)
		c, err := Dial(context.Background(), tc.target, opts...)
		if refused := errors.Is(err, ErrTokenOverPlaintext); refused != tc.refuse {
			t.Errorf("%s with %d options: err %v, want refused=%v", tc.target, len(tc.opts), err, tc.refuse)
		}
		if c != nil {
			c.Close()
		}
	}
	// Without a token plaintext to anywhere is the caller's choice.
	c, err := Dial(context.Background(), "example.com:443", WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

func TestDefaultTimeoutAppliesOnlyWithoutADeadline(t *testing.T) {
	var seen []time.Duration
	capture := grpc.UnaryInvoker(func(ctx context.Context, _ string, _, _ any, _ *grpc.ClientConn, _ ...grpc.CallOption) error {
		d, ok := ctx.Deadline()
		if !ok {
			seen = append(seen, 0)
		} else {
			seen = append(seen, time.Until(d).Round(time.Second))
		}
		return nil
	})
	ic := unaryTimeout(5 * time.Second)
	ic(context.Background(), "m", nil, nil, nil, capture)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ic(ctx, "m", nil, nil, nil, capture)
	if len(seen) != 2 || seen[0] != 5*time.Second || seen[1] != time.Minute {
		t.Errorf("deadlines seen %v", seen)
	}
}

func TestTLSFilesReportAMissingCA(t *testing.T) {
	o := options{}
	WithTLSFiles("/nonexistent/ca.pem", "", "")(&o)
	if _, err := o.dialOptions("example.com:443"); err == nil {
		t.Error("a missing CA file must fail Dial")
	}
}
