package sessions

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Live tests run against the repository's real server, started here on 127.0.0.1:0 over a temp dir
// (LLMSPELL_TEST_TARGET=HOST:PORT uses a server you run instead; LLMSPELL_SKIP_LIVE=1 skips them).

// serverBinary is <repo root>/.venv/bin/llmspell-sessions; the tests fail without it.
func serverBinary(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, ".venv", "bin", "llmspell-sessions")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("live tests need the server at %s: run `make install` at the repository root (or set LLMSPELL_SKIP_LIVE=1)", bin)
	}
	return bin
}

// liveServer is a server process this test binary started.
type liveServer struct {
	addr string
	cmd  *exec.Cmd
	dir  string
}

// startServer starts `llmspell-sessions serve` with args and waits for its "serving on" line.
func startServer(t testing.TB, args ...string) (*liveServer, error) {
	dir, err := os.MkdirTemp("", "llmspell-go-live-")
	if err != nil {
		return nil, err
	}
	args = append([]string{"serve", "--address", "127.0.0.1:0", "--path", filepath.Join(dir, "data")}, args...)
	cmd := exec.Command(serverBinary(t), args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &liveServer{cmd: cmd, dir: dir}
	lines := bufio.NewScanner(stderr)
	var log []string
	for lines.Scan() {
		line := lines.Text()
		log = append(log, line)
		if i := strings.Index(line, "serving on "); i >= 0 {
			s.addr = strings.Fields(line[i+len("serving on "):])[0]
			break
		}
	}
	go func() { // keep draining so the server never blocks on a full pipe
		for lines.Scan() {
		}
	}()
	if s.addr == "" {
		s.stop()
		return nil, &startError{log: strings.Join(log, "\n")}
	}
	return s, nil
}

type startError struct{ log string }

func (e *startError) Error() string { return "server did not start:\n" + e.log }

// stop ends the server (SIGTERM, then SIGKILL after 10 s) and removes its directory.
func (s *liveServer) stop() {
	if s.cmd.Process != nil {
		s.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			s.cmd.Process.Kill()
			<-done
		}
	}
	os.RemoveAll(s.dir)
}

var shared struct {
	once   sync.Once
	server *liveServer
	err    error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.server != nil {
		shared.server.stop()
	}
	os.Exit(code)
}

// liveTarget is the address of the package's shared live server, started on first use.
func liveTarget(t *testing.T) string {
	t.Helper()
	if os.Getenv("LLMSPELL_SKIP_LIVE") == "1" {
		t.Skip("LLMSPELL_SKIP_LIVE=1")
	}
	if target := os.Getenv("LLMSPELL_TEST_TARGET"); target != "" {
		return target
	}
	shared.once.Do(func() { shared.server, shared.err = startServer(t) })
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.server.addr
}

// ownServer starts a server for this test only (e.g. with TLS), stopped at its end.
func ownServer(t *testing.T, args ...string) string {
	t.Helper()
	if os.Getenv("LLMSPELL_SKIP_LIVE") == "1" {
		t.Skip("LLMSPELL_SKIP_LIVE=1")
	}
	s, err := startServer(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	return s.addr
}

// liveClient connects to the shared live server.
func liveClient(t *testing.T, opts ...Option) (*Client, context.Context) {
	t.Helper()
	target := liveTarget(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	opts = append([]Option{WithBlock(), WithToken(os.Getenv("LLMSPELL_SESSION_TOKEN"))}, opts...)
	c, err := Dial(ctx, target, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, ctx
}

// selfSignedCert writes a self-signed certificate for 127.0.0.1 and localhost (and its key) as PEM
// files in dir and returns their paths and the certificate.
func selfSignedCert(t *testing.T, dir string) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "PRIVATE KEY", keyDER)
	cert, err = x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, cert
}

func writePEM(t *testing.T, path, kind string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
