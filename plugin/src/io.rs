//! The I/O the logic may use, as small traits: outbound HTTP, key-value storage,
//! configuration and the clock. The component implements them over WASI
//! (`crate::wasi_io`); unit tests use the recording fakes in [`fake`].

use std::fmt;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Unix time in milliseconds.
pub type UnixMillis = u64;

/// What a path segment may hold unencoded: RFC 3986's unreserved characters.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// An absolute `http` or `https` URL with a host and no credentials in it.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpUrl(http::Uri);

impl HttpUrl {
    /// Parses `raw`; `None` unless it is an absolute http(s) URL with a host and no
    /// user information.
    pub fn parse(raw: &str) -> Option<Self> {
        let uri: http::Uri = raw.trim().parse().ok()?;
        let secure_or_plain = matches!(uri.scheme_str(), Some("http" | "https"));
        let authority = uri.authority()?;
        if !secure_or_plain || authority.host().is_empty() || authority.as_str().contains('@') {
            return None;
        }
        Some(Self(uri))
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &str {
        self.0.scheme_str().unwrap_or("https")
    }

    /// `host[:port]`.
    pub fn authority(&self) -> &str {
        self.0.authority().map_or("", |a| a.as_str())
    }

    /// The path and query, `/` at least.
    pub fn path_and_query(&self) -> &str {
        self.0.path_and_query().map_or("/", |pq| pq.as_str())
    }

    /// The query, if any.
    pub fn query(&self) -> Option<&str> {
        self.0.query()
    }

    /// This URL's path extended by `segments` (each percent-encoded) with `query` pairs
    /// (form-encoded) as its query.
    pub fn join(&self, segments: &[&str], query: &[(&str, &str)]) -> Self {
        let mut path = self.0.path().trim_end_matches('/').to_string();
        for segment in segments {
            path.push('/');
            path.extend(utf8_percent_encode(segment, SEGMENT));
        }
        if path.is_empty() {
            path.push('/');
        }
        if !query.is_empty() {
            path.push('?');
            path.push_str(
                &form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(query)
                    .finish(),
            );
        }
        let joined = http::Uri::builder()
            .scheme(self.scheme())
            .authority(self.authority())
            .path_and_query(path)
            .build();
        // Every part is either from a valid URI or percent-encoded, so this cannot fail;
        // should it, the base URL is kept rather than a request sent somewhere else.
        Self(joined.unwrap_or_else(|_| self.0.clone()))
    }
}

impl fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HttpUrl({})", self.0)
    }
}

/// An HTTP method the connector sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
    /// PUT
    Put,
    /// DELETE
    Delete,
    /// PATCH
    Patch,
}

impl Method {
    /// The method's name, upper case.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Patch => "PATCH",
        }
    }
}

/// One outbound HTTP request. Its `Debug` shows header names and the body's length only:
/// `authorization` and form bodies (OAuth) carry secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct Request {
    /// Method.
    pub method: Method,
    /// Absolute URL, query included.
    pub url: HttpUrl,
    /// Header names (lower case) and values. Authorization values are secrets: never log
    /// a request's headers.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Option<Vec<u8>>,
    /// The rate-limit bucket this request counts against (a Lever connection), if any.
    pub bucket: Option<String>,
    /// Background work (reconciliation, postings polls): it takes tokens only from the
    /// upper half of the bucket, so deliveries and partner calls always find room.
    pub background: bool,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &self.url)
            .field(
                "headers",
                &self
                    .headers
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("body_bytes", &self.body.as_ref().map(Vec::len))
            .field("bucket", &self.bucket)
            .field("background", &self.background)
            .finish()
    }
}

impl Request {
    /// The value of the first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

/// One HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Header names and values.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Response {
    /// The value of the first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A request that got no HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The host refused to send it (not on its outbound allow-list).
    #[error("the host refused the outbound request to {0}")]
    Denied(String),
    /// Connecting, sending or receiving failed.
    #[error("{0}")]
    Failed(String),
}

/// A storage or configuration backend failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BackendError(pub String);

/// Outbound HTTP.
pub trait Http {
    /// Sends `request` and waits for the whole response.
    fn send(&self, request: Request) -> Result<Response, TransportError>;
}

