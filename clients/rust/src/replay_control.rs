//! A running ReplaySession: frames in, controls (pause, resume, step, speed, breakpoints, stop) out.

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::call::{cancelled, cancelled_error};
use crate::pb::{self, replay_control::Control, ReplayControl, ReplayFrame};
use crate::{Client, Error};

/// A replay started by [`Client::replay_session`]: read frames with [`Replay::next_frame`] and steer
/// it with the control methods. Dropping it cancels the call.
///
/// ```no_run
/// # async fn run(client: llmspell_sessions_client::Client) -> Result<(), llmspell_sessions_client::Error> {
/// use llmspell_sessions_client::pb::{ReplayMode, ReplayStart};
/// let start = ReplayStart { session_id: "0190...".into(), mode: ReplayMode::Step as i32, ..Default::default() };
/// let mut replay = client.replay_session(start);
/// replay.step()?;
/// while let Some(frame) = replay.next_frame().await? {
///     println!("{} of {}: {:?}", frame.index, frame.total, frame.status());
///     replay.step()?;
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Replay {
    controls: mpsc::UnboundedSender<ReplayControl>,
    frames: mpsc::Receiver<Result<ReplayFrame, Error>>,
    call: JoinHandle<()>,
}

impl Replay {
    pub(crate) fn start(client: &Client, start: pb::ReplayStart) -> Replay {
        let (controls, mut control_rx) = mpsc::unbounded_channel();
        let (frame_tx, frames) = mpsc::channel(64);
        let first = ReplayControl { control: Some(Control::Start(start)) };
        let outbound = async_stream::stream! {
            yield first;
            while let Some(control) = control_rx.recv().await {
                yield control;
            }
        };
        let request = client.request(outbound);
        let mut service = client.replay.clone();
        let cancel = client.options.cancel.clone();
        // The call runs in its own task so that controls can be sent before the server answers.
        let call = tokio::spawn(async move {
            let pump = async {
                let mut stream = service.replay_session(request).await?.into_inner();
                while let Some(frame) = stream.message().await? {
                    if frame_tx.send(Ok(frame)).await.is_err() {
                        return Ok(());
                    }
                }
                Ok::<_, Error>(())
            };
            let outcome = tokio::select! {
                biased;
                () = cancelled(cancel.as_ref()) => Err(cancelled_error()),
                outcome = pump => outcome,
            };
            if let Err(error) = outcome {
                let _ = frame_tx.send(Err(error)).await;
            }
        });
        Replay { controls, frames, call }
    }

    /// The next frame, or `None` once the replay has ended (after its COMPLETED or STOPPED frame).
    pub async fn next_frame(&mut self) -> Result<Option<ReplayFrame>, Error> {
        self.frames.recv().await.transpose()
    }

    /// Pauses a timed or fast replay.
    pub fn pause(&self) -> Result<(), Error> {
        self.send(Control::Pause(pb::ReplayPause {}))
    }

    /// Resumes after a pause or a breakpoint.
    pub fn resume(&self) -> Result<(), Error> {
        self.send(Control::Resume(pb::ReplayResume {}))
    }

    /// Replays one event (step mode, or while paused).
    pub fn step(&self) -> Result<(), Error> {
        self.send(Control::Step(pb::ReplayStep {}))
    }

    /// Changes the speed of a timed replay (0.1 to 10).
    pub fn set_speed(&self, speed: f64) -> Result<(), Error> {
        self.send(Control::SetSpeed(pb::ReplaySetSpeed { speed }))
    }

    /// Stops before the event with this seq.
    pub fn add_breakpoint_at_seq(&self, seq: i64) -> Result<(), Error> {
        self.send(Control::AddBreakpoint(pb::ReplayAddBreakpoint { seq, event_type: String::new() }))
    }

    /// Stops before every event of this type.
    pub fn add_breakpoint_on_type(&self, event_type: &str) -> Result<(), Error> {
        self.send(Control::AddBreakpoint(pb::ReplayAddBreakpoint { seq: 0, event_type: event_type.into() }))
    }

    /// Ends the replay; the server answers with a STOPPED frame.
    pub fn stop(&self) -> Result<(), Error> {
        self.send(Control::Stop(pb::ReplayStop {}))
    }

    fn send(&self, control: Control) -> Result<(), Error> {
        self.controls
            .send(ReplayControl { control: Some(control) })
            .map_err(|_| Error::InvalidArgument("the replay has ended".into()))
    }
}

impl Drop for Replay {
    fn drop(&mut self) {
        self.call.abort();
    }
}
