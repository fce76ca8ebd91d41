//! The connection: [`Client`], its [`ClientBuilder`] and the bearer-token [`Auth`] interceptor.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::Duration;

use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::service::Interceptor;
use tonic::transport::{Channel, Endpoint};

use crate::pb::artifact_service_client::ArtifactServiceClient;
use crate::pb::replay_service_client::ReplayServiceClient;
use crate::pb::session_service_client::SessionServiceClient;
use crate::Error;

/// The address used when none is given: `127.0.0.1:50051`.
pub const DEFAULT_ADDRESS: &str = "127.0.0.1:50051";

/// The largest message the client accepts (downloads arrive in messages well below this).
const MAX_DECODING_MESSAGE_SIZE: usize = 64 * 1024 * 1024;

/// The channel every generated client of a [`Client`] uses: a tonic channel behind the [`Auth`] interceptor.
pub type AuthChannel = InterceptedService<Channel, Auth>;

/// An interceptor that adds `authorization: Bearer <token>` to every call when a token is set.
#[derive(Clone, Debug, Default)]
pub struct Auth {
    header: Option<MetadataValue<Ascii>>,
}

impl Auth {
    /// An interceptor sending `token` as a bearer token, or nothing when `token` is `None`.
    pub fn new(token: Option<&str>) -> Result<Self, Error> {
        let header = token
            .map(|t| format!("Bearer {t}").parse())
            .transpose()
            .map_err(|_| Error::InvalidArgument("the token is not valid header text".into()))?;
        Ok(Auth { header })
    }
}

impl Interceptor for Auth {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(header) = &self.header {
            request.metadata_mut().insert("authorization", header.clone());
        }
        Ok(request)
    }
}

/// An async client for the three llmspell-sessions services; cheap to clone, safe to share.
///
/// ```no_run
/// # async fn run() -> Result<(), llmspell_sessions_client::Error> {
/// use llmspell_sessions_client::Client;
/// let client = Client::connect("127.0.0.1:50051").token("secret").await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    pub(crate) sessions: SessionServiceClient<AuthChannel>,
    pub(crate) artifacts: ArtifactServiceClient<AuthChannel>,
    pub(crate) replay: ReplayServiceClient<AuthChannel>,
}

impl Client {
    /// Starts building a client for `target` (`host:port` or a full `http(s)://` URI); `.await` it to connect.
    pub fn connect(target: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(target.into())
    }

    /// A builder configured like the CLI: target from `LLMSPELL_SESSION_ADDRESS` (default
    /// [`DEFAULT_ADDRESS`]), token from `LLMSPELL_SESSION_TOKEN` when set.
    pub fn from_env() -> ClientBuilder {
        let target = std::env::var("LLMSPELL_SESSION_ADDRESS").unwrap_or_else(|_| DEFAULT_ADDRESS.into());
        let builder = ClientBuilder::new(target);
        match std::env::var("LLMSPELL_SESSION_TOKEN") {
            Ok(token) if !token.is_empty() => builder.token(token),
            _ => builder,
        }
    }

    /// A client over a channel set up by the caller, with `auth` applied to every call.
    pub fn from_channel(channel: Channel, auth: Auth) -> Self {
        let intercepted = InterceptedService::new(channel, auth);
        Client {
            sessions: SessionServiceClient::new(intercepted.clone())
                .max_decoding_message_size(MAX_DECODING_MESSAGE_SIZE),
            artifacts: ArtifactServiceClient::new(intercepted.clone())
                .max_decoding_message_size(MAX_DECODING_MESSAGE_SIZE),
            replay: ReplayServiceClient::new(intercepted).max_decoding_message_size(MAX_DECODING_MESSAGE_SIZE),
        }
    }

    /// The generated `SessionService` client, for calls and options this wrapper does not cover.
    pub fn session_service(&self) -> SessionServiceClient<AuthChannel> {
        self.sessions.clone()
    }

    /// The generated `ArtifactService` client (chunk-level upload, capabilities, storage stats, ...).
    pub fn artifact_service(&self) -> ArtifactServiceClient<AuthChannel> {
        self.artifacts.clone()
    }

    /// The generated `ReplayService` client (snapshots, comparisons, controlled replay, ...).
    pub fn replay_service(&self) -> ReplayServiceClient<AuthChannel> {
        self.replay.clone()
    }
}

