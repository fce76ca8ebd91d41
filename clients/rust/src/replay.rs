//! ReplayService calls: append, list and subscribe to events; checkpoints; fork and rewind.

use futures_core::Stream;
use serde_json::Value as Json;

use crate::call::{cancelled, cancelled_error};
use crate::paging::paginate;
use crate::pb::{self, Checkpoint, Event, NewEvent, Session};
use crate::{json, Client, Error};

pub use crate::replay_control::Replay;

/// A point in a session's history: after an event, or at a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HistoryPoint {
    /// Just after the event with this seq.
    Seq(i64),
    /// At the checkpoint with this id.
    Checkpoint(String),
}

impl HistoryPoint {
    fn snapshot_ref(self) -> pb::SnapshotRef {
        let point = match self {
            HistoryPoint::Seq(seq) => pb::snapshot_ref::Point::Seq(seq),
            HistoryPoint::Checkpoint(id) => pb::snapshot_ref::Point::CheckpointId(id),
        };
        pb::SnapshotRef { point: Some(point) }
    }
}

impl NewEvent {
    /// A client event of `event_type` (outside the reserved prefixes) with a JSON object `payload`
    /// (`null` for none).
    pub fn json(event_type: impl Into<String>, payload: Json) -> Result<Self, Error> {
        let payload = match payload {
            Json::Null => None,
            other => Some(json::to_struct(&other)?),
        };
        Ok(NewEvent { r#type: event_type.into(), payload, ..Default::default() })
    }
}

impl Client {
    /// Appends client events atomically; with `expected_last_seq`, only if the log still ends there
    /// (else ABORTED / SEQ_MISMATCH). Returns the stored events with their seqs.
    pub async fn append_events(
        &self,
        session_id: &str,
        events: Vec<NewEvent>,
        expected_last_seq: Option<i64>,
    ) -> Result<Vec<Event>, Error> {
        let request = pb::AppendEventsRequest { session_id: session_id.into(), events, expected_last_seq };
        Ok(self.unary(self.replay.clone().append_events(self.request(request))).await?.events)
    }

    /// Fetches one page of events (after `after_seq`, of the `types` prefixes).
    pub async fn list_events(&self, request: pb::ListEventsRequest) -> Result<pb::ListEventsResponse, Error> {
        self.unary(self.replay.clone().list_events(self.request(request))).await
    }

    /// Every event matching `request`, page after page, as one stream.
    pub fn list_all_events(
        &self,
        request: pb::ListEventsRequest,
    ) -> impl Stream<Item = Result<Event, Error>> + Send + 'static {
        let client = self.clone();
        paginate(request.page_token.clone(), move |page_token| {
            let (client, request) = (client.clone(), pb::ListEventsRequest { page_token, ..request.clone() });
            async move {
                let page = client.list_events(request).await?;
                Ok((page.events, page.next_page_token))
            }
        })
    }

    /// The events after `after_seq` (of the `types` prefixes; all when empty), then live events as
    /// they are appended, in order, without gaps. The call starts when the stream is first polled
    /// and ends when the stream is dropped.
    pub fn subscribe_events(
        &self,
        session_id: &str,
        after_seq: i64,
        types: &[&str],
    ) -> impl Stream<Item = Result<Event, Error>> + Send + 'static {
        let mut replay = self.replay.clone();
        let request = self.request(pb::SubscribeEventsRequest {
            session_id: session_id.into(),
            after_seq,
            types: types.iter().map(|t| t.to_string()).collect(),
        });
        let cancel = self.options.cancel.clone();
        async_stream::try_stream! {
            let mut events = tokio::select! {
                biased;
                () = cancelled(cancel.as_ref()) => Err(cancelled_error()),
                response = replay.subscribe_events(request) => response.map_err(Error::from),
            }?.into_inner();
            loop {
                let event = tokio::select! {
                    biased;
                    () = cancelled(cancel.as_ref()) => Err(cancelled_error()),
                    event = events.message() => event.map_err(Error::from),
                }?;
                match event {
                    Some(event) => yield event,
                    None => break,
                }
            }
        }
    }

    /// The session exactly as it was at `at` (after an event, or at a checkpoint).
    pub async fn get_snapshot(&self, session_id: &str, at: HistoryPoint) -> Result<pb::GetSnapshotResponse, Error> {
        let point = Some(match at {
            HistoryPoint::Seq(seq) => pb::get_snapshot_request::Point::AtSeq(seq),
            HistoryPoint::Checkpoint(id) => pb::get_snapshot_request::Point::CheckpointId(id),
        });
        let request = pb::GetSnapshotRequest { session_id: session_id.into(), point };
        self.unary(self.replay.clone().get_snapshot(self.request(request))).await
    }

    /// What changed between two points of a session's history: state keys added, removed and
    /// changed, artifacts added and removed, and how many events lie between.
    pub async fn compare_snapshots(
        &self,
        session_id: &str,
        from: HistoryPoint,
        to: HistoryPoint,
    ) -> Result<pb::CompareSnapshotsResponse, Error> {
        let request = pb::CompareSnapshotsRequest {
            session_id: session_id.into(),
            from: Some(from.snapshot_ref()),
            to: Some(to.snapshot_ref()),
        };
        self.unary(self.replay.clone().compare_snapshots(self.request(request))).await
    }

    /// Starts replaying a session's events as `start` describes (range, mode, speed, breakpoints);
    /// the returned [`Replay`] yields the frames and sends the controls. Replay never changes the
    /// session.
    pub fn replay_session(&self, start: pb::ReplayStart) -> Replay {
        Replay::start(self, start)
    }

    /// Records a labelled checkpoint at the session's current seq.
    pub async fn create_checkpoint(&self, session_id: &str, label: &str) -> Result<Checkpoint, Error> {
        let request = pb::CreateCheckpointRequest { session_id: session_id.into(), label: label.into() };
        self.unary(self.replay.clone().create_checkpoint(self.request(request))).await
    }

    /// Fetches one page of a session's checkpoints.
    pub async fn list_checkpoints(
        &self,
        request: pb::ListCheckpointsRequest,
    ) -> Result<pb::ListCheckpointsResponse, Error> {
        self.unary(self.replay.clone().list_checkpoints(self.request(request))).await
    }

    /// A new ACTIVE child session named `name`, with the state and artifacts as they were at `at`.
    pub async fn fork_session(&self, session_id: &str, at: HistoryPoint, name: &str) -> Result<Session, Error> {
        let point = Some(match at {
            HistoryPoint::Seq(seq) => pb::fork_session_request::Point::AtSeq(seq),
            HistoryPoint::Checkpoint(id) => pb::fork_session_request::Point::CheckpointId(id),
        });
        let request = pb::ForkSessionRequest { session_id: session_id.into(), point, name: name.into() };
        self.unary(self.replay.clone().fork_session(self.request(request))).await
    }

    /// Restores the session's state and artifacts to `to` in place (history stays readable).
    pub async fn rewind_session(
        &self,
        session_id: &str,
        to: HistoryPoint,
        etag: Option<&str>,
    ) -> Result<Session, Error> {
        let point = Some(match to {
            HistoryPoint::Seq(seq) => pb::rewind_session_request::Point::ToSeq(seq),
            HistoryPoint::Checkpoint(id) => pb::rewind_session_request::Point::CheckpointId(id),
        });
        let etag = etag.unwrap_or_default().into();
        let request = pb::RewindSessionRequest { session_id: session_id.into(), point, etag };
        self.unary(self.replay.clone().rewind_session(self.request(request))).await
    }
}
