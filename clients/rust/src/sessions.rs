//! SessionService calls: create, get, list (by page or as one stream), update, lifecycle, state.

use futures_core::Stream;
use prost_types::FieldMask;
use serde_json::{Map, Value as Json};

use crate::json;
use crate::paging::paginate;
use crate::pb::{self, Artifact, Session};
use crate::{Client, Error};

/// A session as returned by [`Client::load_session`]: record, whole state and latest artifact versions.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadedSession {
    /// The session record.
    pub session: Session,
    /// Every state key with its value.
    pub state: Map<String, Json>,
    /// The latest version of each artifact name (metadata only).
    pub artifacts: Vec<Artifact>,
}

/// Keys to set and keys to delete in one [`Client::set_session_state`] call (one `state.changed` event).
///
/// ```
/// use llmspell_sessions_client::StateUpdate;
/// use serde_json::json;
/// let update = StateUpdate::new().set("turn", json!(2)).delete("draft").etag("e7");
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StateUpdate {
    /// Keys to set, with their new values.
    pub entries: Map<String, Json>,
    /// Keys to remove.
    pub delete_keys: Vec<String>,
    /// When non-empty, the call fails with ABORTED / ETAG_MISMATCH unless it is the session's etag.
    pub etag: String,
}

impl StateUpdate {
    /// An update that changes nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to `value`.
    pub fn set(mut self, key: impl Into<String>, value: Json) -> Self {
        self.entries.insert(key.into(), value);
        self
    }

    /// Deletes `key`.
    pub fn delete(mut self, key: impl Into<String>) -> Self {
        self.delete_keys.push(key.into());
        self
    }

    /// Applies the update only if the session's etag is still `etag`.
    pub fn etag(mut self, etag: impl Into<String>) -> Self {
        self.etag = etag.into();
        self
    }
}

impl Client {
    /// Creates an ACTIVE session (fields of the request: name, description, tags, metadata, ...).
    pub async fn create_session(&self, request: pb::CreateSessionRequest) -> Result<Session, Error> {
        self.unary(self.sessions.clone().create_session(self.request(request))).await
    }

    /// Fetches one session.
    pub async fn get_session(&self, session_id: &str) -> Result<Session, Error> {
        let request = pb::GetSessionRequest { session_id: session_id.into() };
        self.unary(self.sessions.clone().get_session(self.request(request))).await
    }

    /// Fetches one page of sessions; pass `next_page_token` back as `page_token` for the next one.
    pub async fn list_sessions(&self, request: pb::ListSessionsRequest) -> Result<pb::ListSessionsResponse, Error> {
        self.unary(self.sessions.clone().list_sessions(self.request(request))).await
    }

