//! A request the server cannot answer: 4xx JSON that names the bad parameter for the
//! API, a page a person reads for the routes a browser opens.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

/// A client error: status, message and the parameter at fault.
#[derive(Debug, Serialize)]
pub(crate) struct ApiError {
    #[serde(skip)]
    status: StatusCode,
    /// What is wrong.
    pub error: String,
    /// The query parameter at fault, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
}

impl ApiError {
    /// A 400 naming the parameter at fault.
    pub(crate) fn bad(parameter: &str, error: String) -> Self {
        ApiError { status: StatusCode::BAD_REQUEST, error, parameter: Some(parameter.to_string()) }
    }

    /// A 500 with a message.
    pub(super) fn internal(error: String) -> Self {
        ApiError { status: StatusCode::INTERNAL_SERVER_ERROR, error, parameter: None }
    }

    /// A 404 with a message.
    pub(super) fn not_found(error: String) -> Self {
        ApiError { status: StatusCode::NOT_FOUND, error, parameter: None }
    }
}

impl ApiError {
    /// The error as a page a person reads, for the routes a browser opens (the API
    /// answers JSON).
    pub(super) fn page(&self) -> Response {
        // The page's language is one of the things that may be wrong, so it says it in
        // Polish and in English.
        let what = self.parameter.as_deref().map(|p| format!(" <code>{}</code>", super::html::esc(p)));
        let html = format!(
            "<!doctype html><html lang=\"pl\"><head><meta charset=\"utf-8\"><title>orderstream: błędny adres</title></head>\
             <body style=\"font-family:system-ui,sans-serif;margin:2rem\"><h1>Tego adresu pulpit nie umie pokazać{what}</h1>\
             <p lang=\"en\">That address asks for something the dashboard cannot show{what}:</p>\
             <p id=\"error\">{}</p><p><a href=\"/\">Wróć do pulpitu</a> · <a href=\"/?lang=en\" lang=\"en\">Back to the dashboard</a></p></body></html>",
            super::html::esc(&self.error),
            what = what.unwrap_or_default(),
        );
        (self.status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(&self)).into_response()
    }
}