/// The key-value store holding all mutable state.
pub trait Kv {
    /// The value under `key`.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BackendError>;
    /// Stores `value` under `key`.
    fn set(&self, key: &str, value: &[u8]) -> Result<(), BackendError>;
    /// Removes `key`.
    fn delete(&self, key: &str) -> Result<(), BackendError>;
    /// Stores `new` under `key` only if the key still holds `expected` (`None`: nothing),
    /// atomically: of several concurrent callers with the same `expected` exactly one gets
    /// `true`. Callers use [`Kv::watch`] and [`Kv::swap`], which also cope with hosts that
    /// misreport a swap.
    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
    ) -> Result<bool, BackendError>;
    /// One page of the bucket's keys (every key, in no promised order) and the cursor of
    /// the next page, `None` after the last.
    fn list_keys(
        &self,
        cursor: Option<&str>,
    ) -> Result<(Vec<String>, Option<String>), BackendError>;

    /// Adds `delta` to the number under `key` (0 when absent) atomically and answers the
    /// sum: of concurrent callers, each gets its own. Hosts keep the number in their own
    /// form, so it is read back only through this (`delta` 0 reads it).
    fn increment(&self, key: &str, delta: i64) -> Result<i64, BackendError> {
        let mut watched = self.watch(key)?;
        for _ in 0..64 {
            let current: i64 = match watched.current() {
                None => 0,
                Some(bytes) => std::str::from_utf8(bytes)
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
                    .ok_or_else(|| BackendError(format!("{key} does not hold a number")))?,
            };
            let next = current.saturating_add(delta);
            if delta == 0 && watched.current().is_some() {
                return Ok(next);
            }
            match self.swap(watched, next.to_string().as_bytes())? {
                Swapped::Done => return Ok(next),
                Swapped::Changed(fresh) => watched = fresh,
            }
        }
        Err(BackendError(format!("{key} kept changing")))
    }

    /// Stores every `(key, value)`, in one call where the host has one (`set-many`): not
    /// atomically, but on Spin's SQLite store in one transaction rather than one each.
    fn set_many(&self, entries: &[(String, Vec<u8>)]) -> Result<(), BackendError> {
        for (key, value) in entries {
            self.set(key, value)?;
        }
        Ok(())
    }

    /// Removes every key, in one call where the host has one (`delete-many`).
    fn delete_many(&self, keys: &[String]) -> Result<(), BackendError> {
        for key in keys {
            self.delete(key)?;
        }
        Ok(())
    }

    /// Stores `value` under `key` only if the key holds nothing, atomically.
    fn insert_new(&self, key: &str, value: &[u8]) -> Result<bool, BackendError> {
        self.compare_and_swap(key, None, value)
    }

    /// Reads `key` for a later [`Kv::swap`]. A backend with its own compare-and-swap
    /// handle (`wasi:keyvalue/atomics`) reads once here instead of once more at the swap.
    fn watch(&self, key: &str) -> Result<Watched, BackendError> {
        Ok(Watched::new(key, self.get(key)?, None))
    }

    /// Stores `new` under the watched key only if it still holds what [`Kv::watch`] read,
    /// atomically; otherwise hands back what it holds now, watched for the next try.
    ///
    /// Some hosts report a swap as failed although it wrote (Spin's Redis store ends every
    /// swap with an `UNWATCH <key>` that Redis refuses), so the value decides: finding `new`
    /// in place after a reported failure counts as written. Every value the connector swaps
    /// is therefore unique to its writer (it carries a nonce), or writing the same bytes is
    /// the same outcome for both.
    fn swap(&self, watched: Watched, new: &[u8]) -> Result<Swapped, BackendError> {
        if self.compare_and_swap(&watched.key, watched.current(), new)? {
            return Ok(Swapped::Done);
        }
        let now = self.watch(&watched.key)?;
        if now.current() == Some(new) {
            return Ok(Swapped::Done);
        }
        Ok(Swapped::Changed(now))
    }
}

/// A value read by [`Kv::watch`], for a compare-and-swap on it.
pub struct Watched {
    key: String,
    current: Option<Vec<u8>>,
    /// The backend's own handle on the read, if it has one.
    handle: Option<Box<dyn std::any::Any>>,
}

impl std::fmt::Debug for Watched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watched")
            .field("key", &self.key)
            .field("bytes", &self.current.as_ref().map(Vec::len))
            .finish_non_exhaustive()
    }
}

