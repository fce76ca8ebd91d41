package sessions

import (
	"errors"
	"fmt"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrorDomain is the google.rpc.ErrorInfo domain of every error the server returns.
const ErrorDomain = "llmspell.sessions"

// ErrorInfo reasons of the API contract.
const (
	ReasonSessionNotFound        = "SESSION_NOT_FOUND"
	ReasonArtifactNotFound       = "ARTIFACT_NOT_FOUND"
	ReasonCheckpointNotFound     = "CHECKPOINT_NOT_FOUND"
	ReasonUploadNotFound         = "UPLOAD_NOT_FOUND"
	ReasonInvalidStateTransition = "INVALID_STATE_TRANSITION"
	ReasonSessionNotActive       = "SESSION_NOT_ACTIVE"
	ReasonMissingChunks          = "MISSING_CHUNKS"
	ReasonVetoedByHook           = "VETOED_BY_HOOK"
	ReasonEtagMismatch           = "ETAG_MISMATCH"
	ReasonSeqMismatch            = "SEQ_MISMATCH"
	ReasonInvalidArgument        = "INVALID_ARGUMENT"
	ReasonIntegrityError         = "INTEGRITY_ERROR"
	ReasonResourceLimitExceeded  = "RESOURCE_LIMIT_EXCEEDED"
	ReasonRateLimited            = "RATE_LIMITED"
	ReasonUnauthenticated        = "UNAUTHENTICATED"
	ReasonAccessDenied           = "ACCESS_DENIED"
)

// Error is a failed call: its gRPC code and message plus the ErrorInfo reason and metadata (which
// name the resource, e.g. "session_id"). Every error returned by a Client method that came from
// the server is an *Error; use errors.As or the Is* helpers.
type Error struct {
	// Code is the gRPC status code.
	Code codes.Code
	// Message is the status message.
	Message string
	// Reason is the ErrorInfo reason (e.g. "SESSION_NOT_FOUND"); empty when the status had none.
	Reason string
	// Domain is the ErrorInfo domain, "llmspell.sessions" for errors from the server.
	Domain string
	// Metadata is the ErrorInfo metadata naming the resource concerned.
	Metadata map[string]string
	// RetryDelay is the google.rpc.RetryInfo delay the server asks for before a retry (e.g. with
	// RATE_LIMITED); 0 when the status carried none.
	RetryDelay time.Duration

	status *status.Status
}

// Error formats the error as "REASON: message (Code)".
func (e *Error) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("%s (%s)", e.Message, e.Code)
	}
	return fmt.Sprintf("%s: %s (%s)", e.Reason, e.Message, e.Code)
}

// GRPCStatus returns the original status, so status.FromError and status.Code keep working.
// Errors made by the client itself (a download that fails its check) get a status of their code.
func (e *Error) GRPCStatus() *status.Status {
	if e.status == nil {
		return status.New(e.Code, e.Message)
	}
	return e.status
}

// FromStatus builds an *Error from a status, reading the first ErrorInfo and the RetryInfo among
// its details.
func FromStatus(s *status.Status) *Error {
	e := &Error{Code: s.Code(), Message: s.Message(), status: s}
	seenInfo := false
	for _, d := range s.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			if !seenInfo {
				e.Reason, e.Domain, e.Metadata = d.GetReason(), d.GetDomain(), d.GetMetadata()
				seenInfo = true
			}
		case *errdetails.RetryInfo:
			e.RetryDelay = d.GetRetryDelay().AsDuration()
		}
	}
	return e
}

// wrapErr turns a gRPC status error into an *Error and leaves any other error as it is.
func wrapErr(err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	if s, ok := status.FromError(err); ok {
		return FromStatus(s)
	}
	return err
}

// CodeOf returns the gRPC code of err: codes.OK for nil, codes.Unknown for a non-gRPC error.
func CodeOf(err error) codes.Code {
	if err == nil {
		return codes.OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return status.Code(err)
}

// ReasonOf returns the ErrorInfo reason of err, or "" when it has none.
func ReasonOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	if s, ok := status.FromError(err); ok && err != nil {
		return FromStatus(s).Reason
	}
	return ""
}

// IsNotFound reports a missing session, artifact, checkpoint or upload (codes.NotFound).
func IsNotFound(err error) bool { return CodeOf(err) == codes.NotFound }

// IsConflict reports a failed optimistic-concurrency check: ETAG_MISMATCH or SEQ_MISMATCH (codes.Aborted).
func IsConflict(err error) bool { return CodeOf(err) == codes.Aborted }

// IsFailedPrecondition reports a call the session's state forbids, e.g. INVALID_STATE_TRANSITION.
func IsFailedPrecondition(err error) bool { return CodeOf(err) == codes.FailedPrecondition }

// IsInvalidArgument reports bad input, including INTEGRITY_ERROR on write.
func IsInvalidArgument(err error) bool { return CodeOf(err) == codes.InvalidArgument }

// IsResourceExhausted reports a size, count, quota or rate limit (RESOURCE_LIMIT_EXCEEDED, RATE_LIMITED).
func IsResourceExhausted(err error) bool { return CodeOf(err) == codes.ResourceExhausted }

// IsUnauthenticated reports a missing or unknown token.
func IsUnauthenticated(err error) bool { return CodeOf(err) == codes.Unauthenticated }

// IsPermissionDenied reports a token whose role is too low (ACCESS_DENIED).
func IsPermissionDenied(err error) bool { return CodeOf(err) == codes.PermissionDenied }

// IsIntegrityError reports content that failed a size or digest check: an upload the server
// refused (INVALID_ARGUMENT), stored bytes that failed their digest on read (DATA_LOSS), or a
// download whose bytes did not match the artifact (DATA_LOSS, detected by the client).
func IsIntegrityError(err error) bool { return ReasonOf(err) == ReasonIntegrityError }

// RetryDelayOf returns the delay the server asked for before retrying err (RetryInfo), and
// whether it asked at all.
func RetryDelayOf(err error) (time.Duration, bool) {
	var e *Error
	if errors.As(err, &e) && e.RetryDelay > 0 {
		return e.RetryDelay, true
	}
	return 0, false
}

// IsCanceled reports a call ended by its context's cancellation (or Client.Close): codes.Canceled.
func IsCanceled(err error) bool { return CodeOf(err) == codes.Canceled }