/// Configures a [`Client`]: token, TLS, timeouts. `.await` it (or call [`ClientBuilder::build`]) to connect.
#[derive(Clone, Debug)]
#[must_use = "a ClientBuilder does nothing until it is awaited"]
pub struct ClientBuilder {
    target: String,
    token: Option<String>,
    #[cfg(feature = "tls")]
    tls: Option<tonic::transport::ClientTlsConfig>,
    connect_timeout: Option<Duration>,
    timeout: Option<Duration>,
}

impl ClientBuilder {
    fn new(target: String) -> Self {
        ClientBuilder {
            target,
            token: None,
            #[cfg(feature = "tls")]
            tls: None,
            connect_timeout: None,
            timeout: None,
        }
    }

    /// Sends `authorization: Bearer <token>` on every call.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Connects over TLS; give the config a client identity for mutual TLS.
    ///
    /// ```no_run
    /// # async fn run(ca: Vec<u8>, cert: Vec<u8>, key: Vec<u8>) -> Result<(), llmspell_sessions_client::Error> {
    /// use llmspell_sessions_client::{Client, tls::{Certificate, ClientTlsConfig, Identity}};
    /// let tls = ClientTlsConfig::new()
    ///     .ca_certificate(Certificate::from_pem(ca))
    ///     .identity(Identity::from_pem(cert, key))
    ///     .domain_name("sessions.internal");
    /// let client = Client::connect("sessions.internal:50051").tls(tls).await?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "tls")]
    pub fn tls(mut self, config: tonic::transport::ClientTlsConfig) -> Self {
        self.tls = Some(config);
        self
    }

    /// Fails the connection attempt after `timeout`.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Fails every unary call that takes longer than `timeout` (streams count until their end).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Connects now, failing if the server cannot be reached.
    pub async fn build(self) -> Result<Client, Error> {
        let auth = Auth::new(self.token.as_deref())?;
        let channel = self.endpoint()?.connect().await?;
        Ok(Client::from_channel(channel, auth))
    }

    /// Returns a client at once; the connection is made by the first call.
    pub fn build_lazy(self) -> Result<Client, Error> {
        let auth = Auth::new(self.token.as_deref())?;
        Ok(Client::from_channel(self.endpoint()?.connect_lazy(), auth))
    }

    fn uri(&self) -> String {
        if self.target.contains("://") {
            return self.target.clone();
        }
        #[cfg(feature = "tls")]
        if self.tls.is_some() {
            return format!("https://{}", self.target);
        }
        format!("http://{}", self.target)
    }

    fn endpoint(&self) -> Result<Endpoint, Error> {
        let uri = self.uri();
        let mut endpoint = Endpoint::from_shared(uri.clone())
            .map_err(|_| Error::InvalidArgument(format!("invalid target {uri:?}")))?;
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.tls {
            endpoint = endpoint.tls_config(tls.clone())?;
        }
        if let Some(timeout) = self.connect_timeout {
            endpoint = endpoint.connect_timeout(timeout);
        }
        if let Some(timeout) = self.timeout {
            endpoint = endpoint.timeout(timeout);
        }
        Ok(endpoint)
    }
}

impl IntoFuture for ClientBuilder {
    type Output = Result<Client, Error>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_targets_get_a_scheme() {
        assert_eq!(Client::connect("127.0.0.1:1").uri(), "http://127.0.0.1:1");
        assert_eq!(Client::connect("https://h:1").uri(), "https://h:1");
    }

    #[cfg(feature = "tls")]
    #[test]
    fn tls_targets_use_https() {
        let builder = Client::connect("localhost:1").tls(tonic::transport::ClientTlsConfig::new());
        assert_eq!(builder.uri(), "https://localhost:1");
    }

    #[test]
    fn tokens_must_be_header_text() {
        assert!(Auth::new(Some("ok-token")).is_ok());
        assert_eq!(Auth::new(Some("bad\ntoken")).unwrap_err().code(), tonic::Code::InvalidArgument);
    }

    #[test]
    fn the_interceptor_adds_the_bearer_token() {
        let mut auth = Auth::new(Some("t0k")).unwrap();
        let request = auth.call(tonic::Request::new(())).unwrap();
        assert_eq!(request.metadata().get("authorization").unwrap(), "Bearer t0k");
        let mut open = Auth::new(None).unwrap();
        assert!(open.call(tonic::Request::new(())).unwrap().metadata().get("authorization").is_none());
    }
}