impl Watched {
    /// What `key` held when read; `handle` is the backend's own (see [`Watched::into_parts`]).
    pub fn new(
        key: &str,
        current: Option<Vec<u8>>,
        handle: Option<Box<dyn std::any::Any>>,
    ) -> Self {
        Self {
            key: key.to_string(),
            current,
            handle,
        }
    }

    /// The key watched.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// What the key held when read (`None`: nothing).
    pub fn current(&self) -> Option<&[u8]> {
        self.current.as_deref()
    }

    /// The key, what it held, and the backend's handle given to [`Watched::new`].
    #[allow(clippy::type_complexity)]
    pub fn into_parts(self) -> (String, Option<Vec<u8>>, Option<Box<dyn std::any::Any>>) {
        (self.key, self.current, self.handle)
    }
}

/// The outcome of [`Kv::swap`].
#[derive(Debug)]
pub enum Swapped {
    /// The new value was written.
    Done,
    /// The key held something else: here it is, watched again.
    Changed(Watched),
}

/// A store in front of another that holds every `set-many` until [`HeldWrites::flush`],
/// so a flow's outcome writes (what was reported, the record, the log entries) go out as one
/// `set-many`: one transaction on Spin's SQLite store instead of one per step. Reads see
/// the held values, and any other operation on a held key writes the held ones first, so
/// nothing the flow does observes the difference; only a crash before the flush does, which
/// loses exactly what a crash between the steps would.
pub struct HeldWrites<'a> {
    inner: &'a dyn Kv,
    held: std::cell::RefCell<Vec<(String, Vec<u8>)>>,
}

impl std::fmt::Debug for HeldWrites<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeldWrites")
            .field("held", &self.held.borrow().len())
            .finish_non_exhaustive()
    }
}

impl<'a> HeldWrites<'a> {
    /// Holds writes in front of `inner`.
    pub fn new(inner: &'a dyn Kv) -> Self {
        Self {
            inner,
            held: std::cell::RefCell::new(Vec::new()),
        }
    }

    /// Writes what is held, in one `set-many`.
    pub fn flush(&self) -> Result<(), BackendError> {
        let held = std::mem::take(&mut *self.held.borrow_mut());
        self.inner.set_many(&held)
    }

    fn flush_if_held(&self, key: &str) -> Result<(), BackendError> {
        if self.held.borrow().iter().any(|(k, _)| k == key) {
            self.flush()?;
        }
        Ok(())
    }
}

impl Kv for HeldWrites<'_> {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BackendError> {
        let held = self
            .held
            .borrow()
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone());
        match held {
            Some(value) => Ok(Some(value)),
            None => self.inner.get(key),
        }
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<(), BackendError> {
        self.flush_if_held(key)?;
        self.inner.set(key, value)
    }
    fn delete(&self, key: &str) -> Result<(), BackendError> {
        self.flush_if_held(key)?;
        self.inner.delete(key)
    }
    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
    ) -> Result<bool, BackendError> {
        self.flush_if_held(key)?;
        self.inner.compare_and_swap(key, expected, new)
    }
    fn list_keys(
        &self,
        cursor: Option<&str>,
    ) -> Result<(Vec<String>, Option<String>), BackendError> {
        self.flush()?;
        self.inner.list_keys(cursor)
    }
    fn increment(&self, key: &str, delta: i64) -> Result<i64, BackendError> {
        self.flush_if_held(key)?;
        self.inner.increment(key, delta)
    }
    fn set_many(&self, entries: &[(String, Vec<u8>)]) -> Result<(), BackendError> {
        self.held.borrow_mut().extend(entries.iter().cloned());
        Ok(())
    }
    fn delete_many(&self, keys: &[String]) -> Result<(), BackendError> {
        for key in keys {
            self.flush_if_held(key)?;
        }
        self.inner.delete_many(keys)
    }
    fn insert_new(&self, key: &str, value: &[u8]) -> Result<bool, BackendError> {
        self.flush_if_held(key)?;
        self.inner.insert_new(key, value)
    }
    fn watch(&self, key: &str) -> Result<Watched, BackendError> {
        self.flush_if_held(key)?;
        self.inner.watch(key)
    }
    fn swap(&self, watched: Watched, new: &[u8]) -> Result<Swapped, BackendError> {
        self.inner.swap(watched, new)
    }
}

