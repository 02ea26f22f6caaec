//! Small HTTP helpers shared by the simulators, the demo and the tests: a JSON server loop
//! and a client.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A request as the simulators see it: fully read.
#[derive(Debug, Clone)]
pub struct SimRequest {
    /// Method, upper case.
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// Decoded query pairs, in order (keys may repeat).
    pub query: Vec<(String, String)>,
    /// Headers, names lower case.
    pub headers: BTreeMap<String, String>,
    /// Body bytes.
    pub body: Bytes,
}

impl SimRequest {
    /// The first query value for `key`.
    pub fn query(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every query value for `key`.
    pub fn query_all(&self, key: &str) -> Vec<&str> {
        self.query
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// A simulator's answer.
#[derive(Debug, Clone)]
pub struct SimResponse {
    /// Status code.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Body (JSON unless empty).
    pub body: Option<serde_json::Value>,
    /// A non-JSON body and its content type (a file), used instead of `body`.
    pub raw: Option<(String, Vec<u8>)>,
    /// Close the connection instead of answering (an injected fault).
    pub drop_connection: bool,
}

impl SimResponse {
    /// A JSON answer.
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Some(body),
            raw: None,
            drop_connection: false,
        }
    }

    /// An answer without a body.
    pub fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: None,
            raw: None,
            drop_connection: false,
        }
    }

    /// A file answer.
    pub fn bytes(status: u16, content_type: &str, bytes: Vec<u8>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: None,
            raw: Some((content_type.to_string(), bytes)),
            drop_connection: false,
        }
    }

    /// No answer: the connection is closed.
    pub fn dropped() -> Self {
        Self {
            drop_connection: true,
            ..Self::empty(502)
        }
    }

    /// The answer for an injected fault that is not handled (`None` for a slow answer,
    /// which is handled and then delayed).
    pub fn for_fault(fault: crate::sim::faults::Fault) -> Option<Self> {
        use crate::sim::faults::Fault;
        match fault {
            Fault::RateLimited { retry_after } => {
                let answer = Self::json(
                    429,
                    serde_json::json!({ "code": "TooManyRequests", "message": "injected rate limit" }),
                );
                Some(if retry_after {
                    answer.with_header("retry-after", "1")
                } else {
                    answer
                })
            }
            Fault::ServerError(status) => Some(Self::json(
                status,
                serde_json::json!({ "code": "InternalServerError", "message": "injected failure" }),
            )),
            Fault::Dropped => Some(Self::dropped()),
            Fault::Slow(_) => None,
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// The largest request body the simulators read.
const MAX_SIM_BODY: usize = 32 << 20;

/// Serves `handler` on `listener` until the handle is dropped.
pub fn serve<F, Fut>(listener: TcpListener, handler: F) -> ServerTask
where
    F: Fn(SimRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = SimResponse> + Send + 'static,
{
    let handler = Arc::new(handler);
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let handler = handler.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let handler = handler.clone();
                    async move {
                        let response = match read(request).await {
                            Ok(request) => handler(request).await,
                            Err(message) => SimResponse::json(
                                400,
                                serde_json::json!({ "code": "BadRequestError", "message": message }),
                            ),
                        };
                        if response.drop_connection {
                            return Err(DroppedConnection);
                        }
                        Ok(into_hyper(response))
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    ServerTask(task)
}

/// The error that makes the server close a connection without answering.
#[derive(Debug)]
struct DroppedConnection;

impl std::fmt::Display for DroppedConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped (injected fault)")
    }
}

impl std::error::Error for DroppedConnection {}

/// A running server; dropping it stops it.
#[derive(Debug)]
pub struct ServerTask(JoinHandle<()>);

impl Drop for ServerTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn read(request: hyper::Request<hyper::body::Incoming>) -> Result<SimRequest, String> {
    let (parts, body) = request.into_parts();
    let body = Limited::new(body, MAX_SIM_BODY)
        .collect()
        .await
        .map_err(|e| format!("reading the body: {e}"))?
        .to_bytes();
    let query = parts
        .uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    let headers = parts
        .headers
        .iter()
        .filter_map(|(n, v)| Some((n.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    Ok(SimRequest {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        query,
        headers,
        body,
    })
}

fn into_hyper(response: SimResponse) -> hyper::Response<Full<Bytes>> {
    let mut builder = hyper::Response::builder().status(response.status);
    let body = match (&response.raw, &response.body) {
        (Some((content_type, bytes)), _) => {
            builder = builder.header("content-type", content_type.as_str());
            Bytes::from(bytes.clone())
        }
        (None, Some(json)) => {
            builder = builder.header("content-type", "application/json");
            Bytes::from(json.to_string())
        }
        (None, None) => Bytes::new(),
    };
    for (name, value) in &response.headers {
        builder = builder.header(name, value);
    }
    builder
        .body(Full::new(body))
        .unwrap_or_else(|_| hyper::Response::new(Full::new(Bytes::new())))
}

/// A reply received by [`HttpClient`].
#[derive(Debug, Clone)]
pub struct ClientResponse {
    /// Status.
    pub status: u16,
    /// Headers, names lower case.
    pub headers: BTreeMap<String, String>,
    /// Body.
    pub body: Bytes,
}

impl ClientResponse {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A plain-HTTP client (the simulators and tests only talk to loopback).
#[derive(Clone, Debug)]
pub struct HttpClient(Client<HttpConnector, Full<Bytes>>);

impl Default for HttpClient {
    fn default() -> Self {
        Self(Client::builder(TokioExecutor::new()).build_http())
    }
}

impl HttpClient {
    /// Sends a request and reads the whole answer.
    pub async fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> anyhow::Result<ClientResponse> {
        let mut builder = hyper::Request::builder().method(method).uri(url);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let request = builder.body(Full::new(body.into()))?;
        let response = self
            .0
            .request(request)
            .await
            .with_context(|| format!("{method} {url}"))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(n, v)| Some((n.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect();
        let body = response.into_body().collect().await?.to_bytes();
        Ok(ClientResponse {
            status,
            headers,
            body,
        })
    }

    /// POSTs JSON.
    pub async fn post_json(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: &serde_json::Value,
    ) -> anyhow::Result<ClientResponse> {
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        self.send("POST", url, &all, body.to_string()).await
    }

    /// GETs a URL.
    pub async fn get(&self, url: &str, headers: &[(&str, &str)]) -> anyhow::Result<ClientResponse> {
        self.send("GET", url, headers, Bytes::new()).await
    }
}

/// Binds a loopback port (0 = any free port).
pub async fn bind_loopback(addr: Option<SocketAddr>) -> anyhow::Result<TcpListener> {
    let addr = addr.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
