package sessions

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
)

func TestLiveTLSWithASelfSignedCertificate(t *testing.T) {
	certFile, keyFile, _ := selfSignedCert(t, t.TempDir())
	addr := ownServer(t, "--tls-cert", certFile, "--tls-key", keyFile)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	c, err := Dial(ctx, addr, WithTLSFiles(certFile, "", ""), WithToken("any"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := c.CreateSession(ctx, NewSession{Name: "go-tls"})
	if err != nil || s.Name != "go-tls" {
		t.Fatalf("create over TLS: %v %v", s, err)
	}

	// A loopback target without TLS options is plaintext: the TLS server refuses it.
	plain, err := Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if _, err := plain.GetSession(ctx, s.ID); CodeOf(err) != codes.Unavailable {
		t.Errorf("plaintext call to a TLS server: %v", err)
	}

	// TLS that does not trust the self-signed certificate (system roots) fails the handshake.
	untrusted, err := Dial(ctx, addr, WithTLSFiles("", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	defer untrusted.Close()
	if _, err := untrusted.GetSession(ctx, s.ID); CodeOf(err) != codes.Unavailable {
		t.Errorf("untrusted certificate: %v", err)
	}
}
