//! Per-call options of a [`Client`](crate::Client): deadline, correlation id and cancellation.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tonic::metadata::{Ascii, MetadataValue};

use crate::Error;

/// The metadata key the server reads the correlation id from.
pub const CORRELATION_ID_HEADER: &str = "x-correlation-id";

/// What [`Client::with_timeout`](crate::Client::with_timeout) and its siblings set.
#[derive(Clone, Debug, Default)]
pub(crate) struct CallOptions {
    pub(crate) timeout: Option<Duration>,
    pub(crate) correlation_id: Option<MetadataValue<Ascii>>,
    pub(crate) cancel: Option<CancelToken>,
    /// `Bearer <token>` for this client's calls, overriding the channel's token.
    pub(crate) authorization: Option<MetadataValue<Ascii>>,
}

impl CallOptions {
    /// `message` as a request carrying the deadline and the correlation id.
    pub(crate) fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        if let Some(timeout) = self.timeout {
            request.set_timeout(timeout);
        }
        if let Some(id) = &self.correlation_id {
            request.metadata_mut().insert(CORRELATION_ID_HEADER, id.clone());
        }
        if let Some(authorization) = &self.authorization {
            request.metadata_mut().insert("authorization", authorization.clone());
        }
        request
    }

    /// Runs `call` until it ends, the deadline passes (DEADLINE_EXCEEDED) or the token is cancelled
    /// (CANCELLED); dropping `call` cancels its RPC.
    pub(crate) async fn guard<T>(&self, call: impl Future<Output = Result<T, Error>>) -> Result<T, Error> {
        let deadline = async {
            match self.timeout {
                Some(timeout) => tokio::time::sleep(timeout).await,
                None => std::future::pending().await,
            }
        };
        // Biased: a token cancelled before the call starts wins over a call that is ready at once.
        tokio::select! {
            biased;
            () = cancelled(self.cancel.as_ref()) => Err(cancelled_error()),
            () = deadline => Err(tonic::Status::deadline_exceeded("deadline exceeded (client side)").into()),
            result = call => result,
        }
    }
}

/// Resolves when `token` is cancelled; never without a token.
pub(crate) async fn cancelled(token: Option<&CancelToken>) {
    match token {
        Some(token) => token.cancelled().await,
        None => std::future::pending().await,
    }
}

/// The error every cancelled call ends with.
pub(crate) fn cancelled_error() -> Error {
    tonic::Status::cancelled("call cancelled by the client").into()
}

/// Cancels the calls of every [`Client`](crate::Client) made with
/// [`Client::with_cancel`](crate::Client::with_cancel); cheap to clone, cancelled once for good.
///
/// ```no_run
/// # async fn run(client: llmspell_sessions_client::Client) {
/// use llmspell_sessions_client::CancelToken;
/// let token = CancelToken::new();
/// let scoped = client.with_cancel(&token);
/// tokio::spawn(async move { scoped.get_session("0190...").await });
/// token.cancel(); // the call above fails with CANCELLED
/// # }
/// ```
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    cancelled: AtomicBool,
    notify: Notify,
}

impl CancelToken {
    /// A token that is not cancelled yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels every call tied to this token, now and later.
    pub fn cancel(&self) {
        self.0.cancelled.store(true, Ordering::SeqCst);
        self.0.notify.notify_waiters();
    }

    /// Whether [`CancelToken::cancel`] has been called.
    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::SeqCst)
    }

    /// Resolves once the token is cancelled. The waiter it registers goes away with the future, so
    /// finished calls leave nothing behind on the token.
    pub async fn cancelled(&self) {
        loop {
            let notified = self.0.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_cancelled_token_ends_a_guarded_call_with_cancelled() {
        let token = CancelToken::new();
        let options = CallOptions { cancel: Some(token.clone()), ..Default::default() };
        let canceller = token.clone();
        tokio::spawn(async move { canceller.cancel() });
        let err = options.guard(std::future::pending::<Result<(), Error>>()).await.unwrap_err();
        assert_eq!(err.code(), tonic::Code::Cancelled);
        // Later calls through the same token fail at once.
        let err = options.guard(async { Ok::<_, Error>(1) }).await.unwrap_err();
        assert_eq!(err.code(), tonic::Code::Cancelled);
    }

    #[tokio::test]
    async fn the_deadline_ends_a_guarded_call_with_deadline_exceeded() {
        let options = CallOptions { timeout: Some(Duration::from_millis(20)), ..Default::default() };
        let err = options.guard(std::future::pending::<Result<(), Error>>()).await.unwrap_err();
        assert_eq!(err.code(), tonic::Code::DeadlineExceeded);
        assert_eq!(options.guard(async { Ok::<_, Error>(7) }).await.unwrap(), 7);
    }

    #[test]
    fn requests_carry_the_deadline_and_the_correlation_id() {
        let options = CallOptions {
            timeout: Some(Duration::from_secs(3)),
            correlation_id: Some("corr-1".parse().unwrap()),
            cancel: None,
            authorization: Some("Bearer t".parse().unwrap()),
        };
        let request = options.request(());
        assert_eq!(request.metadata().get(CORRELATION_ID_HEADER).unwrap(), "corr-1");
        assert!(request.metadata().get("grpc-timeout").is_some());
        assert_eq!(request.metadata().get("authorization").unwrap(), "Bearer t");
    }
}
