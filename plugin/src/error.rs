//! The connector's error type and its one mapping to the wire: the HTTP face, `lever-host
//! call` and the host's own errors all answer `{"error": <this, serialized>}`.

use serde::ser::SerializeMap as _;
use serde::{Serialize, Serializer};
use serde_json::json;

/// Which upstream service an error came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    /// The Lever API.
    Lever,
    /// The partner platform's callback endpoint.
    Partner,
}

impl Service {
    /// The service's name as used in errors and in WIT (`lever`, `partner`).
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Lever => "lever",
            Service::Partner => "partner",
        }
    }
}

/// Every failure the connector reports; mirrors `connector-error` in `wit/types.wit`.
///
/// Messages never contain secrets: they are built from ids, key names and upstream error
/// messages only.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectorError {
    /// The input can never succeed as sent.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A signature or credential is missing, wrong or stale.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// The thing named does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The request conflicts with the current state.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The body is larger than the limit (bytes).
    #[error("request body is larger than {0} bytes")]
    TooLarge(u64),
    /// An upstream service rate-limited us.
    #[error("rate limited{}", .retry_after_ms.map(|ms| format!("; retry after {ms} ms")).unwrap_or_default())]
    RateLimited {
        /// The wait the service asked for, in milliseconds.
        retry_after_ms: Option<u64>,
    },
    /// An upstream service answered with an error (status 0: no answer).
    #[error("{} answered {status}: {message}", .service.as_str())]
    Upstream {
        /// Which service.
        service: Service,
        /// Its HTTP status, 0 when the request failed before an answer.
        status: u16,
        /// Its error message.
        message: String,
    },
    /// A required configuration key is missing or invalid.
    #[error("not configured: {0}")]
    NotConfigured(String),
    /// The function is declared but not implemented in this version.
    #[error("not supported yet: {0}")]
    Unsupported(String),
    /// A fault in the connector or its host.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ConnectorError {
    /// The HTTP status this error is answered with. Lever retries any non-2xx delivery, so:
    /// 4xx for what can never succeed, 429/5xx when a retry may help.
    pub fn http_status(&self) -> u16 {
        match self {
            ConnectorError::InvalidInput(_) => 400,
            ConnectorError::Unauthorized(_) => 401,
            ConnectorError::NotFound(_) => 404,
            ConnectorError::Conflict(_) => 409,
            ConnectorError::TooLarge(_) => 413,
            ConnectorError::RateLimited { .. } => 429,
            ConnectorError::Upstream { .. } => 502,
            ConnectorError::NotConfigured(_) => 503,
            ConnectorError::Unsupported(_) => 501,
            ConnectorError::Internal(_) => 500,
        }
    }

    /// A short machine-readable code, the WIT case name.
    pub fn code(&self) -> &'static str {
        match self {
            ConnectorError::InvalidInput(_) => "invalid-input",
            ConnectorError::Unauthorized(_) => "unauthorized",
            ConnectorError::NotFound(_) => "not-found",
            ConnectorError::Conflict(_) => "conflict",
            ConnectorError::TooLarge(_) => "too-large",
            ConnectorError::RateLimited { .. } => "rate-limited",
            ConnectorError::Upstream { .. } => "upstream",
            ConnectorError::NotConfigured(_) => "not-configured",
            ConnectorError::Unsupported(_) => "unsupported",
            ConnectorError::Internal(_) => "internal",
        }
    }

    /// The JSON error body: `{"error": {"code", "message", ...}}`.
    pub fn to_json(&self) -> serde_json::Value {
        json!({ "error": self })
    }
}

/// `{"code", "message"}` plus the case's fields: `key` (not-configured), `retryAfterMs`
/// (rate-limited), `service` and `status` (upstream), `limitBytes` (too-large).
impl Serialize for ConnectorError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("code", self.code())?;
        map.serialize_entry("message", &self.to_string())?;
        match self {
            ConnectorError::NotConfigured(key) => map.serialize_entry("key", key)?,
            ConnectorError::RateLimited {
                retry_after_ms: Some(ms),
            } => map.serialize_entry("retryAfterMs", ms)?,
            ConnectorError::Upstream {
                service, status, ..
            } => {
                map.serialize_entry("service", service)?;
                map.serialize_entry("status", status)?;
            }
            ConnectorError::TooLarge(limit) => map.serialize_entry("limitBytes", limit)?,
            _ => {}
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_case_maps_to_a_distinct_documented_status() {
        let cases = [
            (ConnectorError::InvalidInput("x".into()), 400),
            (ConnectorError::Unauthorized("x".into()), 401),
            (ConnectorError::NotFound("x".into()), 404),
            (ConnectorError::Conflict("x".into()), 409),
            (ConnectorError::TooLarge(1), 413),
            (
                ConnectorError::RateLimited {
                    retry_after_ms: None,
                },
                429,
            ),
            (
                ConnectorError::Upstream {
                    service: Service::Lever,
                    status: 500,
                    message: "x".into(),
                },
                502,
            ),
            (ConnectorError::NotConfigured("x".into()), 503),
            (ConnectorError::Unsupported("x".into()), 501),
            (ConnectorError::Internal("x".into()), 500),
        ];
        for (error, status) in cases {
            assert_eq!(error.http_status(), status, "{error:?}");
        }
    }

    #[test]
    fn not_configured_body_names_the_key() {
        let body = ConnectorError::NotConfigured("partner_callback_url".into()).to_json();
        assert_eq!(body["error"]["code"], "not-configured");
        assert_eq!(body["error"]["key"], "partner_callback_url");
        let upstream = ConnectorError::Upstream {
            service: Service::Partner,
            status: 503,
            message: "down".into(),
        }
        .to_json();
        assert_eq!(upstream["error"]["service"], "partner");
        assert_eq!(upstream["error"]["status"], 503);
    }
}