    /// Every session matching `request`, page after page, as one stream.
    pub fn list_all_sessions(
        &self,
        request: pb::ListSessionsRequest,
    ) -> impl Stream<Item = Result<Session, Error>> + Send + 'static {
        let client = self.clone();
        paginate(request.page_token.clone(), move |page_token| {
            let (client, request) = (client.clone(), pb::ListSessionsRequest { page_token, ..request.clone() });
            async move {
                let page = client.list_sessions(request).await?;
                Ok((page.sessions, page.next_page_token))
            }
        })
    }

    /// Changes the fields named in `paths` (`name`, `description`, `tags`, `metadata`) to their
    /// values in `session`; a non-empty `session.etag` must still be current.
    pub async fn update_session(&self, session: Session, paths: &[&str]) -> Result<Session, Error> {
        let update_mask = Some(FieldMask { paths: paths.iter().map(|p| p.to_string()).collect() });
        let request = pb::UpdateSessionRequest { session: Some(session), update_mask };
        self.unary(self.sessions.clone().update_session(self.request(request))).await
    }

    /// ACTIVE → SUSPENDED. With `etag`, only if the session is unchanged since.
    pub async fn suspend_session(&self, session_id: &str, etag: Option<&str>) -> Result<Session, Error> {
        let request =
            pb::SuspendSessionRequest { session_id: session_id.into(), etag: etag.unwrap_or_default().into() };
        self.unary(self.sessions.clone().suspend_session(self.request(request))).await
    }

    /// SUSPENDED → ACTIVE.
    pub async fn resume_session(&self, session_id: &str, etag: Option<&str>) -> Result<Session, Error> {
        let request = pb::ResumeSessionRequest { session_id: session_id.into(), etag: etag.unwrap_or_default().into() };
        self.unary(self.sessions.clone().resume_session(self.request(request))).await
    }

    /// ACTIVE or SUSPENDED → COMPLETED.
    pub async fn complete_session(&self, session_id: &str, etag: Option<&str>) -> Result<Session, Error> {
        let request =
            pb::CompleteSessionRequest { session_id: session_id.into(), etag: etag.unwrap_or_default().into() };
        self.unary(self.sessions.clone().complete_session(self.request(request))).await
    }

    /// ACTIVE or SUSPENDED → FAILED, recording `reason`.
    pub async fn fail_session(&self, session_id: &str, reason: &str, etag: Option<&str>) -> Result<Session, Error> {
        let request = pb::FailSessionRequest {
            session_id: session_id.into(),
            reason: reason.into(),
            etag: etag.unwrap_or_default().into(),
        };
        self.unary(self.sessions.clone().fail_session(self.request(request))).await
    }

    /// COMPLETED or FAILED → ARCHIVED (read-only, hidden from listings unless asked for).
    pub async fn archive_session(&self, session_id: &str, etag: Option<&str>) -> Result<Session, Error> {
        let request =
            pb::ArchiveSessionRequest { session_id: session_id.into(), etag: etag.unwrap_or_default().into() };
        self.unary(self.sessions.clone().archive_session(self.request(request))).await
    }

    /// Deletes the session with its artifacts, state, events and checkpoints.
    pub async fn delete_session(&self, session_id: &str, etag: Option<&str>) -> Result<(), Error> {
        let request = pb::DeleteSessionRequest { session_id: session_id.into(), etag: etag.unwrap_or_default().into() };
        self.unary(self.sessions.clone().delete_session(self.request(request))).await?;
        Ok(())
    }

    /// Completes, fails, archives or deletes one page of the sessions `request.filter` selects (a
    /// ListSessions filter without its paging fields), oldest first, each through the single call's
    /// rules; refused sessions come back in `skipped` with the reason. Pass `next_page_token` back as
    /// `page_token` to go on; with `dry_run` nothing changes.
    pub async fn bulk_session_action(
        &self,
        request: pb::BulkSessionActionRequest,
    ) -> Result<pb::BulkSessionActionResponse, Error> {
        self.unary(self.sessions.clone().bulk_session_action(self.request(request))).await
    }

    /// Returns once the session and everything written before it is durable on disk.
    pub async fn save_session(&self, session_id: &str) -> Result<Session, Error> {
        let request = pb::SaveSessionRequest { session_id: session_id.into() };
        self.unary(self.sessions.clone().save_session(self.request(request))).await
    }

    /// The whole restorable session in one call.
    pub async fn load_session(&self, session_id: &str) -> Result<LoadedSession, Error> {
        let request = pb::LoadSessionRequest { session_id: session_id.into() };
        let loaded = self.unary(self.sessions.clone().load_session(self.request(request))).await?;
        Ok(LoadedSession {
            session: loaded.session.ok_or_else(|| Error::Protocol("LoadSession returned no session".into()))?,
            state: json::fields_to_map(&loaded.state),
            artifacts: loaded.artifacts,
        })
    }

    /// Sets and deletes state keys in one step; returns the updated session.
    pub async fn set_session_state(&self, session_id: &str, update: StateUpdate) -> Result<Session, Error> {
        let request = pb::SetSessionStateRequest {
            session_id: session_id.into(),
            entries: json::map_to_fields(&update.entries),
            delete_keys: update.delete_keys,
            etag: update.etag,
        };
        self.unary(self.sessions.clone().set_session_state(self.request(request))).await
    }

    /// The values of `keys` (missing keys are left out), or of every key when `keys` is empty.
    pub async fn get_session_state(&self, session_id: &str, keys: &[&str]) -> Result<Map<String, Json>, Error> {
        let request = pb::GetSessionStateRequest {
            session_id: session_id.into(),
            keys: keys.iter().map(|k| k.to_string()).collect(),
        };
        let response = self.unary(self.sessions.clone().get_session_state(self.request(request))).await?;
        Ok(json::fields_to_map(&response.entries))
    }

    /// One framework write in one atomic commit: state sets, create-only sets and deletes (one
    /// `state.changed` event), then the request's client events; returns the session and every
    /// event appended.
    pub async fn apply_changes(&self, request: pb::ApplyChangesRequest) -> Result<pb::ApplyChangesResponse, Error> {
        self.unary(self.sessions.clone().apply_changes(self.request(request))).await
    }

    /// One framework read in one call: the record, chosen state keys, a page of keys under a
    /// prefix, the last events and the latest artifacts by name.
    pub async fn read_session(&self, request: pb::ReadSessionRequest) -> Result<pb::ReadSessionResponse, Error> {
        self.unary(self.sessions.clone().read_session(self.request(request))).await
    }

    /// Lets `subject` (of the caller's tenant) read, or read and write, the session. Admins only.
    pub async fn grant_session_access(
        &self,
        session_id: &str,
        subject: &str,
        access: pb::SessionAccess,
    ) -> Result<Session, Error> {
        let request = pb::GrantSessionAccessRequest {
            session_id: session_id.into(),
            subject: subject.into(),
            access: access as i32,
        };
        self.unary(self.sessions.clone().grant_session_access(self.request(request))).await
    }

    /// Takes back the grant of `subject`. Admins only.
    pub async fn revoke_session_access(&self, session_id: &str, subject: &str) -> Result<Session, Error> {
        let request = pb::RevokeSessionAccessRequest { session_id: session_id.into(), subject: subject.into() };
        self.unary(self.sessions.clone().revoke_session_access(self.request(request))).await
    }
}
