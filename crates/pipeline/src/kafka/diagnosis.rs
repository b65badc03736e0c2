//! Why a cluster cannot be reached: librdkafka reports a refused password, an untrusted
//! certificate or a wrong host name as client errors while it retries, and the request
//! that gives up only says "transport failure". [`reach`] serves those reports while it
//! waits, so the command ends with one line naming the cause, and at once when the
//! cause is one that retrying cannot cure.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::metadata::Metadata;
use rdkafka::types::RDKafkaErrorCode;

use super::{client_config, Cluster, KafkaStageError};

/// A client context that remembers the latest error librdkafka reported.
#[derive(Debug, Default)]
pub struct Diagnosis {
    latest: Mutex<Option<(String, bool)>>,
}

impl Diagnosis {
    /// The latest error reported, if any.
    pub fn cause(&self) -> Option<String> {
        self.latest().map(|(reason, _)| reason)
    }

    /// True when the latest error is one that retrying does not cure (credentials, a
    /// certificate, a TLS handshake).
    fn hopeless(&self) -> bool {
        self.latest().is_some_and(|(_, hopeless)| hopeless)
    }

    fn latest(&self) -> Option<(String, bool)> {
        self.latest.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}

impl ClientContext for Diagnosis {
    fn error(&self, error: KafkaError, reason: &str) {
        tracing::debug!(%error, reason, "librdkafka reported an error");
        let hopeless = matches!(
            error.rdkafka_error_code(),
            Some(
                RDKafkaErrorCode::Authentication
                    | RDKafkaErrorCode::SaslAuthenticationFailed
                    | RDKafkaErrorCode::SSL
            )
        );
        let mut latest = self.latest.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // "All brokers are down" follows the error that says why: keep that one.
        if error.rdkafka_error_code() == Some(RDKafkaErrorCode::AllBrokersDown) && latest.is_some() {
            return;
        }
        *latest = Some((reason.to_string(), hopeless));
    }
}

/// A probe joins no group: nothing to add to librdkafka's defaults.
impl ConsumerContext for Diagnosis {}

/// Waits up to `timeout` for the cluster to answer a metadata request (for `topic`, or
/// for all topics), serving librdkafka's error reports meanwhile; the error names their
/// cause. Returns the connected probe and the metadata it read.
pub fn reach(
    cluster: &Cluster,
    topic: Option<&str>,
    timeout: Duration,
) -> Result<(BaseConsumer<Diagnosis>, Metadata), KafkaStageError> {
    let probe: BaseConsumer<Diagnosis> =
        client_config(cluster, "probe").create_with_context(Diagnosis::default())?;
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let error = match probe.fetch_metadata(topic, left.min(Duration::from_millis(500))) {
            Ok(metadata) => return Ok((probe, metadata)),
            Err(error) => error,
        };
        // Serves the error events, which is where the cause arrives.
        let _ = probe.poll(Duration::ZERO);
        if Instant::now() >= deadline || probe.context().hopeless() {
            let reason = match probe.context().cause() {
                Some(cause) if cause.contains("certificate verify failed") => match refused_certificate(cluster) {
                    Some(why) => format!("{why}; {cause}"),
                    None => cause,
                },
                Some(cause) => cause,
                // librdkafka told nothing in time (it may still be trying another
                // address of the host): a certificate our own handshake refuses is the
                // likely cause.
                None => match tls(cluster).then(|| refused_certificate(cluster)).flatten() {
                    Some(why) => format!("{why} (no answer within {timeout:?})"),
                    None => format!(
                        "no answer within {timeout:?} ({error}); is the broker running (scripts/kafka-local start)?"
                    ),
                },
            };
            return Err(KafkaStageError::Unreachable { brokers: cluster.to_string(), timeout, reason });
        }
    }
}

/// Whether the cluster is reached over TLS.
fn tls(cluster: &Cluster) -> bool {
    cluster
        .setting("security.protocol")
        .is_some_and(|p| p.eq_ignore_ascii_case("ssl") || p.eq_ignore_ascii_case("sasl_ssl"))
}

/// Why the broker's certificate was refused, as far as our own handshake can tell.
fn refused_certificate(cluster: &Cluster) -> Option<String> {
    let check_host = cluster.setting("ssl.endpoint.identification.algorithm") != Some("none");
    super::certificate::explain(
        cluster.bootstrap(),
        cluster.setting("ssl.ca.location"),
        check_host,
        Duration::from_secs(3),
    )
}
