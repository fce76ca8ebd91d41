package sessions

import "testing"

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
		{"example.com:443", []Option{WithInsecure()}, false},
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

func TestTLSFilesReportAMissingCA(t *testing.T) {
	o := options{}
	WithTLSFiles("/nonexistent/ca.pem", "", "")(&o)
	if _, err := o.dialOptions("example.com:443"); err == nil {
		t.Error("a missing CA file must fail Dial")
	}
}
