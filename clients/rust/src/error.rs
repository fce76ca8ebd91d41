//! The client's error type: a gRPC status with its decoded `google.rpc.ErrorInfo`, or a local failure.

use std::collections::HashMap;
use std::time::Duration;

use prost::Message;
use tonic::Code;

/// The `ErrorInfo.domain` the llmspell-sessions server puts on every error it returns.
pub const ERROR_DOMAIN: &str = "llmspell.sessions";

const ERROR_INFO_TYPE: &str = "type.googleapis.com/google.rpc.ErrorInfo";
const RETRY_INFO_TYPE: &str = "type.googleapis.com/google.rpc.RetryInfo";

/// A failed call, with the gRPC [`Code`] and, for server errors, the `ErrorInfo` reason and metadata.
///
/// ```
/// # use llmspell_sessions_client::Error;
/// fn is_stale(err: &Error) -> bool {
///     err.code() == tonic::Code::Aborted && err.reason() == Some("ETAG_MISMATCH")
/// }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server (or the channel) answered with a non-OK gRPC status.
    #[error("{}", describe(.status, .info.as_ref()))]
    Status {
        /// The status as received, details included.
        status: Box<tonic::Status>,
        /// The `google.rpc.ErrorInfo` found in the status details, if any.
        info: Option<ErrorInfo>,
        /// The `google.rpc.RetryInfo` delay found in the status details (e.g. with RATE_LIMITED).
        retry_delay: Option<Duration>,
    },
    /// The channel could not be set up (bad address, TLS configuration, connection refused).
    #[error("transport error: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// Reading the content to upload or writing downloaded content failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// An argument was rejected before anything was sent (for example a non-object JSON payload).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Downloaded bytes did not match the artifact's size or BLAKE3 digest.
    #[error("integrity error: {0}")]
    Integrity(String),
    /// The server broke the protocol (for example a download stream without its metadata message).
    #[error("protocol error: {0}")]
    Protocol(String),
}

/// The decoded `google.rpc.ErrorInfo` of a server error.
#[derive(Clone, PartialEq, Eq, Message)]
pub struct ErrorInfo {
    /// A constant such as `SESSION_NOT_FOUND` or `ETAG_MISMATCH` (see the API's error table).
    #[prost(string, tag = "1")]
    pub reason: String,
    /// `llmspell.sessions` for errors raised by the server itself.
    #[prost(string, tag = "2")]
    pub domain: String,
    /// Names the resource involved, e.g. `session_id`.
    #[prost(map = "string, string", tag = "3")]
    pub metadata: HashMap<String, String>,
}

/// `google.rpc.RetryInfo`: how long to wait before retrying.
#[derive(Clone, PartialEq, Message)]
struct RetryInfo {
    #[prost(message, optional, tag = "1")]
    retry_delay: Option<prost_types::Duration>,
}

/// `google.rpc.Status`, as carried in the `grpc-status-details-bin` trailer.
#[derive(Clone, PartialEq, Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
    #[prost(message, repeated, tag = "3")]
    details: Vec<prost_types::Any>,
}

impl Error {
    /// The gRPC code: the server's for [`Error::Status`], the closest match for local failures.
    pub fn code(&self) -> Code {
        match self {
            Error::Status { status, .. } => status.code(),
            Error::Transport(_) => Code::Unavailable,
            Error::Io(_) => Code::Unknown,
            Error::InvalidArgument(_) => Code::InvalidArgument,
            Error::Integrity(_) => Code::DataLoss,
            Error::Protocol(_) => Code::Internal,
        }
    }

    /// The `ErrorInfo.reason` (e.g. `INVALID_STATE_TRANSITION`), when the server sent one;
    /// `INTEGRITY_ERROR` for a download that failed the client's own check ([`Error::Integrity`]).
    pub fn reason(&self) -> Option<&str> {
        match self {
            Error::Integrity(_) => Some("INTEGRITY_ERROR"),
            _ => self.info().map(|info| info.reason.as_str()),
        }
    }

    /// The `ErrorInfo.metadata` naming the resource involved; empty when there is none.
    pub fn metadata(&self) -> HashMap<String, String> {
        self.info().map(|info| info.metadata.clone()).unwrap_or_default()
    }

    /// How long the server asks the caller to wait before retrying (its `google.rpc.RetryInfo`),
    /// as sent with RESOURCE_EXHAUSTED / RATE_LIMITED.
    pub fn retry_delay(&self) -> Option<Duration> {
        match self {
            Error::Status { retry_delay, .. } => *retry_delay,
            _ => None,
        }
    }

    /// The whole decoded `ErrorInfo`, when the server sent one.
    pub fn info(&self) -> Option<&ErrorInfo> {
        match self {
            Error::Status { info, .. } => info.as_ref(),
            _ => None,
        }
    }

    /// The status message for server errors, the error's text otherwise.
    pub fn message(&self) -> String {
        match self {
            Error::Status { status, .. } => status.message().to_owned(),
            other => other.to_string(),
        }
    }
}

impl From<tonic::Status> for Error {
    fn from(status: tonic::Status) -> Self {
        let details = decode_details(status.details());
        let info = pick_error_info(&details);
        let retry_delay = details
            .iter()
            .filter(|any| any.type_url == RETRY_INFO_TYPE)
            .find_map(|any| RetryInfo::decode(any.value.as_slice()).ok()?.retry_delay)
            .map(|d| Duration::new(d.seconds.max(0) as u64, d.nanos.max(0) as u32));
        Error::Status { status: Box::new(status), info, retry_delay }
    }
}

