//! Streams that go on as things happen (`tpm logs --follow`, `tpm events --follow`): a
//! thread follows and sends what comes into a channel; the stream Nushell reads takes from it.
//!
//! Following ends when Nushell is interrupted (ctrl-c), when the stream is dropped (`first 2`
//! has what it wanted: the next thing followed finds nobody to send it to), or when Nushell
//! itself has gone (checked while nothing comes). The last matters because the plugin's
//! runner waits for the stream to end before the plugin may exit: without it, a plugin
//! following something quiet would outlive the `nu` that started it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::time::Duration;

use nu_plugin::EngineInterface;
use nu_protocol::{LabeledError, ListStream, PipelineData, ShellError, Signals, Span, Value};

/// How often the stream, waiting for something to come, checks that Nushell is still there.
const CHECK_EVERY: Duration = Duration::from_millis(250);

/// The following thread's side: whether to go on, and where to send what it finds.
pub struct Follower<T> {
    tx: SyncSender<Result<T, LabeledError>>,
    stop: Arc<AtomicBool>,
    signals: Signals,
}

impl<T> Follower<T> {
    /// False once the stream was dropped or Nushell interrupted.
    pub fn keep_going(&self) -> bool {
        !self.stop.load(Ordering::Relaxed) && !self.signals.interrupted()
    }

    /// Sends one thing to the stream; false when nobody reads it any more.
    pub fn send(&self, item: T) -> bool {
        self.tx.send(Ok(item)).is_ok()
    }

    /// Ends the stream with an error.
    pub fn fail(&self, error: LabeledError) {
        let _ = self.tx.send(Err(error));
    }
}

/// Runs `follow` on a thread named `what`; returns the stream of what it sends, each turned
/// into a value by `to_value`.
pub fn stream<T: Send + 'static>(
    engine: &EngineInterface,
    head: Span,
    what: &str,
    follow: impl FnOnce(&Follower<T>) + Send + 'static,
    to_value: impl Fn(&T, Span) -> Value + Send + 'static,
) -> Result<PipelineData, LabeledError> {
    let signals = engine.signals().clone();
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = sync_channel(256);
    let follower = Follower {
        tx,
        stop: stop.clone(),
        signals: signals.clone(),
    };
    std::thread::Builder::new()
        .name(what.into())
        .spawn(move || follow(&follower))
        .map_err(|e| {
            LabeledError::new(format!("cannot start {what}: {e}")).with_label("here", head)
        })?;
    let following = Following {
        rx,
        stop,
        nushell: std::os::unix::process::parent_id(),
    };
    let rows = following.map(move |item| match item {
        Ok(item) => to_value(&item, head),
        Err(e) => Value::error(ShellError::from(e), head),
    });
    Ok(PipelineData::list_stream(
        ListStream::new(rows, head, signals),
        None,
    ))
}

/// The stream's side. Dropping it (the stream's reader went away) tells the following thread
/// to end.
struct Following<T> {
    rx: Receiver<Result<T, LabeledError>>,
    stop: Arc<AtomicBool>,
    /// The plugin's parent: Nushell, while it runs.
    nushell: u32,
}

impl<T> Iterator for Following<T> {
    type Item = Result<T, LabeledError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.rx.recv_timeout(CHECK_EVERY) {
                Ok(item) => return Some(item),
                Err(RecvTimeoutError::Disconnected) => return None,
                // Nushell gone: the plugin is an orphan, and nobody will read this.
                Err(RecvTimeoutError::Timeout)
                    if std::os::unix::process::parent_id() != self.nushell =>
                {
                    return None
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
    }
}

impl<T> Drop for Following<T> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
