//! An async Rust client for llmspell-sessions: sessions, artifacts and replay over gRPC.
//!
//! ```no_run
//! use llmspell_sessions_client::{pb, Client, StateUpdate};
//! use serde_json::json;
//!
//! # async fn run() -> Result<(), llmspell_sessions_client::Error> {
//! let client = Client::connect("127.0.0.1:50051").await?;
//! let session = client
//!     .create_session(pb::CreateSessionRequest { name: "research".into(), ..Default::default() })
//!     .await?;
//! client.set_session_state(&session.session_id, StateUpdate::new().set("turn", json!(1))).await?;
//! # Ok(()) }
//! ```
//!
//! Secure by default: a target that is not loopback is reached over TLS unless
//! [`ClientBuilder::plaintext`] opts out, and a token never travels in plaintext to such a target
//! unless [`ClientBuilder::allow_token_over_plaintext`] says so.
//!
//! Every RPC of the three services has a method on [`Client`]; [`Client::with_timeout`],
//! [`Client::with_correlation_id`], [`Client::with_token`] and [`Client::with_cancel`] scope calls.
//! Uploads can be deduplicated ([`Client::upload_deduplicated`], with the server's FastCDC chunking
//! in [`chunking`]) and resumed ([`Client::resume_upload`]); whole downloads are verified against
//! the artifact's BLAKE3 digest, and [`Client::download_file`] only replaces its target once they are.
//!
//! Calls return [`Error`], which exposes the gRPC code, the server's `ErrorInfo` reason and its
//! `RetryInfo` delay. The generated messages and clients live in [`pb`]; [`json`] converts
//! `Struct`/`Value` to and from `serde_json`.

#![warn(missing_docs)]

mod archives;
mod artifacts;
mod call;
pub mod chunking;
mod client;
mod dedup;
mod error;
pub mod json;
mod messages;
mod paging;
mod replay;
mod replay_control;
mod security;
mod sessions;
#[cfg(test)]
mod tests;

/// The generated protobuf messages and tonic clients and servers of `llmspell.sessions.v1`.
#[allow(missing_docs, clippy::all)]
pub mod pb {
    tonic::include_proto!("llmspell.sessions.v1");
}

/// TLS configuration types, re-exported from tonic.
#[cfg(feature = "tls")]
pub mod tls {
    pub use tonic::transport::{Certificate, ClientTlsConfig, Identity};
}

pub use artifacts::UPLOAD_MESSAGE_SIZE;
pub use call::{CancelToken, CORRELATION_ID_HEADER};
pub use client::{Auth, AuthChannel, Client, ClientBuilder, DEFAULT_ADDRESS};
pub use dedup::{DedupUpload, DEDUP_MIN_SIZE};
pub use error::{code_name, Error, ErrorInfo, ERROR_DOMAIN};
pub use replay::{HistoryPoint, Replay};
pub use sessions::{LoadedSession, StateUpdate};
pub use tonic::Code;
