//! `lever-host`: serve the lever-connector component, run the simulators, or run the demo.

use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use lever_host::runtime::Runtime;
use lever_host::server::Connector;
use lever_host::settings::{redacted, Settings};
use lever_host::sim::{partner, LeverSimOptions, Simulators};

#[derive(Parser)]
#[command(
    name = "lever-host",
    version,
    about = "Host for the lever-connector WebAssembly component"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the component's HTTP face (one fresh instance per request).
    Serve {
        /// The TOML configuration file.
        #[arg(long)]
        config: PathBuf,
        /// Listen address (overrides the file; default 127.0.0.1:8080).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// A component to run instead of the embedded one.
        #[arg(long)]
        component: Option<PathBuf>,
        /// Log as JSON lines.
        #[arg(long)]
        json_logs: bool,
        /// Where compiled components are kept between runs (default
        /// `$XDG_CACHE_HOME/lever-host` or `~/.cache/lever-host`).
        #[arg(long, env = "LEVER_HOST_CACHE_DIR")]
        cache_dir: Option<PathBuf>,
        /// Compile the component at every start instead.
        #[arg(long)]
        no_cache: bool,
    },
    /// Run one operation of the component (through its typed exports) and print the answer as JSON.
    #[command(after_help = lever_host::call::usage())]
    Call {
        /// The TOML configuration file (the same as for serve).
        #[arg(long)]
        config: PathBuf,
        /// A component to run instead of the embedded one.
        #[arg(long)]
        component: Option<PathBuf>,
        /// The function, e.g. get-status.
        function: String,
        /// Its arguments; the connection id comes first for every per-account function.
        args: Vec<String>,
    },
    /// Measure the component against the same logic compiled natively (see docs/performance.md).
    Bench {
        /// A short run that checks every part works (figures are rough).
        #[arg(long)]
        quick: bool,
        /// Where to write the figures as JSON.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Run only these parts (e2e, health, decision, instantiate, restart, bulk,
        /// endurance; and scale, which runs only when named).
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
        /// Calls in the in-process decision-path comparison (each side).
        #[arg(long)]
        decisions: Option<usize>,
        /// Deliveries per mode in the full-flow comparison (more, to profile it).
        #[arg(long)]
        deliveries: Option<usize>,
        /// Fresh instances per allocation strategy (more, to profile instantiation).
        #[arg(long)]
        instances: Option<usize>,
        /// Connections in the endurance run.
        #[arg(long)]
        endurance_connections: Option<usize>,
        /// Deliveries in the endurance run (through the native build of the logic).
        #[arg(long)]
        endurance_deliveries: Option<usize>,
        /// Keep the state in this SQLite file (created fresh), as `serve` does by default,
        /// instead of in memory.
        #[arg(long)]
        kv_file: Option<PathBuf>,
        /// A component to measure instead of the embedded one (one built with symbols, to
        /// profile).
        #[arg(long)]
        component: Option<PathBuf>,
    },
    /// Run the Lever API simulator and the partner simulator.
    Sim {
        /// Lever simulator address (default: a free loopback port).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Partner simulator address (default: a free loopback port).
        #[arg(long)]
        partner_listen: Option<SocketAddr>,
        /// The partner's Standard Webhooks secret.
        #[arg(long, default_value = partner::DEFAULT_SECRET)]
        partner_secret: String,
        /// Steady request rate per credential before 429s.
        #[arg(long, default_value_t = 10.0)]
        rate: f64,
        /// Burst size per credential.
        #[arg(long, default_value_t = 20.0)]
        burst: f64,
    },
    /// Connect two companies to two simulated Lever accounts and run the flow for both.
    Demo,
}

fn read_component(path: Option<&PathBuf>) -> anyhow::Result<Vec<u8>> {
    match path {
        Some(path) => std::fs::read(path).with_context(|| format!("reading {}", path.display())),
        None => Ok(lever_host::COMPONENT.to_vec()),
    }
}

fn init_logs(json: bool) {
    init_logs_at(json, "info");
}

