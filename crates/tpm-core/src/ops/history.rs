//! `tpm events`: reading and following the event history (see `events`).

use super::Tpm;
use crate::error::{Error, Result};
use crate::events::{self, Event};
use crate::name::Name;

impl Tpm {
    /// The last `last` events of `names` since `since_ms`, oldest first.
    pub fn events(&self, names: &[Name], since_ms: i64, last: usize) -> Vec<Event> {
        events::read_all(&self.store, names, since_ms, last)
    }

    /// New events of `names` (`None`: every process, those created meanwhile too) as they
    /// are written; see [`events::follow`].
    pub fn follow_events(
        &self,
        names: Option<&[Name]>,
        keep_going: impl FnMut() -> bool,
        on_event: impl FnMut(Event) -> bool,
    ) -> Result<()> {
        events::follow(&self.store, names, keep_going, on_event)
            .map_err(|e| Error::io("cannot follow the events in", self.store.events_dir(), e))
    }
}
