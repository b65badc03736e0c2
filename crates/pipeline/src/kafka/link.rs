//! The link between the producer and the sinks of `run`: the producer waits until every
//! sink holds its partitions (so no order waits for a group to form), the sinks
//! stop once everything the producer delivered is durable, and on the embedded broker a
//! flow window keeps the producer from outrunning them.

use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::flow::FlowWindow;

/// Links the sinks of `run` with its producer: the producer waits until every sink holds
/// its partitions (so no order waits for a group to form, and no sink finds the topic
/// already past where it resumes), and the sinks stop once everything the producer
/// delivered is durable.
#[derive(Debug, Default, Clone)]
pub struct RunLink {
    stop_at: Arc<Mutex<Option<BTreeMap<i32, i64>>>>,
    /// Each sink's name, and whether it holds partitions yet.
    assigned: Arc<(Mutex<BTreeMap<&'static str, bool>>, Condvar)>,
    /// The sink this copy of the link belongs to.
    member: Option<&'static str>,
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

    /// The link for sink `name`, which the producer now waits for too.
    pub fn member(&self, name: &'static str) -> RunLink {
        let (sinks, _) = &*self.assigned;
        sinks.lock().unwrap_or_else(std::sync::PoisonError::into_inner).entry(name).or_insert(false);
        RunLink { member: Some(name), ..self.clone() }
    }

    /// Waits until every sink got its first assignment; false on timeout (or with no
    /// sink linked yet).
    pub fn wait_assigned(&self, timeout: Duration) -> bool {
        let (sinks, ready) = &*self.assigned;
        let guard = sinks.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let all = |sinks: &BTreeMap<&str, bool>| !sinks.is_empty() && sinks.values().all(|a| *a);
        let (guard, _) = ready
            .wait_timeout_while(guard, timeout, |sinks| !all(sinks))
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        all(&guard)
    }

    /// The sinks still without partitions, for the producer's log.
    pub fn waiting_for(&self) -> Vec<&'static str> {
        let (sinks, _) = &*self.assigned;
        let guard = sinks.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        guard.iter().filter(|(_, assigned)| !**assigned).map(|(name, _)| *name).collect()
    }

    /// This sink has stopped: the producer no longer waits for its partitions.
    pub fn leave(&self) {
        let (sinks, ready) = &*self.assigned;
        if let Some(name) = self.member {
            sinks.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(name);
        }
        ready.notify_all();
    }

    pub(super) fn mark_assigned(&self) {
        let (sinks, ready) = &*self.assigned;
        let name = self.member.unwrap_or("sink");
        sinks.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(name, true);
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
