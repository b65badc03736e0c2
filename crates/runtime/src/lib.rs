//! What every long-running stage shares: counters ([`stats`]), progress lines ([`progress`]), the
//! handling of SIGINT/SIGTERM with a bounded grace period ([`shutdown`]), bounded reads
//! of the files a user names ([`files`]) and URLs without their passwords ([`userinfo`]). Below the
//! generator and the pipeline, and free of Kafka.

pub mod files;
pub mod progress;
pub mod shutdown;
pub mod stats;
pub mod userinfo;

// The crates below this one, under the names the modules use.
use orderstream_model as order;
