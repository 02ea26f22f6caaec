//! One connector deployment: the component, its configuration and storage, served over
//! HTTP (one fresh instance per request) and callable through its typed exports.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::WasiHttpView as _;

use lever_plugin::error::ConnectorError as WireError;

use crate::kv::KvStore;
use crate::runtime::bindings::exports::lever::connector::{partner, setup, types, webhooks};
use crate::runtime::bindings::{Embedder, EmbedderPre};
use crate::runtime::{GuestEnv, HostState, Runtime};
use crate::settings::{KvLocation, Settings};

/// The operations interface's export name (the WIT package's version included).
const OPERATIONS: &str = "lever:connector/operations@0.2.0";

/// The typed face's error, as the component returns it.
pub type ConnectorError = types::ConnectorError;

/// A configured connector, ready to serve. Cheap to clone.
#[derive(Clone)]
pub struct Connector {
    runtime: Runtime,
    env: Arc<GuestEnv>,
    proxy: ProxyPre<HostState>,
    /// The typed face, when the component exports it.
    embedder: Option<EmbedderPre<HostState>>,
    /// The hot calls' interfaces, loaded one at a time (type-checking all six interfaces'
    /// functions for every instance costs about a quarter of instantiating it).
    faces: Option<Arc<Faces>>,
    /// Serve HTTP with the logic compiled natively instead (the benchmark's baseline).
    native: bool,
}

/// Export indices of the typed face's interfaces that hot calls use.
struct Faces {
    pre: wasmtime::component::InstancePre<HostState>,
    webhooks: webhooks::GuestIndices,
    partner: partner::GuestIndices,
}

impl Faces {
    fn new(pre: &EmbedderPre<HostState>) -> wasmtime::Result<Self> {
        let pre = pre.instance_pre().clone();
        Ok(Self {
            webhooks: webhooks::GuestIndices::new(&pre)?,
            partner: partner::GuestIndices::new(&pre)?,
            pre,
        })
    }
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector").finish_non_exhaustive()
    }
}