fn init_logs_at(json: bool, default: &str) {
    // `RUST_LOG` as a list of `target=level` directives (e.g. `warn,lever_host=debug`).
    let filter: tracing_subscriber::filter::Targets = std::env::var("RUST_LOG")
        .ok()
        .and_then(|directives| directives.parse().ok())
        .unwrap_or_else(|| default.parse().unwrap_or_default());
    let filter = lever_host::logs::without_secrets(filter);
    let builder = tracing_subscriber::fmt()
        .with_max_level(lever_host::logs::most_verbose(&filter))
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    if json {
        builder.json().finish().with(filter).init();
    } else {
        builder.finish().with(filter).init();
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Serve {
            config,
            listen,
            component,
            json_logs,
            cache_dir,
            no_cache,
        } => {
            init_logs(json_logs);
            let mut settings = Settings::load(&config, std::env::vars())?;
            if let Some(listen) = listen {
                settings.listen = listen;
            }
            let wasm = match &component {
                Some(path) => {
                    std::fs::read(path).with_context(|| format!("reading {}", path.display()))?
                }
                None => lever_host::COMPONENT.to_vec(),
            };
            tracing::info!(
                connector = ?redacted(&settings.connector),
                allowed_outbound = ?settings.allowed_outbound,
                kv = ?settings.kv,
                "configuration loaded"
            );
            let cache_dir = if no_cache {
                None
            } else {
                cache_dir.or_else(lever_host::runtime::default_cache_dir)
            };
            let (runtime, cache) = Runtime::cached(&wasm, settings.limits, cache_dir.as_deref())?;
            tracing::info!(?cache, dir = ?cache_dir, "component ready");
            let connector = Connector::new(runtime, &settings)?;
            let served = connector.bind(settings.listen).await?;
            let _reconciler = settings
                .reconcile_every
                .map(|every| connector.spawn_reconciler(every));
            let _ticker = settings
                .tick_every
                .map(|every| connector.spawn_ticker(every));
            println!("listening on {}", served.url());
            tokio::select! {
                result = served.wait() => result?,
                _ = tokio::signal::ctrl_c() => tracing::info!("shutting down"),
            }
        }
        Command::Call {
            config,
            component,
            function,
            args,
        } => {
            init_logs(false);
            let settings = Settings::load(&config, std::env::vars())?;
            let runtime = Runtime::new(&read_component(component.as_ref())?, settings.limits)?;
            let connector = Connector::new(runtime, &settings)?;
            match lever_host::call::run(&connector, &function, &args).await? {
                Ok(value) => println!("{value:#}"),
                Err(error) => {
                    println!("{error:#}");
                    std::process::exit(2);
                }
            }
        }
        Command::Sim {
            listen,
            partner_listen,
            partner_secret,
            rate,
            burst,
        } => {
            init_logs(false);
            let options = LeverSimOptions {
                rate_per_sec: rate,
                burst,
                ..LeverSimOptions::default()
            };
            let sims = Simulators::start(options, &partner_secret, listen, partner_listen).await?;
            println!("lever api: {}", sims.lever_api_base());
            for (account, key) in sims.lever.api_keys() {
                println!("  account {account}: API key {key:?} (Basic)");
            }
            println!(
                "lever oauth: {} (authorize, oauth/token), client {:?} secret {:?}",
                sims.lever_auth_base(),
                lever_host::sim::lever::oauth::CLIENT_ID,
                lever_host::sim::lever::oauth::CLIENT_SECRET
            );
            println!(
                "  deliveries: GET http://{}/_sim/deliveries",
                sims.lever_addr
            );
            println!("partner callback: {}", sims.partner_callback_url());
            println!("  received: GET http://{}/_sim/events", sims.partner_addr);
            tokio::signal::ctrl_c().await?;
        }
        Command::Bench {
            quick,
            out,
            only,
            decisions,
            deliveries,
            instances,
            endurance_connections,
            endurance_deliveries,
            kv_file,
            component,
        } => {
            // Per-request lines would drown the table (RUST_LOG=info shows them).
            init_logs_at(false, "warn");
            let mut sizes = if quick {
                lever_host::bench::Sizes::quick()
            } else {
                lever_host::bench::Sizes::full()
            };
            sizes.only = only;
            if let Some(decisions) = decisions {
                sizes.decisions = decisions;
            }
            if let Some(deliveries) = deliveries {
                sizes.deliveries = deliveries;
            }
            if let Some(instances) = instances {
                sizes.instances = instances;
            }
            if let Some(connections) = endurance_connections {
                sizes.endurance.connections = connections;
            }
            if let Some(deliveries) = endurance_deliveries {
                sizes.endurance.deliveries = deliveries;
            }
            if let Some(path) = kv_file {
                // A fresh store: the figures must not depend on what an earlier run left.
                for suffix in ["", "-wal", "-shm"] {
                    let file = PathBuf::from(format!("{}{suffix}", path.display()));
                    match std::fs::remove_file(&file) {
                        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                            return Err(e).with_context(|| format!("removing {}", file.display()))
                        }
                        _ => {}
                    }
                }
                sizes.kv_file = Some(path);
            }
            let out = out.unwrap_or_else(lever_host::bench::default_out);
            let exe = std::env::current_exe().context("finding this executable")?;
            let results =
                lever_host::bench::run(&read_component(component.as_ref())?, &sizes, &out, &exe)
                    .await?;
            lever_host::bench::print_table(&results, &out);
        }
        Command::Demo => {
            let mut out = std::io::stdout();
            if let Err(error) = lever_host::demo::run(lever_host::COMPONENT, &mut out).await {
                eprintln!("\ndemo failed: {error:#}");
                std::process::exit(1);
            }
        }
    }
    Ok(())
}
