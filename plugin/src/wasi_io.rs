//! The I/O traits implemented over WASI imports: `wasi:http/outgoing-handler`,
//! `wasi:keyvalue/store`, `wasi:config/store` and `wasi:clocks/wall-clock`.

use crate::bindings::wasi::clocks::{monotonic_clock, wall_clock};
use crate::bindings::wasi::config::store as config_store;
use crate::bindings::wasi::http::outgoing_handler;
use crate::bindings::wasi::http::types as http;
use crate::bindings::wasi::io::streams::{InputStream, OutputStream, StreamError};
use crate::bindings::wasi::keyvalue::atomics;
use crate::bindings::wasi::keyvalue::batch;
use crate::bindings::wasi::keyvalue::store as kv_store;
use crate::bindings::wasi::random::random;
use crate::config;
use crate::error::ConnectorError;
use crate::io::{
    BackendError, Clock, Config, Env, Http, Kv, Method, Random, Request, Response, Swapped,
    TransportError, UnixMillis, Watched,
};

/// The largest response body the connector reads from Lever or the partner.
const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;
const SECOND_NS: u64 = 1_000_000_000;

/// Runs `f` with the WASI implementations of every I/O trait.
pub fn with_env<T>(f: impl FnOnce(&Env) -> Result<T, ConnectorError>) -> Result<T, ConnectorError> {
    let config = WasiConfig::default();
    let bucket_name = config::kv_bucket(&config)?;
    let bucket = kv_store::open(&bucket_name).map_err(|e| match e {
        kv_store::Error::NoSuchStore | kv_store::Error::AccessDenied => {
            ConnectorError::NotConfigured(format!(
                "{} (the host provides no key-value bucket named {bucket_name:?})",
                config::KV_BUCKET
            ))
        }
        kv_store::Error::Other(message) => {
            ConnectorError::Internal(format!("opening the key-value bucket: {message}"))
        }
    })?;
    let kv = WasiKv(bucket);
    let env = Env {
        http: &WasiHttp,
        kv: &kv,
        config: &config,
        clock: &WasiClock,
        random: &WasiRandom,
    };
    f(&env)
}

/// The host's configuration, read whole (`get-all`) at the first key one request asks for:
/// one host call instead of one per key (a delivery asks for about twenty, some twice).
#[derive(Default)]
struct WasiConfig {
    all: std::cell::OnceCell<Result<std::collections::BTreeMap<String, String>, String>>,
}

impl Config for WasiConfig {
    fn get(&self, key: &str) -> Result<Option<String>, BackendError> {
        let all = self.all.get_or_init(|| {
            config_store::get_all()
                .map(|pairs| pairs.into_iter().collect())
                .map_err(|e| match e {
                    config_store::Error::Upstream(m) | config_store::Error::Io(m) => m,
                })
        });
        match all {
            Ok(all) => Ok(all.get(key).filter(|v| !v.is_empty()).cloned()),
            Err(message) => Err(BackendError(message.clone())),
        }
    }
}

struct WasiKv(kv_store::Bucket);

fn kv_error(e: kv_store::Error) -> BackendError {
    BackendError(match e {
        kv_store::Error::NoSuchStore => "no such store".into(),
        kv_store::Error::AccessDenied => "access denied".into(),
        kv_store::Error::Other(m) => m,
    })
}

