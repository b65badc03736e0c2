//! What every long-running stage shares: counters ([`stats`]), progress lines ([`progress`]) and the
//! handling of SIGINT/SIGTERM with a bounded grace period ([`shutdown`]). Below the
//! generator and the pipeline, and free of Kafka.

pub mod progress;
pub mod shutdown;
pub mod stats;

// The crates below this one, under the names the modules use.
use orderstream_model as order;