fn json_response(status: u16, value: &serde_json::Value) -> hyper::Response<HyperOutgoingBody> {
    let body = Full::new(Bytes::from(value.to_string()))
        .map_err(wasmtime_wasi_http::Error::from)
        .boxed_unsync();
    let mut response = hyper::Response::new(body);
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

impl Connector {
    /// A connector running `runtime`'s component with `settings` (opens the KV store).
    pub fn new(runtime: Runtime, settings: &Settings) -> anyhow::Result<Self> {
        let kv = match &settings.kv {
            KvLocation::File(path) => KvStore::open(path)?,
            KvLocation::Memory => KvStore::in_memory()?,
        };
        let env = Arc::new(GuestEnv {
            clock_shift: crate::runtime::ClockShift::default(),
            config: settings.connector.clone(),
            kv,
            buckets: settings.buckets.clone(),
            outbound: crate::outbound::OutboundPolicy::new(settings.allowed_outbound.clone())
                .waiting_at_most(settings.outbound_timeout),
            host_calls: None,
        });
        let proxy = runtime.proxy_pre()?;
        // Any wasi:http component can be served; the typed face is used when exported.
        let embedder = runtime.embedder_pre().ok();
        let faces = match &embedder {
            Some(pre) => Some(Arc::new(Faces::new(pre)?)),
            None => None,
        };
        Ok(Self {
            runtime,
            env,
            proxy,
            embedder,
            faces,
            native: false,
        })
    }

    /// The same connector with its HTTP face served by the logic compiled natively (same
    /// server, store, configuration and outbound pool): the baseline `lever-host bench`
    /// compares the component against. The typed face still runs the component.
    pub fn with_native_http_face(mut self) -> Self {
        self.native = true;
        self
    }

    /// The same component and store with its environment changed by `change` (another
    /// upstream, an in-process responder): `bench` uses it to serve one state several ways.
    pub fn with_env(&self, change: impl FnOnce(&mut GuestEnv)) -> Self {
        let mut env = (*self.env).clone();
        change(&mut env);
        Self {
            env: Arc::new(env),
            ..self.clone()
        }
    }

    /// The environment the component gets (configuration, store, outbound policy).
    pub fn env(&self) -> &Arc<GuestEnv> {
        &self.env
    }

    /// Calls `partner.get-linked-candidate` in a fresh instance (the cheapest call: one
    /// key-value read) and answers the instance's peak linear memory.
    pub async fn linked_candidate(
        &self,
        connection: &str,
        opportunity_id: &str,
    ) -> anyhow::Result<(Result<Option<String>, ConnectorError>, usize)> {
        let (mut store, face) = self.partner().await?;
        let result = face
            .call_get_linked_candidate(
                &mut store,
                &connection.to_string(),
                &opportunity_id.to_string(),
            )
            .await?;
        Ok((result, store.data().memory_peak()))
    }

    /// Moves the component's wall clock `by` ahead (tests and demos of token expiry, state
    /// expiry and claim leases; `serve` never does this).
    pub fn advance_clock(&self, by: std::time::Duration) {
        self.env.clock_shift.advance(by);
    }

    /// The key-value store the component uses.
    pub fn kv(&self) -> &KvStore {
        &self.env.kv
    }

    /// Serves one HTTP request through a fresh instance of the component.
    pub async fn handle(
        &self,
        request: hyper::Request<hyper::body::Incoming>,
    ) -> hyper::Response<HyperOutgoingBody> {
        let started = Instant::now();
        let method = request.method().clone();
        let path = request.uri().path().to_string();
        if self.native {
            let (status, headers, body) = crate::native::handle(self.env.clone(), request).await;
            let mut response = hyper::Response::new(
                Full::new(Bytes::from(body))
                    .map_err(wasmtime_wasi_http::Error::from)
                    .boxed_unsync(),
            );
            *response.status_mut() = hyper::StatusCode::from_u16(status)
                .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
            for (name, value) in headers {
                if let (Ok(name), Ok(value)) = (
                    hyper::header::HeaderName::from_bytes(name.as_bytes()),
                    hyper::header::HeaderValue::from_str(&value),
                ) {
                    response.headers_mut().append(name, value);
                }
            }
            return self.log(&method, &path, started, response);
        }
        let response = match self.run_http(request).await {
            Ok(response) => response,
            Err(error) => {
                tracing::error!(%method, %path, error = %format!("{error:#}"), "the component failed");
                json_response(
                    500,
                    &WireError::Internal("the component failed; see the host log".into()).to_json(),
                )
            }
        };
        self.log(&method, &path, started, response)
    }

    fn log(
        &self,
        method: &hyper::Method,
        path: &str,
        started: Instant,
        response: hyper::Response<HyperOutgoingBody>,
    ) -> hyper::Response<HyperOutgoingBody> {
        tracing::info!(
            %method,
            %path,
            status = response.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "request"
        );
        response
    }

    async fn run_http(
        &self,
        request: hyper::Request<hyper::body::Incoming>,
    ) -> anyhow::Result<hyper::Response<HyperOutgoingBody>> {
        let mut store = self.runtime.store(&self.env);
        let (sender, receiver) = tokio::sync::oneshot::channel();
        // A body the component answers without reading is drained after the answer, so the
        // client gets the answer instead of a reset.
        let request = request.map(crate::drain::DrainOnDrop::new);
        let incoming = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, request)?;
        let outparam = store.data_mut().http().new_response_outparam(sender)?;
        let proxy = self.proxy.clone();
        let task = tokio::task::spawn(async move {
            let result = async {
                let instance = proxy.instantiate_async(&mut store).await?;
                instance
                    .wasi_http_incoming_handler()
                    .call_handle(&mut store, incoming, outparam)
                    .await
            }
            .await;
            let memory = store
                .data()
                .memory_denied()
                .then(|| store.data().memory_limit());
            result.map_err(|trap| (trap, memory))
        });
        let timeout = self.runtime.request_timeout();
        match tokio::time::timeout(timeout, receiver).await {
            Err(_) => {
                task.abort();
                Ok(json_response(
                    504,
                    &WireError::Internal(format!(
                        "the component did not answer within its time limit ({}s) and was stopped",
                        timeout.as_secs()
                    ))
                    .to_json(),
                ))
            }
            Ok(Ok(Ok(response))) => Ok(response),
            Ok(Ok(Err(code))) => {
                anyhow::bail!("the component answered with an error code: {code:?}")
            }
            Ok(Err(_)) => match task.await {
                Ok(Ok(())) => anyhow::bail!("the component never set a response"),
                Ok(Err((trap, memory))) => {
                    // Stopped by its sandbox: say which limit, and keep the detail in the log.
                    let stopped = if trap.downcast_ref::<wasmtime::Trap>()
                        == Some(&wasmtime::Trap::Interrupt)
                    {
                        Some((
                            504,
                            format!(
                                "the component ran past its time limit ({}s) and was stopped",
                                timeout.as_secs()
                            ),
                        ))
                    } else {
                        memory.map(|limit| {
                            (500, format!(
                                "the component ran out of its memory limit ({} MiB) and was stopped",
                                limit >> 20
                            ))
                        })
                    };
                    match stopped {
                        Some((status, message)) => {
                            tracing::warn!(error = %format!("{trap:#}"), "{message}");
                            Ok(json_response(
                                status,
                                &WireError::Internal(message).to_json(),
                            ))
                        }
                        None => Err(anyhow::Error::from(trap).context("the component trapped")),
                    }
                }
                Err(join) => Err(join.into()),
            },
        }
    }

    /// A fresh store and instance of the typed face, for one call.
    pub async fn typed(&self) -> anyhow::Result<(wasmtime::Store<HostState>, Embedder)> {
        let mut store = self.runtime.store(&self.env);
        let embedder = self.embedder.as_ref().ok_or_else(|| {
            anyhow::anyhow!("the component does not export the lever:connector interfaces")
        })?;
        let instance = embedder.instantiate_async(&mut store).await?;
        Ok((store, instance))
    }

    /// A fresh store and instance with only `webhooks` loaded (the hot calls' face).
    pub async fn webhooks(&self) -> anyhow::Result<(wasmtime::Store<HostState>, webhooks::Guest)> {
        self.face(|faces, store, instance| faces.webhooks.load(store, instance))
            .await
    }

    /// A fresh store and instance with only `partner` loaded.
    pub async fn partner(&self) -> anyhow::Result<(wasmtime::Store<HostState>, partner::Guest)> {
        self.face(|faces, store, instance| faces.partner.load(store, instance))
            .await
    }

    async fn face<G>(
        &self,
        load: impl FnOnce(
            &Faces,
            &mut wasmtime::Store<HostState>,
            &wasmtime::component::Instance,
        ) -> wasmtime::Result<G>,
    ) -> anyhow::Result<(wasmtime::Store<HostState>, G)> {
        let faces = self.faces.as_ref().ok_or_else(|| {
            anyhow::anyhow!("the component does not export the lever:connector interfaces")
        })?;
        let mut store = self.runtime.store(&self.env);
        let instance = faces.pre.instantiate_async(&mut store).await?;
        let guest = load(faces, &mut store, &instance)?;
        Ok((store, guest))
    }

    /// Calls `operations.invoke`: operation `name` (a case of the WIT `operation` enum,
    /// named) with its JSON input; its JSON answer, or the connector error.
    pub async fn invoke(
        &self,
        connection: &str,
        name: &str,
        input: &str,
    ) -> anyhow::Result<Result<String, ConnectorError>> {
        use wasmtime::component::Val;
        let faces = self.faces.as_ref().ok_or_else(|| {
            anyhow::anyhow!("the component does not export the lever:connector interfaces")
        })?;
        let mut store = self.runtime.store(&self.env);
        let instance = faces.pre.instantiate_async(&mut store).await?;
        let interface = instance
            .get_export_index(&mut store, None, OPERATIONS)
            .ok_or_else(|| anyhow::anyhow!("the component does not export {OPERATIONS}"))?;
        let index = instance
            .get_export_index(&mut store, Some(&interface), "invoke")
            .ok_or_else(|| anyhow::anyhow!("lever:connector/operations has no invoke"))?;
        let func = instance
            .get_func(&mut store, index)
            .ok_or_else(|| anyhow::anyhow!("operations.invoke is not a function"))?;
        // The enum's case is passed by name: the dynamic API takes names, where the
        // generated type would need one Rust variant per operation.
        let params = [
            Val::String(connection.into()),
            Val::Enum(name.into()),
            Val::String(input.into()),
        ];
        let mut results = [Val::Bool(false)];
        func.call_async(&mut store, &params, &mut results).await?;
        match results {
            [Val::Result(Ok(Some(answer)))] => match *answer {
                Val::String(text) => Ok(Ok(text)),
                other => anyhow::bail!("operations.invoke answered {other:?}"),
            },
            [Val::Result(Err(Some(error)))] => Ok(Err(crate::wire::error_from_val(&error)?)),
            other => anyhow::bail!("operations.invoke answered {other:?}"),
        }
    }

    /// Calls `webhooks.handle-lever-webhook` (the typed face).
    pub async fn handle_lever_webhook(
        &self,
        connection: &str,
        body: &[u8],
    ) -> anyhow::Result<Result<webhooks::WebhookReceipt, ConnectorError>> {
        let (mut store, face) = self.webhooks().await?;
        Ok(face
            .call_handle_lever_webhook(&mut store, &connection.to_string(), body)
            .await?)
    }

    /// Calls `partner.link-candidate`.
    pub async fn link_candidate(
        &self,
        connection: &str,
        partner_candidate_id: &str,
        opportunity_id: &str,
    ) -> anyhow::Result<Result<(), ConnectorError>> {
        let (mut store, face) = self.partner().await?;
        Ok(face
            .call_link_candidate(
                &mut store,
                &connection.to_string(),
                &partner_candidate_id.to_string(),
                &opportunity_id.to_string(),
            )
            .await?)
    }

    /// Calls `setup.get-status`.
    pub async fn status(
        &self,
        connection: &str,
    ) -> anyhow::Result<Result<setup::ConnectionStatus, ConnectorError>> {
        let (mut store, instance) = self.typed().await?;
        Ok(instance
            .lever_connector_setup()
            .call_get_status(&mut store, &connection.to_string())
            .await?)
    }

    /// Every connection with credentials (the typed face's `list-connections`: the
    /// registry, never a walk of the store).
    pub async fn list_connections(&self) -> anyhow::Result<Vec<String>> {
        let (mut store, instance) = self.typed().await?;
        match instance
            .lever_connector_setup()
            .call_list_connections(&mut store)
            .await?
        {
            Ok(connections) => Ok(connections),
            Err(e) => anyhow::bail!("listing connections: {}", crate::wire::error(&e)),
        }
    }

    /// Reconciles one connection (the typed face's `reconcile`) and polls its postings
    /// where posting triggers are enabled; answers its report or error, as JSON.
    pub async fn reconcile_one(&self, connection: &str) -> anyhow::Result<serde_json::Value> {
        let connection = connection.to_string();
        let (mut store, instance) = self.typed().await?;
        let result = instance
            .lever_connector_partner()
            .call_reconcile(&mut store, &connection)
            .await?;
        let mut report = match result {
            Ok(r) => serde_json::json!({
                "changed": r.changed, "tracked": r.tracked, "fixed": r.fixed, "cursor": r.cursor
            }),
            Err(e) => crate::wire::error(&e).to_json(),
        };
        // Posting triggers poll on the same interval, where enabled.
        let (mut store, instance) = self.typed().await?;
        match instance
            .lever_connector_triggers()
            .call_poll_postings(&mut store, &connection)
            .await?
        {
            Ok(p) => {
                report["postings"] =
                    serde_json::json!({ "created": p.created, "updated": p.updated });
            }
            Err(ConnectorError::NotConfigured(_)) => {}
            Err(e) => report["postings"] = crate::wire::error(&e).to_json(),
        }
        Ok(report)
    }

    /// Reconciles every connection (and polls its postings) once every `every`, each at
    /// its own offset in the interval (from a hash of its id), so a thousand connections
    /// are spread over the interval instead of fired at once; logs each report. Stops
    /// when dropped.
    pub fn spawn_reconciler(&self, every: std::time::Duration) -> JoinHandle<()> {
        let connector = self.clone();
        tokio::spawn(async move {
            let mut cycle = tokio::time::Instant::now() + every;
            loop {
                tokio::time::sleep_until(cycle).await;
                let connections = match connector.list_connections().await {
                    Ok(connections) => connections,
                    Err(error) => {
                        tracing::warn!(error = %format!("{error:#}"), "reconciliation failed");
                        Vec::new()
                    }
                };
                let mut scheduled: Vec<(std::time::Duration, String)> = connections
                    .into_iter()
                    .map(|c| (offset_in(&c, every), c))
                    .collect();
                scheduled.sort();
                for (offset, connection) in scheduled {
                    tokio::time::sleep_until(cycle + offset).await;
                    match connector.reconcile_one(&connection).await {
                        Ok(report) => tracing::info!(%connection, %report, "reconciled"),
                        Err(error) => tracing::warn!(
                            %connection,
                            error = %format!("{error:#}"),
                            "reconciliation failed"
                        ),
                    }
                }
                cycle += every;
                // A cycle that overran its interval starts the next one now.
                cycle = cycle.max(tokio::time::Instant::now());
            }
        })
    }

    /// Retries what is due in every connection's outbox once (the component's `tick`).
    pub async fn tick(&self) -> anyhow::Result<Result<serde_json::Value, ConnectorError>> {
        let (mut store, face) = self.webhooks().await?;
        Ok(face.call_tick(&mut store).await?.map(|r| {
            serde_json::json!({
                "attempted": r.attempted,
                "delivered": r.delivered,
                "rescheduled": r.rescheduled,
                "deadLettered": r.dead_lettered,
                "swept": r.swept,
                "waiting": r.waiting,
            })
        }))
    }

    /// Calls [`Connector::tick`] every `every` until dropped, logging what it did.
    pub fn spawn_ticker(&self, every: std::time::Duration) -> JoinHandle<()> {
        let connector = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                match connector.tick().await {
                    Ok(Ok(report)) if report["attempted"] != 0 => {
                        tracing::info!(%report, "outbox tick")
                    }
                    Ok(Ok(_)) => {}
                    Ok(Err(error)) => {
                        tracing::warn!(error = %crate::wire::error(&error).to_json(), "outbox tick failed")
                    }
                    Err(error) => {
                        tracing::warn!(error = %format!("{error:#}"), "outbox tick failed")
                    }
                }
            }
        })
    }

    /// Serves HTTP on `listener` until the returned handle is dropped.
    pub fn spawn(&self, listener: TcpListener) -> anyhow::Result<Served> {
        let addr = listener.local_addr()?;
        let connector = self.clone();
        let task = tokio::spawn(async move {
            loop {
                let (stream, peer) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        tracing::warn!(%error, "accept failed");
                        continue;
                    }
                };
                let connector = connector.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let connector = connector.clone();
                        async move { Ok::<_, Infallible>(connector.handle(request).await) }
                    });
                    if let Err(error) = http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), service)
                        .await
                    {
                        tracing::debug!(%peer, %error, "connection ended with an error");
                    }
                });
            }
        });
        Ok(Served { addr, task })
    }

    /// Binds `addr` and serves.
    pub async fn bind(&self, addr: SocketAddr) -> anyhow::Result<Served> {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr}"))?;
        self.spawn(listener)
    }
}