impl Kv for WasiKv {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BackendError> {
        self.0.get(key).map_err(kv_error)
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<(), BackendError> {
        self.0.set(key, value).map_err(kv_error)
    }
    fn delete(&self, key: &str) -> Result<(), BackendError> {
        self.0.delete(key).map_err(kv_error)
    }
    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
    ) -> Result<bool, BackendError> {
        let watched = self.watch(key)?;
        if watched.current() != expected {
            return Ok(false);
        }
        Ok(matches!(self.swap(watched, new)?, Swapped::Done))
    }
    fn watch(&self, key: &str) -> Result<Watched, BackendError> {
        let cas = atomics::Cas::new(&self.0, key).map_err(kv_error)?;
        let current = cas.current().map_err(kv_error)?;
        Ok(Watched::new(key, current, Some(Box::new(cas))))
    }
    fn swap(&self, watched: Watched, new: &[u8]) -> Result<Swapped, BackendError> {
        let (key, _, handle) = watched.into_parts();
        let Some(Ok(cas)) = handle.map(|h| h.downcast::<atomics::Cas>()) else {
            return Err(BackendError(format!(
                "{key} was not watched through wasi:keyvalue/atomics"
            )));
        };
        match atomics::swap(*cas, new) {
            Ok(()) => Ok(Swapped::Done),
            Err(atomics::CasError::CasFailed(fresh)) => {
                let now = fresh.current().map_err(kv_error)?;
                // As in the trait's own `swap`: finding ours in place means it was written.
                if now.as_deref() == Some(new) {
                    return Ok(Swapped::Done);
                }
                Ok(Swapped::Changed(Watched::new(
                    &key,
                    now,
                    Some(Box::new(fresh)),
                )))
            }
            Err(atomics::CasError::StoreError(e)) => Err(kv_error(e)),
        }
    }
    fn increment(&self, key: &str, delta: i64) -> Result<i64, BackendError> {
        atomics::increment(&self.0, key, delta).map_err(kv_error)
    }
    fn set_many(&self, entries: &[(String, Vec<u8>)]) -> Result<(), BackendError> {
        match entries {
            [] => Ok(()),
            [(key, value)] => self.set(key, value),
            _ => batch::set_many(&self.0, entries).map_err(kv_error),
        }
    }
    fn delete_many(&self, keys: &[String]) -> Result<(), BackendError> {
        match keys {
            [] => Ok(()),
            [key] => self.delete(key),
            _ => batch::delete_many(&self.0, keys).map_err(kv_error),
        }
    }
    fn list_keys(
        &self,
        cursor: Option<&str>,
    ) -> Result<(Vec<String>, Option<String>), BackendError> {
        let page = self.0.list_keys(cursor).map_err(kv_error)?;
        Ok((page.keys, page.cursor))
    }
}

struct WasiRandom;

impl Random for WasiRandom {
    fn bytes(&self, len: usize) -> Vec<u8> {
        random::get_random_bytes(len as u64)
    }
}

struct WasiClock;

impl Clock for WasiClock {
    fn now(&self) -> UnixMillis {
        let now = wall_clock::now();
        now.seconds
            .saturating_mul(1000)
            .saturating_add(u64::from(now.nanoseconds / 1_000_000))
    }
    fn sleep_ms(&self, ms: u64) {
        monotonic_clock::subscribe_duration(ms.saturating_mul(1_000_000)).block();
    }
}

struct WasiHttp;

fn failed(what: &str, e: impl std::fmt::Debug) -> TransportError {
    TransportError::Failed(format!("{what}: {e:?}"))
}