/// Static configuration (settings and secrets).
pub trait Config {
    /// The value configured under `key`; an empty value counts as missing.
    fn get(&self, key: &str) -> Result<Option<String>, BackendError>;
}

/// The wall clock, and waiting.
pub trait Clock {
    /// Now, in Unix milliseconds.
    fn now(&self) -> UnixMillis;
    /// Blocks for `ms` milliseconds (used only to wait for another instance's work).
    fn sleep_ms(&self, ms: u64);
}

/// Randomness (nonces, OAuth state, jitter).
pub trait Random {
    /// `len` random bytes from a cryptographically secure source.
    fn bytes(&self, len: usize) -> Vec<u8>;
}

/// Everything a flow may touch.
#[derive(Clone, Copy)]
pub struct Env<'a> {
    /// Outbound HTTP.
    pub http: &'a dyn Http,
    /// State.
    pub kv: &'a dyn Kv,
    /// Configuration.
    pub config: &'a dyn Config,
    /// Clock.
    pub clock: &'a dyn Clock,
    /// Randomness.
    pub random: &'a dyn Random,
}

impl<'a> Env<'a> {
    /// The same environment with `http` as its outbound HTTP (a recorder in front of it).
    pub fn with_http(&self, http: &'a dyn Http) -> Env<'a> {
        Env { http, ..*self }
    }

    /// The same environment with `kv` as its store ([`HeldWrites`] in front of it).
    pub fn with_kv(&self, kv: &'a dyn Kv) -> Env<'a> {
        Env { kv, ..*self }
    }
}

impl std::fmt::Debug for Env<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Env")
    }
}

#[cfg(test)]
mod tests {
    use super::HttpUrl;

