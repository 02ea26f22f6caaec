//! The connector's logic compiled natively (the `lever-plugin` crate linked into this
//! binary) behind the same HTTP server, store, configuration and pooled outbound client as
//! the component. It exists as the baseline for `lever-host bench`: the difference between
//! the two is what the sandbox costs. `serve` always runs the component.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use lever_plugin::config;
use lever_plugin::error::ConnectorError;
use lever_plugin::http_face::{self, Reply};
use lever_plugin::io::{
    BackendError, Clock, Config, Env, Http, Kv, Random, Request, Response, TransportError,
    UnixMillis,
};
use rand::RngCore as _;

use crate::kv::Swap;
use crate::runtime::GuestEnv;

/// The largest response body read from an upstream (as the component's own limit).
const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

struct NativeHttp<'a> {
    env: &'a GuestEnv,
    handle: tokio::runtime::Handle,
}

impl Http for NativeHttp<'_> {
    fn send(&self, request: Request) -> Result<Response, TransportError> {
        let uri: http::Uri = request
            .url
            .to_string()
            .parse()
            .map_err(|e| TransportError::Failed(format!("bad URL: {e}")))?;
        if !self.env.outbound.permits(&uri) {
            return Err(TransportError::Denied(
                uri.authority().map(|a| a.to_string()).unwrap_or_default(),
            ));
        }
        let mut builder = http::Request::builder()
            .method(request.method.as_str())
            .uri(uri);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let body = Full::new(Bytes::from(request.body.unwrap_or_default()))
            .map_err(|never| match never {})
            .boxed_unsync();
        let outgoing = builder
            .body(body)
            .map_err(|e| TransportError::Failed(e.to_string()))?;
        self.handle.block_on(async {
            let response = self
                .env
                .outbound
                .send(outgoing, None)
                .await
                .map_err(|e| TransportError::Failed(e.to_string()))?;
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .filter_map(|(n, v)| Some((n.to_string(), v.to_str().ok()?.to_string())))
                .collect();
            let body = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map_err(|e| TransportError::Failed(format!("reading the response: {e}")))?
                .to_bytes()
                .to_vec();
            Ok(Response {
                status,
                headers,
                body,
            })
        })
    }
}

struct NativeKv<'a> {
    env: &'a GuestEnv,
    bucket: String,
}

impl Kv for NativeKv<'_> {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BackendError> {
        self.env.kv.get(&self.bucket, key).map_err(BackendError)
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), BackendError> {
        self.env
            .kv
            .set(&self.bucket, key, value)
            .map_err(BackendError)
    }

    fn delete(&self, key: &str) -> Result<(), BackendError> {
        self.env.kv.delete(&self.bucket, key).map_err(BackendError)
    }

    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
    ) -> Result<bool, BackendError> {
        match self.env.kv.swap(&self.bucket, key, expected, new) {
            Ok(Swap::Done) => Ok(true),
            Ok(Swap::Changed(_)) => Ok(false),
            Err(e) => Err(BackendError(e)),
        }
    }

    fn increment(&self, key: &str, delta: i64) -> Result<i64, BackendError> {
        self.env
            .kv
            .increment(&self.bucket, key, delta)
            .map_err(BackendError)
    }

    fn set_many(&self, entries: &[(String, Vec<u8>)]) -> Result<(), BackendError> {
        self.env
            .kv
            .set_many(&self.bucket, entries)
            .map_err(BackendError)
    }

    fn delete_many(&self, keys: &[String]) -> Result<(), BackendError> {
        self.env
            .kv
            .delete_many(&self.bucket, keys)
            .map_err(BackendError)
    }

    fn list_keys(
        &self,
        cursor: Option<&str>,
    ) -> Result<(Vec<String>, Option<String>), BackendError> {
        self.env
            .kv
            .list_keys(&self.bucket, cursor)
            .map_err(BackendError)
    }
}

struct NativeConfig<'a>(&'a GuestEnv);

impl Config for NativeConfig<'_> {
    fn get(&self, key: &str) -> Result<Option<String>, BackendError> {
        Ok(self.0.config.get(key).filter(|v| !v.is_empty()).cloned())
    }
}

struct NativeClock<'a>(&'a GuestEnv);

impl Clock for NativeClock<'_> {
    fn now(&self) -> UnixMillis {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .saturating_add(self.0.clock_shift.get());
        u64::try_from(now.as_millis()).unwrap_or(u64::MAX)
    }

    fn sleep_ms(&self, ms: u64) {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

struct NativeRandom;

impl Random for NativeRandom {
    fn bytes(&self, len: usize) -> Vec<u8> {
        let mut bytes = vec![0; len];
        rand::rng().fill_bytes(&mut bytes);
        bytes
    }
}

/// Runs `f` with native implementations of every I/O trait over `env`. Blocks on outbound
/// requests, so call it on a blocking thread (`spawn_blocking`), with `handle` the runtime
/// that drives the pooled client.
pub fn with_env<T>(
    env: &GuestEnv,
    handle: tokio::runtime::Handle,
    f: impl FnOnce(&Env) -> Result<T, ConnectorError>,
) -> Result<T, ConnectorError> {
    let config = NativeConfig(env);
    let bucket = config::kv_bucket(&config)?;
    if !env.buckets.contains(&bucket) {
        return Err(ConnectorError::NotConfigured(format!(
            "{} (the host provides no key-value bucket named {bucket:?})",
            config::KV_BUCKET
        )));
    }
    let http = NativeHttp { env, handle };
    let kv = NativeKv { env, bucket };
    let clock = NativeClock(env);
    let io = Env {
        http: &http,
        kv: &kv,
        config: &config,
        clock: &clock,
        random: &NativeRandom,
    };
    f(&io)
}

/// Serves one HTTP request with the native logic: the same routing, body limit, header
/// filter and responses as the component's HTTP face.
pub async fn handle(
    env: Arc<GuestEnv>,
    request: hyper::Request<hyper::body::Incoming>,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let reply = serve(env, request).await;
    (
        reply.status,
        http_face::wire_headers(reply.headers),
        reply.body,
    )
}

async fn serve(env: Arc<GuestEnv>, request: hyper::Request<hyper::body::Incoming>) -> Reply {
    let (route, headers) = match http_face::accept_http(&request) {
        Ok(accepted) => accepted,
        Err(reply) => return reply,
    };
    let limit = route.max_body_bytes();
    let body = match Limited::new(request.into_body(), limit).collect().await {
        Ok(body) => body.to_bytes().to_vec(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return http_face::error_reply(&ConnectorError::TooLarge(limit as u64))
        }
        Err(e) => {
            return http_face::error_reply(&ConnectorError::InvalidInput(format!(
                "reading the request body: {e}"
            )))
        }
    };
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        with_env(&env, handle, |io| {
            Ok(http_face::respond(io, route, &headers, &body))
        })
        .unwrap_or_else(|error| http_face::error_reply(&error))
    })
    .await
    .unwrap_or_else(|join| {
        http_face::error_reply(&ConnectorError::Internal(format!(
            "the native handler failed: {join}"
        )))
    })
}
