//! Outbound requests: the allow-list (the guest may reach only the hosts named in the
//! configuration) and one pool of kept-alive connections per upstream, shared by every
//! instance, so a request to Lever or the partner does not pay a TCP (and TLS) handshake.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

/// How long an unused connection stays open.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Idle connections kept per upstream host.
const IDLE_PER_HOST: usize = 64;
/// Connecting (TCP and TLS) and waiting for the response head, unless the guest asks for
/// less.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The pooled HTTP/1.1 client (`https` with the webpki roots, and `http`).
pub type PooledClient = Client<HttpsConnector<HttpConnector>, WasiBody>;

/// A client with a connection pool per upstream authority.
pub fn pooled_client() -> PooledClient {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(DEFAULT_TIMEOUT));
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_webpki_roots()
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(IDLE_TIMEOUT)
        .pool_max_idle_per_host(IDLE_PER_HOST)
        .build(https)
}

/// An in-process upstream for benchmarks: answers (status, body) for a method and URL, so
/// requests never leave the process.
pub type Responder = Arc<dyn Fn(&http::Method, &http::Uri) -> (u16, bytes::Bytes) + Send + Sync>;

/// Where guests may send requests (a set of `host:port` authorities), and the pool they
/// are sent through.
#[derive(Clone)]
pub struct OutboundPolicy {
    allowed: Arc<BTreeSet<String>>,
    client: PooledClient,
    responder: Option<Responder>,
    max_wait: Option<Duration>,
}

impl std::fmt::Debug for OutboundPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboundPolicy")
            .field("allowed", &self.allowed)
            .finish_non_exhaustive()
    }
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
            client: pooled_client(),
            responder: None,
            max_wait: None,
        }
    }

    /// The same policy waiting at most `max_wait` for any response head, whatever the guest
    /// asked for (`outbound_timeout_secs`).
    pub fn waiting_at_most(mut self, max_wait: Option<Duration>) -> Self {
        self.max_wait = max_wait;
        self
    }

    /// The same policy with every permitted request answered by `responder` in process
    /// (`lever-host bench` measures the connector's own work this way).
    pub fn answering(mut self, responder: Responder) -> Self {
        self.responder = Some(responder);
        self
    }

    /// Sends `request` through the pool (the allow-list is the caller's to check), waiting
    /// at most `first_byte` for the response head.
    pub async fn send(
        &self,
        request: http::Request<WasiBody>,
        first_byte: Option<Duration>,
    ) -> Result<http::Response<WasiBody>, HttpError> {
        use http_body_util::BodyExt;
        if let Some(responder) = &self.responder {
            let (status, body) = responder(request.method(), request.uri());
            // Read what the guest sends, as an upstream would (it writes after asking).
            request.into_body().collect().await?;
            let mut response = http::Response::new(
                http_body_util::Full::new(body)
                    .map_err(|never| match never {})
                    .boxed_unsync(),
            );
            *response.status_mut() =
                http::StatusCode::from_u16(status).map_err(|_| HttpError::HttpProtocolError)?;
            return Ok(response);
        }
        let timeout = first_byte
            .unwrap_or(DEFAULT_TIMEOUT)
            .min(self.max_wait.unwrap_or(Duration::MAX));
        match tokio::time::timeout(timeout, self.client.request(request)).await {
            Err(_) => Err(HttpError::ConnectionReadTimeout),
            Ok(Ok(response)) => {
                Ok(response.map(|body| body.map_err(HttpError::Hyper).boxed_unsync()))
            }
            Ok(Err(error)) if error.is_connect() => {
                tracing::warn!(error = %error, "outbound connection failed");
                Err(HttpError::ConnectionRefused)
            }
            Ok(Err(error)) => {
                tracing::warn!(error = %error, "outbound request failed");
                Err(HttpError::ConnectionTerminated)
            }
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
        let policy = self.clone();
        Box::new(async move {
            let first_byte = options.and_then(|o| o.first_byte_timeout);
            let response = policy.send(request, first_byte).await?;
            Ok((
                response,
                // The pool drives the connection; nothing is left for the caller to run.
                Box::new(async { Ok(()) })
                    as Box<dyn Future<Output = Result<(), HttpError>> + Send>,
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

    #[tokio::test]
    async fn requests_to_one_upstream_reuse_a_kept_alive_connection() {
        use http_body_util::{BodyExt, Empty};
        use std::sync::atomic::{AtomicUsize, Ordering};

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let accepted = connections.clone();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                accepted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(|_request| async {
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(
                            http_body_util::Full::new(bytes::Bytes::from_static(b"ok")),
                        ))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        let policy = OutboundPolicy::new([format!("127.0.0.1:{}", addr.port())]);
        for _ in 0..5 {
            let request = http::Request::get(format!("http://{addr}/x"))
                .body(
                    Empty::<bytes::Bytes>::new()
                        .map_err(|never| match never {})
                        .boxed_unsync(),
                )
                .unwrap();
            let response = policy.send(request, None).await.unwrap();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(&body[..], b"ok");
        }
        assert_eq!(connections.load(Ordering::SeqCst), 1);
    }
}
