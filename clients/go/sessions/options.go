package sessions

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// Option configures Dial.
type Option func(*options)

type options struct {
	token     string
	tlsConfig *tls.Config
	caFile    string
	certFile  string
	keyFile   string
	insecure  bool
	block     bool
	extra     []grpc.DialOption
}

// WithToken sends "authorization: Bearer <token>" on every call. An empty token sends nothing.
// The token travels in plaintext only to loopback targets or when WithInsecure is given.
func WithToken(token string) Option { return func(o *options) { o.token = token } }

// WithTLS uses TLS with cfg (set Certificates for mutual TLS, RootCAs for a private CA).
func WithTLS(cfg *tls.Config) Option { return func(o *options) { o.tlsConfig = cfg } }

// WithTLSFiles uses TLS trusting the PEM CA in caFile (system roots when empty) and, when certFile
// and keyFile are set, presenting that client certificate for mutual TLS.
func WithTLSFiles(caFile, certFile, keyFile string) Option {
	return func(o *options) { o.caFile, o.certFile, o.keyFile = caFile, certFile, keyFile }
}

// WithInsecure forces a plaintext connection, even to a non-loopback target, and allows a bearer
// token over it. Meant for test networks only.
func WithInsecure() Option { return func(o *options) { o.insecure = true } }

// WithBlock makes Dial wait until the connection is ready (or its ctx is done).
func WithBlock() Option { return func(o *options) { o.block = true } }

// WithDialOptions appends raw gRPC dial options (interceptors, keepalive, message sizes...).
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(o *options) { o.extra = append(o.extra, opts...) }
}

func (o *options) dialOptions(target string) ([]grpc.DialOption, error) {
	tlsCfg, err := o.tls()
	if err != nil {
		return nil, err
	}
	plaintext := o.plaintext(target, tlsCfg)
	var opts []grpc.DialOption
	if plaintext {
		opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))
	} else {
		if tlsCfg == nil {
			tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		opts = append(opts, grpc.WithTransportCredentials(credentials.NewTLS(tlsCfg)))
	}
	if o.token != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(bearer{token: o.token, plaintext: plaintext}))
	}
	return append(opts, o.extra...), nil
}

// plaintext reports whether to connect without TLS: when asked to, or to a loopback target
// when no TLS was configured.
func (o *options) plaintext(target string, tlsCfg *tls.Config) bool {
	return o.insecure || (tlsCfg == nil && isLoopback(target))
}

func (o *options) tls() (*tls.Config, error) {
	if o.tlsConfig != nil || (o.caFile == "" && o.certFile == "") {
		return o.tlsConfig, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.caFile != "" {
		pem, err := os.ReadFile(o.caFile)
		if err != nil {
			return nil, fmt.Errorf("sessions: CA file: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, errors.New("sessions: CA file holds no PEM certificate: " + o.caFile)
		}
	}
	if o.certFile != "" {
		cert, err := tls.LoadX509KeyPair(o.certFile, o.keyFile)
		if err != nil {
			return nil, fmt.Errorf("sessions: client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// isLoopback reports whether target names a loopback host (127.0.0.0/8, ::1 or localhost).
func isLoopback(target string) bool {
	target = strings.TrimPrefix(target, "dns:///")
	target = strings.TrimPrefix(target, "passthrough:///")
	host, _, err := net.SplitHostPort(target)
	if err != nil {
		host = strings.Trim(target, "[]")
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// bearer is per-RPC credentials carrying a bearer token.
type bearer struct {
	token     string
	plaintext bool
}

// GetRequestMetadata adds the authorization header to every call.
func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.token}, nil
}

// RequireTransportSecurity is false only for connections the caller chose to run in plaintext
// (loopback or WithInsecure), so a token never leaks over an unencrypted network by accident.
func (b bearer) RequireTransportSecurity() bool { return !b.plaintext }
