package sessions

// WriteOption is a condition or key of a write call: IfEtag, IfLastSeq, WithRequestID.
type WriteOption func(*writeOptions)

type writeOptions struct {
	etag      string
	lastSeq   *int64
	requestID string
}

// IfEtag makes the write fail with ABORTED / ETAG_MISMATCH unless the session's etag is etag.
// An empty etag adds no condition.
func IfEtag(etag string) WriteOption { return func(o *writeOptions) { o.etag = etag } }

// IfLastSeq makes the write fail with ABORTED / SEQ_MISMATCH unless the session's last event seq
// is seq.
func IfLastSeq(seq int64) WriteOption { return func(o *writeOptions) { o.lastSeq = &seq } }

// WithRequestID makes the write idempotent: a retry with the same id (same caller, within 10
// minutes) returns the first call's result instead of writing again.
func WithRequestID(id string) WriteOption { return func(o *writeOptions) { o.requestID = id } }

func collectWrite(opts []WriteOption) writeOptions {
	var o writeOptions
	for _, opt := range opts {
		opt(&o)
	}
	return o
}