    #[test]
    fn only_absolute_http_urls_with_a_host_and_no_credentials_parse() {
        assert!(HttpUrl::parse("https://api.lever.co/v1").is_some());
        assert!(HttpUrl::parse(" http://127.0.0.1:9/v1/ ").is_some());
        for bad in [
            "ftp://example.com",
            "/v1",
            "https://",
            "https://user:pw@example.com/",
            "not a url",
        ] {
            assert!(HttpUrl::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_request_never_prints_its_credentials_or_body() {
        let request = super::Request {
            method: super::Method::Post,
            url: HttpUrl::parse("https://auth.lever.co/oauth/token").unwrap(),
            headers: vec![("authorization".into(), "Bearer planted-token".into())],
            body: Some(b"client_secret=planted-secret".to_vec()),
            bucket: None,
            background: false,
        };
        let printed = format!("{request:?}");
        assert!(!printed.contains("planted"), "{printed}");
        assert!(printed.contains("authorization"));
    }

    #[test]
    fn join_encodes_segments_and_query_and_keeps_the_base_path() {
        let base = HttpUrl::parse("http://127.0.0.1:9/v1/").unwrap();
        let url = base.join(&["opportunities", "a/b?c d"], &[("perform_as", "u 1&x")]);
        assert_eq!(
            url.to_string(),
            "http://127.0.0.1:9/v1/opportunities/a%2Fb%3Fc%20d?perform_as=u+1%26x"
        );
        assert_eq!(url.authority(), "127.0.0.1:9");
        let root = HttpUrl::parse("https://example.com").unwrap();
        assert_eq!(root.join(&[], &[]).path_and_query(), "/");
    }

    #[test]
    fn held_writes_go_out_in_one_set_many_and_are_read_back_before() {
        use super::{HeldWrites, Kv as _};
        let kv = super::fake::FakeKv::default();
        let held = HeldWrites::new(&kv);
        held.set_many(&[("a".into(), b"1".to_vec())]).unwrap();
        held.set_many(&[("b".into(), b"2".to_vec()), ("a".into(), b"3".to_vec())])
            .unwrap();
        // Read back before they are written, the last value winning.
        assert_eq!(held.get("a").unwrap().as_deref(), Some(&b"3"[..]));
        assert!(kv.get("a").unwrap().is_none());
        kv.take_ops();
        held.flush().unwrap();
        let ops: Vec<&str> = kv.take_ops().iter().map(|op| op.op).collect();
        assert_eq!(ops, ["set-many"]);
        assert_eq!(kv.get("a").unwrap().as_deref(), Some(&b"3"[..]));
        assert_eq!(kv.get("b").unwrap().as_deref(), Some(&b"2"[..]));
    }

    #[test]
    fn any_other_operation_on_a_held_key_writes_the_held_ones_first() {
        use super::{HeldWrites, Kv as _, Swapped};
        let kv = super::fake::FakeKv::default();
        let held = HeldWrites::new(&kv);
        held.set_many(&[("claim".into(), b"mine".to_vec())])
            .unwrap();
        // A swap over the held key sees it written (and so a swap expecting it succeeds).
        let watched = held.watch("claim").unwrap();
        assert_eq!(watched.current(), Some(&b"mine"[..]));
        assert!(matches!(
            held.swap(watched, b"next").unwrap(),
            Swapped::Done
        ));
        assert_eq!(kv.get("claim").unwrap().as_deref(), Some(&b"next"[..]));
        // An increment or a delete of another key leaves held writes held.
        held.set_many(&[("x".into(), b"1".to_vec())]).unwrap();
        held.increment("n", 1).unwrap();
        held.delete("y").unwrap();
        assert!(kv.get("x").unwrap().is_none());
        held.delete("x").unwrap();
        assert!(kv.get("x").unwrap().is_none(), "written, then deleted");
        held.flush().unwrap();
        assert!(kv.get("x").unwrap().is_none());
    }
}

/// In-memory fakes that record what the logic did.
#[cfg(test)]
pub mod fake {
    use super::*;
    use std::cell::RefCell;
    use std::collections::{BTreeMap, VecDeque};

    /// Answers requests from a queue of canned responses and records every request.
    #[derive(Debug, Default)]
    pub struct FakeHttp {
        responses: RefCell<VecDeque<Result<Response, TransportError>>>,
        /// Every request sent, in order.
        pub sent: RefCell<Vec<Request>>,
    }

    impl FakeHttp {
        /// Queues a JSON response.
        pub fn respond(&self, status: u16, body: &str) -> &Self {
            self.responses.borrow_mut().push_back(Ok(Response {
                status,
                headers: vec![("content-type".into(), "application/json".into())],
                body: body.as_bytes().to_vec(),
            }));
            self
        }

        /// Queues a response with extra headers.
        pub fn respond_with_headers(&self, status: u16, headers: &[(&str, &str)], body: &str) {
            self.responses.borrow_mut().push_back(Ok(Response {
                status,
                headers: headers
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.to_string()))
                    .collect(),
                body: body.as_bytes().to_vec(),
            }));
        }

        /// Queues a transport failure.
        pub fn fail(&self, error: TransportError) {
            self.responses.borrow_mut().push_back(Err(error));
        }
    }

    impl Http for FakeHttp {
        fn send(&self, request: Request) -> Result<Response, TransportError> {
            self.sent.borrow_mut().push(request);
            self.responses
                .borrow_mut()
                .pop_front()
                .unwrap_or_else(|| Err(TransportError::Failed("no canned response".into())))
        }
    }

    /// A map in memory, and a log of the operations it served (as a host counts them: one
    /// per call, a read or a write).
    #[derive(Debug, Default)]
    pub struct FakeKv(
        pub RefCell<BTreeMap<String, Vec<u8>>>,
        pub RefCell<Vec<KvOp>>,
    );

    /// One operation a [`FakeKv`] served.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct KvOp {
        /// `get`, `set`, `delete`, `swap`, `list`, `increment`, `get-many`, `set-many`,
        /// `delete-many`.
        pub op: &'static str,
        /// The key (the first of a batch).
        pub key: String,
    }

    impl KvOp {
        /// Whether the operation writes (each its own transaction on Spin's SQLite store).
        pub fn writes(&self) -> bool {
            !matches!(self.op, "get" | "list" | "get-many")
        }
    }

    impl FakeKv {
        fn log(&self, op: &'static str, key: &str) {
            self.1.borrow_mut().push(KvOp {
                op,
                key: key.to_string(),
            });
        }

        /// The operations served since the last call, and forgets them.
        pub fn take_ops(&self) -> Vec<KvOp> {
            std::mem::take(&mut *self.1.borrow_mut())
        }
    }

