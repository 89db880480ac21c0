//! What can go wrong talking to the API, classified for the caller's decision.

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The API answered with an error envelope (`{"error":{"code":"AF…"}}`) or a status we
    /// do not retry.
    #[error("API error {status} {code}: {message}")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    /// The login endpoint refused the credentials (AADSTS…). Not retried until the next poll.
    #[error("authentication failed ({status}): {message}")]
    Auth { status: u16, message: String },
    /// A URI from the server points at a host other than the configured API host.
    #[error("refused {what} on foreign host {host}")]
    HostileUri { what: &'static str, host: String },
    /// The response body could not be read or parsed.
    #[error("malformed response: {0}")]
    Malformed(String),
    /// Transport failures or server errors persisted through every retry.
    #[error("unavailable after {attempts} attempts: {last}")]
    Unavailable { attempts: u32, last: String },
    /// The request could not be built (bad URI from the server, ...).
    #[error("invalid request: {0}")]
    Invalid(String),
    /// A body was larger than its cap (never read further).
    #[error(transparent)]
    TooLarge(#[from] crate::bounds::TooLarge),
    /// Shutting down.
    #[error("cancelled")]
    Cancelled,
}

impl ApiError {
    /// The AF code, if the API sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ApiError::Api { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// Parses the API's error envelope; tolerates other shapes.
pub fn parse_error_body(body: &[u8]) -> (String, String) {
    #[derive(serde::Deserialize)]
    struct Env {
        error: Inner,
    }
    #[derive(serde::Deserialize)]
    struct Inner {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    if let Ok(e) = serde_json::from_slice::<Env>(body) {
        return (e.error.code, e.error.message);
    }
    let text = String::from_utf8_lossy(body);
    let text: String = text.chars().take(300).collect();
    (String::new(), text)
}
