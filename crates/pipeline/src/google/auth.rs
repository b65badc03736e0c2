//! OAuth 2.0 for service accounts: a JWT signed with the account's key (RS256) is
//! exchanged at the key file's `token_uri` for an access token, which is cached and
//! replaced before it expires.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, Header};
use tracing::{debug, info};

use super::creds::ServiceAccountKey;

/// Lifetime asked for in the JWT; Google allows at most an hour.
const ASSERTION_LIFETIME_SECS: u64 = 3600;

/// Why no access token could be had.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The token endpoint refused the key (deleted, disabled, wrong clock, ...).
    #[error("the token endpoint {token_uri} rejected the key of {client_email}: HTTP {status} {error}; check that the key is not deleted or disabled (create a new one if so) and that this machine's clock is right")]
    Rejected {
        /// Where the JWT was sent.
        token_uri: String,
        /// The service account.
        client_email: String,
        /// The HTTP status.
        status: u16,
        /// The endpoint's `error: error_description`.
        error: String,
    },
    /// The endpoint could not be reached or answered nonsense; worth retrying.
    #[error("token endpoint {token_uri}: {reason}")]
    Unavailable {
        /// Where the JWT was sent.
        token_uri: String,
        /// What went wrong.
        reason: String,
    },
}

#[derive(serde::Serialize)]
struct Claims<'a> {
    iss: &'a str,
    scope: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
}

#[derive(serde::Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: u64,
}

#[derive(serde::Deserialize, Default)]
struct TokenError {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
}

/// Hands out a valid access token, asking for a new one only when needed.
pub struct TokenSource {
    key: ServiceAccountKey,
    /// The scopes asked for, space-separated.
    scopes: &'static str,
    agent: ureq::Agent,
    cached: Option<(String, Instant)>,
    /// Tokens obtained so far: the first sign-in is logged at info, renewals at debug.
    fetched: u64,
}

impl TokenSource {
    /// A source for `key` asking for `scopes` (space-separated); no request is made yet.
    pub fn new(key: ServiceAccountKey, scopes: &'static str, agent: ureq::Agent) -> Self {
        TokenSource { key, scopes, agent, cached: None, fetched: 0 }
    }

    /// The service account's e-mail.
    pub fn client_email(&self) -> &str {
        &self.key.client_email
    }

    /// A token valid for a while yet: cached, or fresh once the old one is in its last
    /// quarter (at most 5 minutes before it expires).
    pub fn token(&mut self) -> Result<String, AuthError> {
        if let Some((token, refresh_at)) = &self.cached {
            if Instant::now() < *refresh_at {
                return Ok(token.clone());
            }
        }
        let (token, lifetime) = self.fetch()?;
        let margin = (lifetime / 4).min(Duration::from_secs(300));
        self.cached = Some((token.clone(), Instant::now() + lifetime - margin));
        Ok(token)
    }

    /// Forgets the cached token (after the API said 401).
    pub fn invalidate(&mut self) {
        self.cached = None;
    }

    fn assertion(&self) -> Result<String, AuthError> {
        let iat = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let claims = Claims {
            iss: &self.key.client_email,
            scope: self.scopes,
            aud: &self.key.token_uri,
            iat,
            exp: iat + ASSERTION_LIFETIME_SECS,
        };
        let mut header = Header::new(Algorithm::RS256);
        header.kid = self.key.private_key_id.clone();
        jsonwebtoken::encode(&header, &claims, &self.key.signing_key).map_err(|e| AuthError::Unavailable {
            token_uri: self.key.token_uri.clone(),
            reason: format!("cannot sign the JWT: {e}"),
        })
    }

    fn fetch(&mut self) -> Result<(String, Duration), AuthError> {
        let assertion = self.assertion()?;
        let unavailable =
            |reason: String| AuthError::Unavailable { token_uri: self.key.token_uri.clone(), reason };
        let mut response = self
            .agent
            .post(&self.key.token_uri)
            .send_form([
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("assertion", &assertion),
            ])
            .map_err(|e| unavailable(e.to_string()))?;
        let status = response.status().as_u16();
        let body = response.body_mut().read_to_string().map_err(|e| unavailable(e.to_string()))?;
        if status >= 500 || status == 429 {
            return Err(unavailable(format!("HTTP {status}: {}", body.trim())));
        }
        if status != 200 {
            let parsed: TokenError = serde_json::from_str(&body).unwrap_or_default();
            let error = if parsed.error.is_empty() {
                body.trim().to_string()
            } else {
                format!("{}: {}", parsed.error, parsed.error_description)
            };
            return Err(AuthError::Rejected {
                token_uri: self.key.token_uri.clone(),
                client_email: self.key.client_email.clone(),
                status,
                error,
            });
        }
        let token: TokenResponse =
            serde_json::from_str(&body).map_err(|e| unavailable(format!("unexpected answer ({e})")))?;
        self.fetched += 1;
        if self.fetched == 1 {
            info!(account = %self.key.client_email, token_uri = %self.key.token_uri, expires_in = token.expires_in, "signed in to Google");
        } else {
            debug!(expires_in = token.expires_in, "access token refreshed");
        }
        Ok((token.access_token, Duration::from_secs(token.expires_in.max(1))))
    }
}
