//! Signing in to Google APIs as a service account, shared by the Sheets and BigQuery
//! sinks: [`creds`] reads the key file the Cloud console downloads, [`auth`] turns it into
//! access tokens for the scopes a sink needs (an RS256-signed JWT exchanged at the key's
//! `token_uri`), cached and refreshed.

pub mod auth;
pub mod creds;

pub use auth::{AuthError, TokenSource};
pub use creds::{CredsError, ServiceAccountKey};
