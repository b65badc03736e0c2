//! The service-account key file (`creds.json`) that Google Cloud's console downloads.

use std::path::{Path, PathBuf};

use jsonwebtoken::EncodingKey;

/// A key file that cannot be used, with what is wrong and where.
#[derive(Debug, thiserror::Error)]
#[error("service-account key {path}: {problem}; download a JSON key of the service account (Google Cloud console > IAM > Service accounts > Keys) and pass it with --sheets-creds or --bigquery-creds (or GOOGLE_APPLICATION_CREDENTIALS)")]
pub struct CredsError {
    /// The key file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub problem: String,
}

/// The fields of a key file that the sink uses (Google adds others; they are ignored).
#[derive(Debug, serde::Deserialize)]
struct KeyFile {
    #[serde(rename = "type")]
    kind: Option<String>,
    client_email: Option<String>,
    private_key_id: Option<String>,
    private_key: Option<String>,
    token_uri: Option<String>,
}

/// A parsed, usable service-account key.
#[derive(Clone)]
pub struct ServiceAccountKey {
    /// The account's e-mail: the spreadsheet must be shared with it.
    pub client_email: String,
    /// Names the key in the JWT header (`kid`).
    pub private_key_id: Option<String>,
    /// Where the signed JWT is exchanged for an access token.
    pub token_uri: String,
    /// The RSA key that signs the JWT.
    pub signing_key: EncodingKey,
}

impl std::fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

impl ServiceAccountKey {
    /// Reads and checks a key file.
    pub fn load(path: &Path) -> Result<Self, CredsError> {
        let fail = |problem: String| CredsError { path: path.to_path_buf(), problem };
        let text = orderstream_runtime::files::read_bounded(path, orderstream_runtime::files::SETTINGS_LIMIT)
            .map_err(|e| fail(format!("cannot read it: {e}")))?;
        Self::parse(&text).map_err(fail)
    }

    /// Checks the contents of a key file; the error says which field is wrong.
    pub fn parse(text: &[u8]) -> Result<Self, String> {
        let file: KeyFile = serde_json::from_slice(text).map_err(|e| format!("not valid JSON ({e})"))?;
        match file.kind.as_deref() {
            Some("service_account") => {}
            Some(other) => {
                return Err(format!(
                    "field \"type\" is {other:?}, not \"service_account\" (a user or OAuth client file cannot sign in on its own)"
                ))
            }
            None => return Err("field \"type\" is missing".into()),
        }
        let required = |value: Option<String>, name: &str| {
            value
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| format!("field {name:?} is missing or empty"))
        };
        let client_email = required(file.client_email, "client_email")?;
        let token_uri = required(file.token_uri, "token_uri")?;
        if !(token_uri.starts_with("https://") || token_uri.starts_with("http://")) {
            return Err(format!("field \"token_uri\" is {token_uri:?}, not an http(s) URL"));
        }
        let pem = required(file.private_key, "private_key")?;
        let signing_key = EncodingKey::from_rsa_pem(pem.as_bytes())
            .map_err(|e| format!("field \"private_key\" is not an RSA private key in PEM ({e})"))?;
        Ok(ServiceAccountKey { client_email, private_key_id: file.private_key_id, token_uri, signing_key })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_broken_field_is_named() {
        let cases = [
            (r#"{"type":"authorized_user"}"#, "not \"service_account\""),
            (r#"{"client_email":"a@b"}"#, "\"type\" is missing"),
            (r#"{"type":"service_account","token_uri":"https://t"}"#, "\"client_email\""),
            (r#"{"type":"service_account","client_email":"a@b"}"#, "\"token_uri\""),
            (
                r#"{"type":"service_account","client_email":"a@b","token_uri":"ftp://x","private_key":"k"}"#,
                "not an http(s) URL",
            ),
            (
                r#"{"type":"service_account","client_email":"a@b","token_uri":"https://t","private_key":"nope"}"#,
                "not an RSA private key",
            ),
            ("{", "not valid JSON"),
        ];
        for (text, expected) in cases {
            let error = ServiceAccountKey::parse(text.as_bytes()).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn a_missing_file_says_where_to_get_one() {
        let error = ServiceAccountKey::load(Path::new("/nonexistent/creds.json")).unwrap_err().to_string();
        assert!(
            error.contains("/nonexistent/creds.json") && error.contains("GOOGLE_APPLICATION_CREDENTIALS")
        );
    }
}
