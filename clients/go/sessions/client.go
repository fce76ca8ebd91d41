package sessions

import (
	"context"
	"errors"
	"fmt"
	"sync"

	pb "github.com/llmspell/llmspell-sessions/clients/go/gen/llmspell/sessions/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/metadata"
)

// Client is a connection to an llmspell-sessions server. It is safe for concurrent use.
type Client struct {
	conn *grpc.ClientConn
	// SessionService is the raw generated stub, for calls and fields the wrapper does not cover.
	SessionService pb.SessionServiceClient
	// ArtifactService is the raw generated stub, for chunk-level uploads, stats and capabilities.
	ArtifactService pb.ArtifactServiceClient
	// ReplayService is the raw generated stub, for snapshots, comparisons and controlled replay.
	ReplayService pb.ReplayServiceClient

	capsMu sync.Mutex
	caps   *Capabilities // the server's, asked for by the first deduplicated upload
}

// Dial creates a client for target ("host:port" or any gRPC target string).
//
// Without WithTLS or WithTLSFiles the transport is plaintext when target is a loopback address
// (127.0.0.0/8, ::1, localhost) and TLS with the system roots otherwise; WithInsecure forces
// plaintext. The connection is made lazily unless WithBlock is given, in which case Dial waits
// until the connection is ready or ctx is done.
func Dial(ctx context.Context, target string, opts ...Option) (*Client, error) {
	o := options{}
	for _, opt := range opts {
		opt(&o)
	}
	dialOpts, err := o.dialOptions(target)
	if err != nil {
		return nil, err
	}
	conn, err := grpc.NewClient(target, dialOpts...)
	if err != nil {
		return nil, fmt.Errorf("sessions: dial %s: %w", target, err)
	}
	c := NewClient(conn)
	if o.block {
		if err := waitReady(ctx, conn); err != nil {
			conn.Close()
			return nil, fmt.Errorf("sessions: dial %s: %w", target, err)
		}
	}
	return c, nil
}

// NewClient wraps an existing connection; Close closes it.
func NewClient(conn *grpc.ClientConn) *Client {
	return &Client{
		conn:            conn,
		SessionService:  pb.NewSessionServiceClient(conn),
		ArtifactService: pb.NewArtifactServiceClient(conn),
		ReplayService:   pb.NewReplayServiceClient(conn),
	}
}

// Conn returns the underlying gRPC connection.
func (c *Client) Conn() *grpc.ClientConn { return c.conn }

// Close closes the connection; calls in flight fail with codes.Canceled.
func (c *Client) Close() error { return c.conn.Close() }

// WithCorrelationID returns a context whose calls send id as the x-correlation-id header, so that
// every event those calls append shares that correlation_id.
func WithCorrelationID(ctx context.Context, id string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "x-correlation-id", id)
}

func waitReady(ctx context.Context, conn *grpc.ClientConn) error {
	conn.Connect()
	for {
		s := conn.GetState()
		if s == connectivity.Ready {
			return nil
		}
		if s == connectivity.Shutdown {
			return errors.New("connection shut down")
		}
		if !conn.WaitForStateChange(ctx, s) {
			return ctx.Err()
		}
	}
}
