//! Graceful shutdown on SIGINT/SIGTERM, shared by every stage of a process.
//!
//! The first signal sets a flag that loops check between units of work, so producers
//! flush and sinks make their rows durable before exiting 0. A second signal exits at
//! once (code 130), for a user who does not want to wait.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A cloneable "please stop" flag.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    flag: Arc<AtomicBool>,
}

impl Shutdown {
    /// A flag that only [`Shutdown::request`] sets (for tests and embedded use).
    pub fn new() -> Self {
        Self::default()
    }

    /// A flag that SIGINT and SIGTERM set; a second signal terminates the process.
    pub fn on_signals() -> std::io::Result<Self> {
        let shutdown = Self::new();
        for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            signal_hook::flag::register_conditional_shutdown(signal, 130, shutdown.flag.clone())?;
            signal_hook::flag::register(signal, shutdown.flag.clone())?;
        }
        Ok(shutdown)
    }

    /// Asks every holder of this flag to stop.
    pub fn request(&self) {
        self.flag.store(true, Ordering::SeqCst);
    }

    /// True once a stop was asked.
    pub fn requested(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }

    /// Sleeps until `deadline` unless a stop is asked first; returns false in that case.
    pub fn sleep_until(&self, deadline: Instant) -> bool {
        loop {
            if self.requested() {
                return false;
            }
            let now = Instant::now();
            if now >= deadline {
                return true;
            }
            std::thread::sleep((deadline - now).min(Duration::from_millis(50)));
        }
    }
}
