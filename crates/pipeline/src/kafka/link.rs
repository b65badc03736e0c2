//! The link between the producer and the sinks of `run`: the producer waits until the
//! consumer holds its partitions (so no order waits for the group to form), the sinks
//! stop once everything the producer delivered is durable, and on the embedded broker a
//! flow window keeps the producer from outrunning them.

use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::flow::FlowWindow;

/// Links the consumer of `run` with its producer: the producer waits until the consumer
/// holds its partitions (so no order waits for the group to form), and the consumer stops
/// once everything the producer delivered is durable.
#[derive(Debug, Default, Clone)]
pub struct RunLink {
    stop_at: Arc<Mutex<Option<BTreeMap<i32, i64>>>>,
    assigned: Arc<(Mutex<bool>, Condvar)>,
    flow: Option<Arc<FlowWindow>>,
}

impl RunLink {
    /// A link whose producer may not get further ahead of the sinks than a
    /// [`FlowWindow`] (for the embedded broker, which drops what it cannot keep).
    pub fn with_flow_window() -> Self {
        RunLink { flow: Some(Arc::default()), ..Default::default() }
    }

    /// The flow window, if the producer is held to one.
    pub fn flow(&self) -> Option<&Arc<FlowWindow>> {
        self.flow.as_ref()
    }

    /// Sets the last offset per partition that must be durable before stopping.
    pub fn stop_at(&self, last_offsets: BTreeMap<i32, i64>) {
        *self.stop_at.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(last_offsets);
    }

    /// Waits until the consumer got its first assignment; false on timeout.
    pub fn wait_assigned(&self, timeout: Duration) -> bool {
        let (flag, ready) = &*self.assigned;
        let guard = flag.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (guard, _) = ready
            .wait_timeout_while(guard, timeout, |assigned| !*assigned)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *guard
    }

    pub(super) fn mark_assigned(&self) {
        let (flag, ready) = &*self.assigned;
        *flag.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = true;
        ready.notify_all();
    }

    /// True once the producer has said where it stopped.
    pub(crate) fn is_set(&self) -> bool {
        self.stop_at.lock().unwrap_or_else(std::sync::PoisonError::into_inner).is_some()
    }

    /// True once every offset the producer delivered is below `durable_next`.
    pub(crate) fn reached(&self, durable_next: &BTreeMap<i32, i64>) -> bool {
        match &*self.stop_at.lock().unwrap_or_else(std::sync::PoisonError::into_inner) {
            Some(last) => last.iter().all(|(p, off)| durable_next.get(p).is_some_and(|n| n > off)),
            None => false,
        }
    }
}