    impl Kv for FakeKv {
        fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BackendError> {
            self.log("get", key);
            Ok(self.0.borrow().get(key).cloned())
        }
        fn set(&self, key: &str, value: &[u8]) -> Result<(), BackendError> {
            self.log("set", key);
            self.0.borrow_mut().insert(key.into(), value.to_vec());
            Ok(())
        }
        fn delete(&self, key: &str) -> Result<(), BackendError> {
            self.log("delete", key);
            self.0.borrow_mut().remove(key);
            Ok(())
        }
        fn compare_and_swap(
            &self,
            key: &str,
            expected: Option<&[u8]>,
            new: &[u8],
        ) -> Result<bool, BackendError> {
            self.log("swap", key);
            let mut map = self.0.borrow_mut();
            if map.get(key).map(Vec::as_slice) != expected {
                return Ok(false);
            }
            map.insert(key.into(), new.to_vec());
            Ok(true)
        }
        fn list_keys(
            &self,
            _cursor: Option<&str>,
        ) -> Result<(Vec<String>, Option<String>), BackendError> {
            self.log("list", "");
            Ok((self.0.borrow().keys().cloned().collect(), None))
        }
        fn set_many(&self, entries: &[(String, Vec<u8>)]) -> Result<(), BackendError> {
            self.log("set-many", entries.first().map_or("", |(k, _)| k.as_str()));
            let mut map = self.0.borrow_mut();
            for (key, value) in entries {
                map.insert(key.clone(), value.clone());
            }
            Ok(())
        }
        fn delete_many(&self, keys: &[String]) -> Result<(), BackendError> {
            self.log("delete-many", keys.first().map_or("", String::as_str));
            let mut map = self.0.borrow_mut();
            for key in keys {
                map.remove(key);
            }
            Ok(())
        }
        fn increment(&self, key: &str, delta: i64) -> Result<i64, BackendError> {
            self.log("increment", key);
            let mut map = self.0.borrow_mut();
            let current: i64 = match map.get(key) {
                None => 0,
                Some(bytes) => std::str::from_utf8(bytes)
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
                    .ok_or_else(|| BackendError(format!("{key} does not hold a number")))?,
            };
            let next = current.saturating_add(delta);
            map.insert(key.into(), next.to_string().into_bytes());
            Ok(next)
        }
    }

    /// Configuration from a map.
    #[derive(Debug, Default)]
    pub struct FakeConfig(pub BTreeMap<String, String>);

    impl FakeConfig {
        /// Builds one from pairs.
        pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
            Self(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        }
    }

    impl Config for FakeConfig {
        fn get(&self, key: &str) -> Result<Option<String>, BackendError> {
            Ok(self.0.get(key).filter(|v| !v.is_empty()).cloned())
        }
    }

    /// A clock that says the same time until it is advanced (sleeping advances it).
    #[derive(Debug)]
    pub struct FixedClock(pub std::cell::Cell<UnixMillis>);

    impl FixedClock {
        /// A clock at `now`.
        pub fn at(now: UnixMillis) -> Self {
            Self(std::cell::Cell::new(now))
        }
    }

    impl Clock for FixedClock {
        fn now(&self) -> UnixMillis {
            self.0.get()
        }
        fn sleep_ms(&self, ms: u64) {
            self.0.set(self.0.get() + ms);
        }
    }

    /// Counting bytes: deterministic "randomness" for tests.
    #[derive(Debug, Default)]
    pub struct FakeRandom(pub std::cell::Cell<u8>);

    impl Random for FakeRandom {
        fn bytes(&self, len: usize) -> Vec<u8> {
            (0..len)
                .map(|_| {
                    let next = self.0.get().wrapping_add(1);
                    self.0.set(next);
                    next
                })
                .collect()
        }
    }

    /// Every fake, for one test.
    #[derive(Debug, Default)]
    pub struct World {
        /// HTTP.
        pub http: FakeHttp,
        /// Storage.
        pub kv: FakeKv,
        /// Configuration.
        pub config: FakeConfig,
        /// Clock.
        pub clock: FixedClock,
        /// Randomness.
        pub random: FakeRandom,
    }

    impl Default for FixedClock {
        fn default() -> Self {
            Self::at(0)
        }
    }

    impl World {
        /// A world with `config` at time `now`.
        pub fn new(config: FakeConfig, now: UnixMillis) -> Self {
            Self {
                config,
                clock: FixedClock::at(now),
                ..Self::default()
            }
        }

        /// The environment over these fakes.
        pub fn env(&self) -> Env<'_> {
            Env {
                http: &self.http,
                kv: &self.kv,
                config: &self.config,
                clock: &self.clock,
                random: &self.random,
            }
        }
    }
}
