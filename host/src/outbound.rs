//! The outbound allow-list: the guest may reach only the hosts named in the configuration.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;

use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

/// Where guests may send requests: a set of `host:port` authorities.
#[derive(Debug, Clone, Default)]
pub struct OutboundPolicy {
    allowed: Arc<BTreeSet<String>>,
}

/// The `host:port` authority of a URL, with the scheme's default port filled in.
pub fn authority_of(url: &url::Url) -> Option<String> {
    let host = url.host_str()?;
    let port = url.port_or_known_default()?;
    Some(format!("{}:{port}", host.to_ascii_lowercase()))
}

impl OutboundPolicy {
    /// A policy allowing exactly `authorities` (`host:port`).
    pub fn new(authorities: impl IntoIterator<Item = String>) -> Self {
        Self {
            allowed: Arc::new(authorities.into_iter().collect()),
        }
    }

    /// The allowed authorities.
    pub fn allowed(&self) -> impl Iterator<Item = &str> {
        self.allowed.iter().map(String::as_str)
    }

    /// Whether a request to `uri` may go out.
    pub fn permits(&self, uri: &http::Uri) -> bool {
        let Some(host) = uri.host() else {
            return false;
        };
        let port = uri.port_u16().unwrap_or(match uri.scheme_str() {
            Some("http") => 80,
            _ => 443,
        });
        self.allowed
            .contains(&format!("{}:{port}", host.to_ascii_lowercase()))
    }
}

type SendFuture = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), HttpError>> + Send>,
                ),
                HttpError,
            >,
        > + Send,
>;

impl WasiHttpHooks for OutboundPolicy {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> SendFuture {
        if !self.permits(request.uri()) {
            tracing::error!(
                authority = request.uri().authority().map(|a| a.as_str()).unwrap_or(""),
                "outbound request refused: host not named in the configuration"
            );
            return Box::new(async { Err(HttpError::HttpRequestDenied) });
        }
        _ = fut;
        Box::new(async move {
            use http_body_util::BodyExt;
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = Result<(), HttpError>> + Send>,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_named_authorities_are_permitted() {
        let policy = OutboundPolicy::new([
            authority_of(&"https://api.lever.co/v1".parse().unwrap()).unwrap(),
            authority_of(&"http://127.0.0.1:8081/hooks".parse().unwrap()).unwrap(),
        ]);
        assert!(policy.permits(&"https://api.lever.co/v1/opportunities".parse().unwrap()));
        assert!(policy.permits(&"https://API.lever.co:443/x".parse().unwrap()));
        assert!(policy.permits(&"http://127.0.0.1:8081/hooks".parse().unwrap()));
        assert!(!policy.permits(&"http://127.0.0.1:8082/hooks".parse().unwrap()));
        assert!(!policy.permits(&"http://api.lever.co/v1".parse().unwrap()));
        assert!(!policy.permits(&"https://evil.example/".parse().unwrap()));
    }
}
