//! Who may read the dashboard once it leaves loopback: a bearer token (Prometheus'
//! `authorization` or `bearer_token_file`, scripts) and/or a user and password (HTTP
//! basic auth, which a browser asks for). The health probes stay open.

use std::path::Path;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;

/// The credentials a request must carry; none set means open.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// The whole `Authorization` values accepted: `Bearer <token>`, `Basic <base64>`.
    accepted: Vec<String>,
}

/// A credentials file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct AccessError {
    path: String,
    reason: String,
}

impl Access {
    /// No credentials asked.
    pub fn open() -> Access {
        Access::default()
    }

    /// Reads the token file (one line, the token) and the basic-auth file (one line,
    /// `user:password`); either may be absent.
    pub fn from_files(token: Option<&Path>, basic: Option<&Path>) -> Result<Access, AccessError> {
        let read = |path: &Path| -> Result<String, AccessError> {
            let error = |reason: String| AccessError { path: path.display().to_string(), reason };
            let text =
                orderstream_runtime::files::read_text_bounded(path, orderstream_runtime::files::SECRET_LIMIT)
                    .map_err(|e| error(e.to_string()))?;
            let line = text.lines().next().unwrap_or("").trim().to_string();
            if line.is_empty() {
                return Err(error("the file is empty; it needs the secret on its first line".into()));
            }
            Ok(line)
        };
        let mut accepted = Vec::new();
        if let Some(path) = token {
            accepted.push(format!("Bearer {}", read(path)?));
        }
        if let Some(path) = basic {
            let pair = read(path)?;
            if !pair.contains(':') {
                return Err(AccessError {
                    path: path.display().to_string(),
                    reason: "expected user:password on the first line".into(),
                });
            }
            accepted.push(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair)));
        }
        Ok(Access { accepted })
    }

    /// Whether requests must carry credentials.
    pub fn is_required(&self) -> bool {
        !self.accepted.is_empty()
    }

    fn admits(&self, given: Option<&HeaderValue>) -> bool {
        let given = given.map(HeaderValue::as_bytes).unwrap_or_default();
        // Every accepted value is compared in full: the time taken tells nothing about
        // the secret but its length.
        self.accepted.iter().fold(false, |ok, want| constant_time_eq(want.as_bytes(), given) | ok)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// Refuses a request without accepted credentials, except the health probes.
pub(crate) async fn check(State(access): State<Arc<Access>>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if !access.is_required() || path == "/healthz" || path == "/readyz" {
        return next.run(request).await;
    }
    if access.admits(request.headers().get(header::AUTHORIZATION)) {
        return next.run(request).await;
    }
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Basic realm=\"orderstream\", charset=\"UTF-8\"")],
        "credentials required: a bearer token or the dashboard's user and password\n",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_configured_credentials_are_admitted() {
        let dir = tempfile::tempdir().unwrap();
        let (token, basic) = (dir.path().join("token"), dir.path().join("basic"));
        std::fs::write(&token, "s3cret\n").unwrap();
        std::fs::write(&basic, "anna:kowalska\n").unwrap();
        let access = Access::from_files(Some(&token), Some(&basic)).unwrap();
        let header = |v: &str| HeaderValue::from_str(v).unwrap();
        assert!(access.admits(Some(&header("Bearer s3cret"))));
        assert!(access.admits(Some(&header("Basic YW5uYTprb3dhbHNrYQ=="))));
        assert!(!access.admits(Some(&header("Bearer s3cre"))));
        assert!(!access.admits(None));
        std::fs::write(&basic, "no colon\n").unwrap();
        assert!(Access::from_files(None, Some(&basic)).is_err());
        assert!(!Access::open().is_required());
    }
}
