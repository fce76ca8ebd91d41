package sessions

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

func notFoundStatus(t *testing.T) *status.Status {
	t.Helper()
	s, err := status.New(codes.NotFound, "session 42 not found").WithDetails(&errdetails.ErrorInfo{
		Reason: ReasonSessionNotFound, Domain: ErrorDomain, Metadata: map[string]string{"session_id": "42"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestErrorCarriesCodeReasonAndMetadataFromStatusDetails(t *testing.T) {
	err := wrapErr(notFoundStatus(t).Err())
	var e *Error
	if !errors.As(fmt.Errorf("context: %w", err), &e) {
		t.Fatalf("errors.As found no *Error in %v", err)
	}
	if e.Code != codes.NotFound || e.Reason != ReasonSessionNotFound || e.Domain != ErrorDomain {
		t.Errorf("got code %v reason %q domain %q", e.Code, e.Reason, e.Domain)
	}
	if e.Metadata["session_id"] != "42" {
		t.Errorf("metadata %v", e.Metadata)
	}
	if got := e.Error(); got != "SESSION_NOT_FOUND: session 42 not found (NotFound)" {
		t.Errorf("Error() = %q", got)
	}
}

func TestErrorKeepsItsStatusForStatusPackage(t *testing.T) {
	err := wrapErr(notFoundStatus(t).Err())
	if status.Code(err) != codes.NotFound || len(status.Convert(err).Details()) != 1 {
		t.Errorf("status.Convert lost the status: %v", status.Convert(err))
	}
}

func TestHelpersClassifyByCode(t *testing.T) {
	aborted := wrapErr(status.Error(codes.Aborted, "stale"))
	if !IsConflict(aborted) || IsNotFound(aborted) || ReasonOf(aborted) != "" {
		t.Errorf("aborted without details misclassified: %v", aborted)
	}
	nf := fmt.Errorf("wrapped: %w", wrapErr(notFoundStatus(t).Err()))
	if !IsNotFound(nf) || ReasonOf(nf) != ReasonSessionNotFound {
		t.Errorf("not found misclassified: %v", nf)
	}
	if ReasonOf(notFoundStatus(t).Err()) != ReasonSessionNotFound {
		t.Error("ReasonOf must read a raw status error too")
	}
}

func TestNonGRPCErrorsPassThrough(t *testing.T) {
	plain := errors.New("disk on fire")
	if wrapErr(plain) != plain || CodeOf(plain) != codes.Unknown || ReasonOf(plain) != "" {
		t.Error("a non-gRPC error must be left alone")
	}
	if wrapErr(nil) != nil || CodeOf(nil) != codes.OK {
		t.Error("nil must stay nil")
	}
}

func TestRetryInfoIsExposedBesideTheReason(t *testing.T) {
	s, err := status.New(codes.ResourceExhausted, "slow down").WithDetails(
		&errdetails.ErrorInfo{Reason: ReasonRateLimited, Domain: ErrorDomain},
		&errdetails.RetryInfo{RetryDelay: durationpb.New(1500 * time.Millisecond)},
	)
	if err != nil {
		t.Fatal(err)
	}
	e := wrapErr(s.Err())
	if d, ok := RetryDelayOf(e); !ok || d != 1500*time.Millisecond || ReasonOf(e) != ReasonRateLimited {
		t.Errorf("retry delay %v %v, reason %q", d, ok, ReasonOf(e))
	}
	if _, ok := RetryDelayOf(wrapErr(notFoundStatus(t).Err())); ok {
		t.Error("no RetryInfo must mean no delay")
	}
}
