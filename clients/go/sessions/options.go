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
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// Option configures Dial.
type Option func(*options)

type options struct {
	token     string
	tlsConfig *tls.Config
	caFile    string
	certFile  string
	keyFile   string
	tlsFiles  bool
	insecure  bool
	// tokenOverPlaintext allows a bearer token on a plaintext connection to a non-loopback target.
	tokenOverPlaintext bool
	block              bool
	defaultTimeout     time.Duration
	extra              []grpc.DialOption
}

// WithToken sends "authorization: Bearer <token>" on every call. An empty token sends nothing.
// Dial refuses to send a token over plaintext to a non-loopback target (ErrTokenOverPlaintext)
// unless WithTokenOverPlaintext is also given.
func WithToken(token string) Option { return func(o *options) { o.token = token } }

// WithTLS uses TLS with cfg (set Certificates for mutual TLS, RootCAs for a private CA).
func WithTLS(cfg *tls.Config) Option { return func(o *options) { o.tlsConfig = cfg } }

// WithTLSFiles uses TLS trusting the PEM CA in caFile (system roots when empty) and, when certFile
// and keyFile are set, presenting that client certificate for mutual TLS.
func WithTLSFiles(caFile, certFile, keyFile string) Option {
	return func(o *options) { o.caFile, o.certFile, o.keyFile, o.tlsFiles = caFile, certFile, keyFile, true }
}

// WithInsecure forces a plaintext connection, even to a non-loopback target. A token is still
// refused over it (to a non-loopback target) unless WithTokenOverPlaintext is given too.
func WithInsecure() Option { return func(o *options) { o.insecure = true } }

// WithTokenOverPlaintext lets WithToken's bearer token travel unencrypted to a non-loopback target
// (with WithInsecure). Anyone on the network path can read and replay it: test networks only.
func WithTokenOverPlaintext() Option { return func(o *options) { o.tokenOverPlaintext = true } }

// WithDefaultTimeout gives every call whose context has no deadline this one (streams included:
// set it well above the longest download or subscription you expect, or leave it unset).
func WithDefaultTimeout(d time.Duration) Option { return func(o *options) { o.defaultTimeout = d } }

// ErrTokenOverPlaintext is returned by Dial when a token would travel unencrypted to a
// non-loopback target and WithTokenOverPlaintext was not given.
var ErrTokenOverPlaintext = errors.New("sessions: refusing to send a token over plaintext to a non-loopback target (use TLS, or WithTokenOverPlaintext)")

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
	if o.token != "" && plaintext && !isLoopback(target) && !o.tokenOverPlaintext {
		return nil, ErrTokenOverPlaintext
	}
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
	refuse := plaintext && !isLoopback(target) && !o.tokenOverPlaintext
	opts = append(opts, grpc.WithChainUnaryInterceptor(unaryCallToken(refuse)), grpc.WithChainStreamInterceptor(streamCallToken(refuse)))
	if o.defaultTimeout > 0 {
		opts = append(opts, grpc.WithChainUnaryInterceptor(unaryTimeout(o.defaultTimeout)),
			grpc.WithChainStreamInterceptor(streamTimeout(o.defaultTimeout)))
	}
	return append(opts, o.extra...), nil
}

// plaintext reports whether to connect without TLS: when asked to, or to a loopback target
// when no TLS was configured.
func (o *options) plaintext(target string, tlsCfg *tls.Config) bool {
	return o.insecure || (tlsCfg == nil && isLoopback(target))
}

func (o *options) tls() (*tls.Config, error) {
	if o.tlsConfig != nil || !o.tlsFiles {
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

// GetRequestMetadata adds the authorization header to every call without a WithCallToken one.
func (b bearer) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	if _, ok := callToken(ctx); ok {
		return nil, nil
	}
	return map[string]string{"authorization": "Bearer " + b.token}, nil
}

type callTokenKey struct{}

// WithCallToken returns a context whose calls authenticate with token instead of the WithToken
// one (an empty token: the calls send no authorization header). The TLS rule of WithToken
// applies: over plaintext to a non-loopback target the calls fail with ErrTokenOverPlaintext
// unless the client was dialled WithTokenOverPlaintext.
func WithCallToken(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, callTokenKey{}, token)
}

func callToken(ctx context.Context) (string, bool) {
	t, ok := ctx.Value(callTokenKey{}).(string)
	return t, ok
}

// withCallToken moves a WithCallToken token into the call's metadata.
func withCallToken(ctx context.Context, refuse bool) (context.Context, error) {
	token, ok := callToken(ctx)
	if !ok || token == "" {
		return ctx, nil
	}
	if refuse {
		return nil, ErrTokenOverPlaintext
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token), nil
}

func unaryCallToken(refuse bool) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoke grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		ctx, err := withCallToken(ctx, refuse)
		if err != nil {
			return err
		}
		return invoke(ctx, method, req, reply, cc, opts...)
	}
}

func streamCallToken(refuse bool) grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		ctx, err := withCallToken(ctx, refuse)
		if err != nil {
			return nil, err
		}
		return streamer(ctx, desc, cc, method, opts...)
	}
}

// RequireTransportSecurity is false only for connections Dial allowed to run in plaintext, so a
// token never leaks over an unencrypted network by accident.
func (b bearer) RequireTransportSecurity() bool { return !b.plaintext }

// unaryTimeout gives a unary call without a deadline the default one.
func unaryTimeout(d time.Duration) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoke grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d)
			defer cancel()
		}
		return invoke(ctx, method, req, reply, cc, opts...)
	}
}

// streamTimeout gives a stream without a deadline the default one, released when the stream ends.
func streamTimeout(d time.Duration) grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		if _, ok := ctx.Deadline(); ok {
			return streamer(ctx, desc, cc, method, opts...)
		}
		ctx, cancel := context.WithTimeout(ctx, d)
		s, err := streamer(ctx, desc, cc, method, opts...)
		if err != nil {
			cancel()
			return nil, err
		}
		return &cancelOnEnd{ClientStream: s, cancel: cancel}, nil
	}
}

// cancelOnEnd releases a stream's timer once the stream has ended (RecvMsg returned an error,
// io.EOF included, which is how every stream ends).
type cancelOnEnd struct {
	grpc.ClientStream
	cancel context.CancelFunc
}

// RecvMsg receives one message and releases the timer at the end of the stream.
func (s *cancelOnEnd) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil {
		s.cancel()
	}
	return err
}
