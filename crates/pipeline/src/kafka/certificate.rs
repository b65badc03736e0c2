//! Why a broker's certificate was refused. librdkafka reports every failed verification
//! as "certificate verify failed ... verify that ssl.ca.location is correctly
//! configured", whether the certificate expired, names another host or comes from an
//! unknown CA. A TLS handshake of our own with the same CA file names the actual cause.

use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, ClientConnection, RootCertStore};

/// Where Debian and most distributions keep the system's CA bundle (librdkafka's own
/// default when `ssl.ca.location` is not set).
const SYSTEM_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// The cause, in a few words, of a refused certificate of the first broker of
/// `bootstrap` (`host:port,...`), verified against `ca_location` or the system's CAs;
/// `None` when our handshake cannot tell (or finds nothing wrong).
pub(super) fn explain(
    bootstrap: &str,
    ca_location: Option<&str>,
    check_host: bool,
    timeout: Duration,
) -> Option<String> {
    let first = bootstrap.split(',').next()?.trim();
    let address = first.rsplit_once("://").map_or(first, |(_, rest)| rest);
    let (host, _) = address.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let ca = ca_location.unwrap_or(SYSTEM_BUNDLE);
    let roots = roots(Path::new(ca))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier =
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build().ok()?;
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .ok()?
        .with_webpki_verifier(verifier)
        .with_no_client_auth();
    let name = ServerName::try_from(host.to_string()).ok()?;
    // `localhost` names ::1 and 127.0.0.1: the first that answers.
    let mut stream = address
        .to_socket_addrs()
        .ok()?
        .find_map(|socket| TcpStream::connect_timeout(&socket, timeout).ok())?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    stream.set_write_timeout(Some(timeout)).ok()?;
    let mut tls = ClientConnection::new(Arc::new(config), name).ok()?;
    while tls.is_handshaking() {
        if let Err(error) = tls.complete_io(&mut stream) {
            return describe(&error, host, ca, check_host);
        }
    }
    None
}

fn roots(ca: &Path) -> Option<RootCertStore> {
    let mut roots = RootCertStore::empty();
    for certificate in CertificateDer::pem_file_iter(ca).ok()? {
        roots.add(certificate.ok()?).ok()?;
    }
    (!roots.is_empty()).then_some(roots)
}

fn describe(error: &io::Error, host: &str, ca: &str, check_host: bool) -> Option<String> {
    let rustls::Error::InvalidCertificate(problem) = error.get_ref()?.downcast_ref::<rustls::Error>()? else {
        return None;
    };
    Some(match problem {
        CertificateError::Expired => "the broker's certificate has expired".into(),
        CertificateError::ExpiredContext { not_after, .. } => {
            format!("the broker's certificate has expired (valid until {})", date(*not_after))
        }
        CertificateError::NotValidYet => "the broker's certificate is not valid yet".into(),
        CertificateError::NotValidYetContext { not_before, .. } => {
            format!("the broker's certificate is not valid yet (valid from {})", date(*not_before))
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
            if !check_host =>
        {
            return None
        }
        CertificateError::NotValidForName => {
            format!("the broker's certificate is not for the host name {host}")
        }
        CertificateError::NotValidForNameContext { presented, .. } => format!(
            "the broker's certificate is not for the host name {host} (it names {})",
            presented.iter().map(|name| bare(name)).collect::<Vec<_>>().join(", ")
        ),
        CertificateError::UnknownIssuer => {
            format!("the broker's certificate is not signed by a CA in {ca}")
        }
        CertificateError::Revoked => "the broker's certificate has been revoked".into(),
        other => format!("the broker's certificate is refused: {other:?}"),
    })
}

/// `DnsName("kafka-1")` or `IpAddress(10.0.0.1)`, as rustls lists them, without the
/// wrapping.
fn bare(name: &str) -> &str {
    let inner = name.split_once('(').map_or(name, |(_, rest)| rest.strip_suffix(')').unwrap_or(rest));
    inner.trim_matches('"')
}

fn date(time: UnixTime) -> String {
    chrono::DateTime::from_timestamp(time.as_secs().min(i64::MAX as u64) as i64, 0).map_or_else(
        || format!("{} s after 1970", time.as_secs()),
        |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}