/// Where in an interval of `every` a connection's periodic work falls: FNV-1a of its id,
/// so each connection keeps its own offset from one interval to the next.
pub fn offset_in(connection: &str, every: std::time::Duration) -> std::time::Duration {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in connection.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    let span = u64::try_from(every.as_micros()).unwrap_or(u64::MAX).max(1);
    std::time::Duration::from_micros(hash % span)
}

/// A running server; dropping it stops accepting connections.
#[derive(Debug)]
pub struct Served {
    /// The address it listens on.
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Served {
    /// `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Waits until the server stops (it does not, unless it panics).
    pub async fn wait(mut self) -> anyhow::Result<()> {
        Ok((&mut self.task).await?)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::offset_in;
    use std::time::Duration;

    #[test]
    fn a_thousand_connections_spread_over_the_interval() {
        let every = Duration::from_secs(300);
        let mut per_tenth = [0u32; 10];
        for i in 0..1000 {
            let offset = offset_in(&format!("customer-{i}"), every);
            assert!(offset < every);
            assert_eq!(offset, offset_in(&format!("customer-{i}"), every), "stable");
            per_tenth[(offset.as_secs() / 30) as usize] += 1;
        }
        // Every tenth of the interval gets its share (100 ± 40), none gets them all.
        assert!(
            per_tenth.iter().all(|n| (60..=140).contains(n)),
            "{per_tenth:?}"
        );
    }
}
