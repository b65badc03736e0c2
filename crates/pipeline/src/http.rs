//! The one way the pipeline's HTTP clients (Google's APIs, the schema registry) are made.

use std::time::Duration;

/// A client that hands back every status (the callers read Google's and the registry's
/// error bodies), gives up on a request after `timeout`, and names itself.
pub(crate) fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .user_agent(concat!("orderstream/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}