impl Http for WasiHttp {
    fn send(&self, request: Request) -> Result<Response, TransportError> {
        let entries: Vec<(String, Vec<u8>)> = request
            .headers
            .iter()
            .map(|(n, v)| (n.clone(), v.as_bytes().to_vec()))
            .collect();
        let headers = http::Fields::from_list(&entries).map_err(|e| failed("headers", e))?;
        let outgoing = http::OutgoingRequest::new(headers);
        let method = match request.method {
            Method::Get => http::Method::Get,
            Method::Post => http::Method::Post,
            Method::Put => http::Method::Put,
            Method::Delete => http::Method::Delete,
            Method::Patch => http::Method::Patch,
        };
        let url = &request.url;
        let scheme = match url.scheme() {
            "https" => http::Scheme::Https,
            "http" => http::Scheme::Http,
            other => http::Scheme::Other(other.into()),
        };
        let authority = url.authority().to_string();
        let path = url.path_and_query();
        let invalid = |part: &str| TransportError::Failed(format!("invalid request {part}"));
        outgoing
            .set_method(&method)
            .map_err(|()| invalid("method"))?;
        outgoing
            .set_scheme(Some(&scheme))
            .map_err(|()| invalid("scheme"))?;
        outgoing
            .set_authority(Some(&authority))
            .map_err(|()| invalid("authority"))?;
        outgoing
            .set_path_with_query(Some(path))
            .map_err(|()| invalid("path"))?;
        let body = outgoing.body().map_err(|()| invalid("body"))?;

        let options = http::RequestOptions::new();
        // Hosts may not support every timeout; the defaults then apply.
        let _ = options.set_connect_timeout(Some(10 * SECOND_NS));
        let _ = options.set_first_byte_timeout(Some(30 * SECOND_NS));
        let _ = options.set_between_bytes_timeout(Some(30 * SECOND_NS));

        let future = outgoing_handler::handle(outgoing, Some(options)).map_err(|e| match e {
            http::ErrorCode::HttpRequestDenied => TransportError::Denied(authority.clone()),
            other => failed("sending", other),
        })?;
        // A refused or failed request closes the body stream; its real cause arrives
        // through the response future, so a write failure is reported only after that.
        let mut write_error = None;
        if let Some(bytes) = &request.body {
            let stream = body.write().map_err(|()| invalid("body stream"))?;
            if let Err(e) = write_all(&stream, bytes) {
                write_error = Some(failed("writing the body", e));
            }
        }
        if let Err(e) = http::OutgoingBody::finish(body, None) {
            write_error.get_or_insert(failed("finishing the body", e));
        }

        // Wait first: the response is never there the moment the request is sent.
        let ready = future.subscribe();
        let incoming = loop {
            ready.block();
            if let Some(result) = future.get() {
                break result;
            }
        };
        drop(ready);
        let response = incoming
            .map_err(|()| TransportError::Failed("response already taken".into()))?
            .map_err(|e| match e {
                http::ErrorCode::HttpRequestDenied => TransportError::Denied(authority.clone()),
                other => failed("receiving", other),
            })?;
        if let Some(error) = write_error {
            return Err(error);
        }
        let status = response.status();
        let headers = response
            .headers()
            .entries()
            .into_iter()
            .map(|(n, v)| (n, String::from_utf8_lossy(&v).into_owned()))
            .collect();
        let body = response
            .consume()
            .map_err(|()| TransportError::Failed("response body already taken".into()))?;
        let stream = body
            .stream()
            .map_err(|()| TransportError::Failed("response body stream".into()))?;
        let bytes = read_to_end(&stream, MAX_RESPONSE_BYTES)
            .map_err(TransportError::Failed)?
            .ok_or_else(|| {
                TransportError::Failed(format!("response larger than {MAX_RESPONSE_BYTES} bytes"))
            })?;
        drop(stream);
        drop(http::IncomingBody::finish(body));
        Ok(Response {
            status,
            headers,
            body: bytes,
        })
    }
}

/// Writes all of `bytes`, at most 4096 at a time (the limit of `blocking-write-and-flush`).
pub fn write_all(stream: &OutputStream, bytes: &[u8]) -> Result<(), StreamError> {
    for chunk in bytes.chunks(4096) {
        stream.blocking_write_and_flush(chunk)?;
    }
    Ok(())
}

/// Reads a stream to its end; `Ok(None)` as soon as it holds more than `limit` bytes.
pub fn read_to_end(stream: &InputStream, limit: usize) -> Result<Option<Vec<u8>>, String> {
    let mut bytes = Vec::new();
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) => {
                bytes.extend_from_slice(&chunk);
                if bytes.len() > limit {
                    return Ok(None);
                }
            }
            Err(StreamError::Closed) => return Ok(Some(bytes)),
            Err(StreamError::LastOperationFailed(e)) => return Err(e.to_debug_string()),
        }
    }
}