/// The `Any` details of a serialized `google.rpc.Status` (none when absent or garbled).
fn decode_details(details: &[u8]) -> Vec<prost_types::Any> {
    if details.is_empty() {
        return Vec::new();
    }
    RpcStatus::decode(details).map(|status| status.details).unwrap_or_default()
}

/// The `ErrorInfo` among `details`, preferring this server's domain.
fn pick_error_info(details: &[prost_types::Any]) -> Option<ErrorInfo> {
    let infos = details
        .iter()
        .filter(|any| any.type_url == ERROR_INFO_TYPE)
        .filter_map(|any| ErrorInfo::decode(any.value.as_slice()).ok());
    let mut first = None;
    for info in infos {
        if info.domain == ERROR_DOMAIN {
            return Some(info);
        }
        first.get_or_insert(info);
    }
    first
}

/// A status carrying `info` in its details, as the server sends it (for in-process test servers).
#[cfg(test)]
pub(crate) fn status_with_info(code: Code, message: &str, infos: Vec<ErrorInfo>) -> tonic::Status {
    status_with_details(code, message, infos, None)
}

#[cfg(test)]
pub(crate) fn status_with_details(
    code: Code,
    message: &str,
    infos: Vec<ErrorInfo>,
    retry: Option<prost_types::Duration>,
) -> tonic::Status {
    let mut details: Vec<_> = infos
        .into_iter()
        .map(|info| prost_types::Any { type_url: ERROR_INFO_TYPE.into(), value: info.encode_to_vec() })
        .collect();
    if let Some(delay) = retry {
        let value = RetryInfo { retry_delay: Some(delay) }.encode_to_vec();
        details.push(prost_types::Any { type_url: RETRY_INFO_TYPE.into(), value });
    }
    let rpc = RpcStatus { code: code as i32, message: message.into(), details };
    tonic::Status::with_details(code, message, rpc.encode_to_vec().into())
}

/// The canonical name of a gRPC code, as in `FAILED_PRECONDITION`.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

fn describe(status: &tonic::Status, info: Option<&ErrorInfo>) -> String {
    let code = code_name(status.code());
    match info {
        Some(info) if info.reason != code => format!("{code}/{}: {}", info.reason, status.message()),
        _ => format!("{code}: {}", status.message()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status_with(infos: Vec<ErrorInfo>) -> tonic::Status {
        status_with_info(Code::NotFound, "no such session", infos)
    }

    fn info(reason: &str, domain: &str) -> ErrorInfo {
        let metadata = HashMap::from([("session_id".to_owned(), "abc".to_owned())]);
        ErrorInfo { reason: reason.into(), domain: domain.into(), metadata }
    }

    #[test]
    fn decodes_code_reason_and_metadata_from_status_details() {
        let err = Error::from(status_with(vec![info("SESSION_NOT_FOUND", ERROR_DOMAIN)]));
        assert_eq!(err.code(), Code::NotFound);
        assert_eq!(err.reason(), Some("SESSION_NOT_FOUND"));
        assert_eq!(err.metadata()["session_id"], "abc");
        assert_eq!(err.message(), "no such session");
        assert_eq!(err.to_string(), "NOT_FOUND/SESSION_NOT_FOUND: no such session");
    }

    #[test]
    fn prefers_the_llmspell_domain_among_several_error_infos() {
        let err = Error::from(status_with(vec![info("OTHER", "example.com"), info("ETAG_MISMATCH", ERROR_DOMAIN)]));
        assert_eq!(err.reason(), Some("ETAG_MISMATCH"));
    }

    #[test]
    fn falls_back_to_a_foreign_error_info() {
        let err = Error::from(status_with(vec![info("OTHER", "example.com")]));
        assert_eq!(err.info().map(|i| i.domain.as_str()), Some("example.com"));
    }

    #[test]
    fn decodes_the_retry_delay_beside_the_reason() {
        let delay = prost_types::Duration { seconds: 2, nanos: 500_000_000 };
        let status = status_with_details(
            Code::ResourceExhausted,
            "slow down",
            vec![info("RATE_LIMITED", ERROR_DOMAIN)],
            Some(delay),
        );
        let err = Error::from(status);
        assert_eq!(err.reason(), Some("RATE_LIMITED"));
        assert_eq!(err.retry_delay(), Some(Duration::from_millis(2500)));
        assert_eq!(Error::from(status_with(vec![info("X", ERROR_DOMAIN)])).retry_delay(), None);
    }

    #[test]
    fn a_status_without_details_has_a_code_and_no_reason() {
        let err = Error::from(tonic::Status::unavailable("down"));
        assert_eq!(err.code(), Code::Unavailable);
        assert_eq!(err.reason(), None);
        assert!(err.metadata().is_empty());
        assert_eq!(err.to_string(), "UNAVAILABLE: down");
    }

    #[test]
    fn garbage_details_are_ignored() {
        let status = tonic::Status::with_details(Code::Internal, "x", vec![0xff, 0xff, 0xff].into());
        assert_eq!(Error::from(status).reason(), None);
    }

    #[test]
    fn local_errors_map_to_the_closest_code() {
        assert_eq!(Error::InvalidArgument("x".into()).code(), Code::InvalidArgument);
        assert_eq!(Error::Protocol("x".into()).code(), Code::Internal);
        let integrity = Error::Integrity("x".into());
        assert_eq!((integrity.code(), integrity.reason()), (Code::DataLoss, Some("INTEGRITY_ERROR")));
    }
}
