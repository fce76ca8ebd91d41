//! The connection: [`Client`], its [`ClientBuilder`] and the bearer-token [`Auth`] interceptor.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::Duration;

use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::service::Interceptor;
use tonic::transport::{Channel, Endpoint};

use crate::call::{CallOptions, CancelToken};
use crate::pb::artifact_service_client::ArtifactServiceClient;
use crate::pb::replay_service_client::ReplayServiceClient;
use crate::pb::session_service_client::SessionServiceClient;
use crate::security::{self, Choice, Target, Transport};
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
    /// Adds the token unless the call already carries one (see [`Client::with_token`]).
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(header) = &self.header {
            if !request.metadata().contains_key("authorization") {
                request.metadata_mut().insert("authorization", header.clone());
            }
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
    pub(crate) options: CallOptions,
    /// Whether the security rule lets this client send a token (TLS, loopback, or opted in).
    token_allowed: bool,
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
            options: CallOptions::default(),
            token_allowed: true,
        }
    }

    /// This client sending `token` (as `authorization: Bearer <token>`) on every call made through
    /// it, over the same connection: one channel can serve several callers. Refused, like
    /// [`ClientBuilder::token`], when the connection is plaintext to a host that is not loopback.
    pub fn with_token(&self, token: &str) -> Result<Client, Error> {
        if !self.token_allowed {
            return Err(Error::InvalidArgument(
                "refusing to send a token in plaintext to a host that is not loopback".into(),
            ));
        }
        let value = format!("Bearer {token}")
            .parse()
            .map_err(|_| Error::InvalidArgument("the token is not valid header text".into()))?;
        let mut client = self.clone();
        client.options.authorization = Some(value);
        Ok(client)
    }

    /// This client with a deadline on every call made through it: past it, a call fails with
    /// DEADLINE_EXCEEDED (the server is told too, through `grpc-timeout`).
    ///
    /// ```no_run
    /// # async fn run(client: llmspell_sessions_client::Client) -> Result<(), llmspell_sessions_client::Error> {
    /// use std::time::Duration;
    /// let session = client.with_timeout(Duration::from_secs(2)).get_session("0190...").await?;
    /// # Ok(()) }
    /// ```
    pub fn with_timeout(&self, timeout: Duration) -> Client {
        let mut client = self.clone();
        client.options.timeout = Some(timeout);
        client
    }

    /// This client sending `x-correlation-id: id` on every call; the server records it on the
    /// events those calls append.
    pub fn with_correlation_id(&self, id: impl Into<String>) -> Result<Client, Error> {
        let id = id.into();
        let value =
            id.parse().map_err(|_| Error::InvalidArgument(format!("correlation id {id:?} is not header text")))?;
        let mut client = self.clone();
        client.options.correlation_id = Some(value);
        Ok(client)
    }

    /// This client with its calls tied to `token`: once it is cancelled, every pending or later call
    /// made through this client (unary or stream) fails with CANCELLED and its RPC is cancelled.
    pub fn with_cancel(&self, token: &CancelToken) -> Client {
        let mut client = self.clone();
        client.options.cancel = Some(token.clone());
        client
    }

    /// `message` as a request carrying this client's deadline and correlation id.
    pub(crate) fn request<T>(&self, message: T) -> tonic::Request<T> {
        self.options.request(message)
    }

    /// Awaits a unary call under this client's deadline and cancellation token.
    pub(crate) async fn unary<T>(
        &self,
        call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    ) -> Result<T, Error> {
        self.options.guard(async { Ok(call.await?.into_inner()) }).await
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
///
/// Secure by default: a target that is not loopback (`localhost`, `127.0.0.0/8`, `::1`) is reached
/// over TLS with the platform's root certificates unless [`ClientBuilder::plaintext`] opts out, and a
/// token is never sent in plaintext to such a target unless [`ClientBuilder::allow_token_over_plaintext`]
/// says so. Refused combinations fail at build time with [`Error::InvalidArgument`].
#[derive(Clone, Debug)]
#[must_use = "a ClientBuilder does nothing until it is awaited"]
pub struct ClientBuilder {
    target: String,
    token: Option<String>,
    #[cfg(feature = "tls")]
    tls: Option<tonic::transport::ClientTlsConfig>,
    plaintext: bool,
    token_over_plaintext: bool,
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
            plaintext: false,
            token_over_plaintext: false,
            connect_timeout: None,
            timeout: None,
        }
    }

    /// Sends `authorization: Bearer <token>` on every call.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Connects over TLS with this configuration (CA, client identity for mutual TLS, server name).
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

    /// Opts into plaintext (no TLS) for a target that is not loopback. Loopback targets are
    /// plaintext unless TLS is asked for, so this is only needed for other hosts.
    pub fn plaintext(mut self) -> Self {
        self.plaintext = true;
        self
    }

    /// Allows the token to travel in plaintext to a target that is not loopback (anyone on the path
    /// can read it). Without this, such a client is refused when it is built.
    pub fn allow_token_over_plaintext(mut self) -> Self {
        self.token_over_plaintext = true;
        self
    }

    /// Fails the connection attempt after `timeout`.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// The default deadline of every call (a stream counts until its end); see also [`Client::with_timeout`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Connects now, failing if the server cannot be reached.
    pub async fn build(self) -> Result<Client, Error> {
        let auth = Auth::new(self.token.as_deref())?;
        let channel = self.endpoint()?.connect().await?;
        Ok(self.client(channel, auth))
    }

    /// Returns a client at once; the connection is made by the first call.
    pub fn build_lazy(self) -> Result<Client, Error> {
        let auth = Auth::new(self.token.as_deref())?;
        let channel = self.endpoint()?.connect_lazy();
        Ok(self.client(channel, auth))
    }

    fn client(&self, channel: Channel, auth: Auth) -> Client {
        let mut client = Client::from_channel(channel, auth);
        client.token_allowed = self.token_allowed();
        match self.timeout {
            Some(timeout) => client.with_timeout(timeout),
            None => client,
        }
    }

    /// Applies the security rule: TLS or plaintext, or a refusal.
    pub(crate) fn transport(&self) -> Result<Transport, Error> {
        #[cfg(feature = "tls")]
        let tls_configured = self.tls.is_some();
        #[cfg(not(feature = "tls"))]
        let tls_configured = false;
        let choice = Choice {
            tls_configured,
            plaintext: self.plaintext,
            token: self.token.is_some(),
            token_over_plaintext: self.token_over_plaintext,
        };
        security::transport(&self.target, choice)
    }

    /// Whether a token may go over this connection (the second half of the security rule).
    fn token_allowed(&self) -> bool {
        let loopback = Target::parse(&self.target).is_ok_and(|t| t.is_loopback());
        loopback || self.token_over_plaintext || matches!(self.transport(), Ok(Transport::Tls))
    }

    fn uri(&self) -> Result<String, Error> {
        let transport = self.transport()?;
        if self.target.contains("://") {
            return Ok(self.target.clone());
        }
        Ok(match transport {
            Transport::Tls => format!("https://{}", self.target),
            Transport::Plaintext => format!("http://{}", self.target),
        })
    }

    fn endpoint(&self) -> Result<Endpoint, Error> {
        let uri = self.uri()?;
        let mut endpoint = Endpoint::from_shared(uri.clone())
            .map_err(|_| Error::InvalidArgument(format!("invalid target {uri:?}")))?;
        #[cfg(feature = "tls")]
        if self.transport()? == Transport::Tls {
            let tls = self.tls.clone().unwrap_or_else(|| tonic::transport::ClientTlsConfig::new().with_enabled_roots());
            endpoint = endpoint.tls_config(tls)?;
        }
        if let Some(timeout) = self.connect_timeout {
            endpoint = endpoint.connect_timeout(timeout);
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

    fn transport(builder: ClientBuilder) -> Result<Transport, Code> {
        builder.transport().map_err(|e| e.code())
    }

    use tonic::Code;

    #[test]
    fn loopback_targets_are_plaintext_and_may_carry_a_token() {
        for target in ["127.0.0.1:1", "localhost:1", "[::1]:1", "http://127.0.0.1:1", "127.5.6.7:9", "LOCALHOST:1"] {
            assert_eq!(transport(Client::connect(target).token("t")), Ok(Transport::Plaintext), "{target}");
        }
        assert_eq!(Client::connect("127.0.0.1:1").uri().unwrap(), "http://127.0.0.1:1");
    }

    #[cfg(feature = "tls")]
    #[test]
    fn other_targets_get_tls_unless_plaintext_is_asked_for() {
        assert_eq!(transport(Client::connect("sessions.example:443")), Ok(Transport::Tls));
        assert_eq!(transport(Client::connect("10.0.0.8:50051").token("t")), Ok(Transport::Tls));
        assert_eq!(Client::connect("sessions.example:443").uri().unwrap(), "https://sessions.example:443");
        assert_eq!(transport(Client::connect("sessions.example:80").plaintext()), Ok(Transport::Plaintext));
        assert_eq!(Client::connect("h.example:1").plaintext().uri().unwrap(), "http://h.example:1");
    }

    #[test]
    fn an_explicit_http_scheme_to_another_host_still_needs_the_opt_in() {
        assert_eq!(transport(Client::connect("http://sessions.example:80")), Err(Code::InvalidArgument));
        assert_eq!(transport(Client::connect("http://sessions.example:80").plaintext()), Ok(Transport::Plaintext));
    }

    #[test]
    fn a_token_over_plaintext_to_another_host_is_refused_without_the_opt_in() {
        let refused = Client::connect("10.0.0.8:50051").plaintext().token("t");
        let err = refused.clone().build_lazy().unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert!(err.to_string().contains("allow_token_over_plaintext"), "{err}");
        assert_eq!(transport(refused.allow_token_over_plaintext()), Ok(Transport::Plaintext));
        assert_eq!(transport(Client::connect("10.0.0.8:50051").plaintext()), Ok(Transport::Plaintext));
    }

    #[tokio::test]
    async fn per_call_tokens_follow_the_same_rule() {
        let remote = Client::connect("10.0.0.8:50051").plaintext().build_lazy().unwrap();
        assert_eq!(remote.with_token("t").unwrap_err().code(), Code::InvalidArgument);
        let opted = Client::connect("10.0.0.8:50051").plaintext().allow_token_over_plaintext().build_lazy().unwrap();
        assert!(opted.with_token("t").is_ok());
        let local = Client::connect("127.0.0.1:1").build_lazy().unwrap();
        assert!(local.with_token("t").is_ok());
        assert!(local.with_token("bad\ntoken").is_err());
    }

    #[test]
    fn a_per_call_token_wins_over_the_channel_token() {
        let mut auth = Auth::new(Some("channel")).unwrap();
        let mut request = tonic::Request::new(());
        request.metadata_mut().insert("authorization", "Bearer call".parse().unwrap());
        assert_eq!(auth.call(request).unwrap().metadata().get("authorization").unwrap(), "Bearer call");
    }

    #[cfg(feature = "tls")]
    #[test]
    fn tls_is_used_when_asked_for_even_on_loopback() {
        let builder = Client::connect("localhost:1").tls(tonic::transport::ClientTlsConfig::new());
        assert_eq!(builder.uri().unwrap(), "https://localhost:1");
        assert_eq!(transport(Client::connect("https://127.0.0.1:1").token("t")), Ok(Transport::Tls));
        let mixed = Client::connect("http://localhost:1").tls(tonic::transport::ClientTlsConfig::new());
        assert_eq!(transport(mixed), Err(Code::InvalidArgument));
    }

    #[test]
    fn tokens_must_be_header_text() {
        assert!(Auth::new(Some("ok-token")).is_ok());
        assert_eq!(Auth::new(Some("bad\ntoken")).unwrap_err().code(), Code::InvalidArgument);
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
