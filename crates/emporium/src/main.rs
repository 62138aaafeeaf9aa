use std::net::SocketAddr;

use clap::{Parser, Subcommand};
use kernel::Config;

/// Emporium: a multi-vendor marketplace. Configuration comes from environment
/// variables (see README.md); with none set it serves on 127.0.0.1:8080 using
/// PostgreSQL on localhost.
#[derive(Parser)]
#[command(name = "emporium", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run services: all of them in one process by default, or a subset.
    Serve {
        /// Comma-separated services to run here (identity, vendors, catalog, search,
        /// inventory, cart, notifications, web); the others are reached over HTTP at
        /// <SERVICE>_URL or EMPORIUM_GATEWAY_URL.
        #[arg(long)]
        services: Option<String>,
        /// Listen address; overrides EMPORIUM_BIND.
        #[arg(long)]
        bind: Option<SocketAddr>,
    },
    /// The public entry of the distributed mode: routes each path to its service's
    /// replicas (`<SERVICE>_URL=http://a:8080,http://b:8080`), never `/internal/…`.
    Gateway {
        /// Listen address; overrides EMPORIUM_BIND.
        #[arg(long)]
        bind: Option<SocketAddr>,
    },
    /// The distributed mode on this machine: every service in a process of its own with
    /// a database of its own (`<DATABASE_URL's name>_<service>`), two replicas of
    /// catalog, search and web, and the gateway in front, joined by RabbitMQ (AMQP_URL)
    /// and Redis (REDIS_URL). A member that exits is started again.
    Topology {
        /// Where the gateway listens; overrides EMPORIUM_BIND.
        #[arg(long)]
        bind: Option<SocketAddr>,
        /// The members listen on consecutive loopback ports from this one.
        #[arg(long, default_value_t = 8101)]
        first_port: u16,
        /// Media and the search replicas' indexes go here.
        #[arg(long, default_value = "data/topology")]
        data_dir: std::path::PathBuf,
    },
    /// Exit 0 when the process on EMPORIUM_BIND answers its /health within 2 s, 1
    /// otherwise: the container image's health check (it has no curl).
    Healthcheck,
    /// Create the database if needed and migrate every domain schema, then exit.
    Migrate,
    /// Administrative tasks.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Fill the marketplace with data.
    Seed {
        /// A marketplace worth browsing: 10 approved stores, a three-level category tree,
        /// 300 products with variants, attributes and images, and 5 customers.
        #[arg(long)]
        demo: bool,
        /// Benchmark data: N more published products over the demo's stores and
        /// categories, written in bulk, then the search index rebuilt.
        #[arg(long, value_name = "N")]
        products: Option<u64>,
    },
    /// The product catalog.
    Catalog {
        #[command(subcommand)]
        command: CatalogCommand,
    },
    /// The search index.
    Search {
        #[command(subcommand)]
        command: SearchCommand,
    },
    /// Event outbox and dead letters.
    Outbox {
        #[command(subcommand)]
        command: OutboxCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a verified user, optionally an admin.
    CreateUser {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "Administrator")]
        name: String,
        /// The password; read from EMPORIUM_ADMIN_PASSWORD when omitted, so it stays
        /// out of shell history.
        #[arg(long, env = "EMPORIUM_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
        /// Grant the admin role.
        #[arg(long)]
        admin: bool,
    },
}

#[derive(Subcommand)]
enum CatalogCommand {
    /// Import products from a CSV file (one row per variant; see docs/api.md) into a
    /// store, with a progress bar; prints the rows it refused and why.
    Import {
        /// The store's id (`sto_…`) or slug.
        #[arg(long)]
        store: String,
        /// The CSV file (UTF-8).
        file: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
enum SearchCommand {
    /// Rebuild the index from the catalog (with the server stopped; a running server
    /// rebuilds on POST /api/v1/search/reindex).
    Reindex,
}

#[derive(Subcommand)]
enum OutboxCommand {
    /// Re-deliver every dead-lettered event to the consumer that failed it.
    Replay,
}

impl Command {
    /// What this process calls itself in exported spans (unless `OTEL_SERVICE_NAME`
    /// says otherwise): the services it serves, the gateway, or `emporium`.
    fn process_name(&self) -> String {
        match self {
            Command::Serve {
                services: Some(services),
                ..
            } => services.replace(',', "+"),
            Command::Gateway { .. } => "gateway".to_owned(),
            _ => "emporium".to_owned(),
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let vars = std::env::vars().collect();
    let mut config = Config::from_vars(&vars)?;
    let _telemetry = kernel::telemetry::init(
        config.log_format,
        &config.tracing,
        &cli.command.process_name(),
    );
    match cli.command {
        Command::Serve { services, bind } => {
            if let Some(bind) = bind {
                config.bind = bind;
            }
            let services = emporium::select_services(services.as_deref())?;
            let bind = config.bind;
            let public_url = config.public_url.clone();
            let app = emporium::build(config, &services).await?;
            let listener = tokio::net::TcpListener::bind(bind).await?;
            let local = listener.local_addr()?;
            tracing::info!(address = %local, services = ?services, "serving");
            eprintln!(
                "Emporium is running at http://{local} (public URL {public_url}); services: {}",
                services.join(", ")
            );
            let platform = app.platform.clone();
            emporium::serve::serve(listener, app.router, shutdown_signal()).await?;
            platform.shut_down();
        }
        Command::Gateway { bind } => {
            if let Some(bind) = bind {
                config.bind = bind;
            }
            let settings = gateway::GatewayConfig::from_vars(&config, emporium::SERVICES, &vars)?;
            anyhow::ensure!(
                !settings.upstreams.is_empty(),
                "the gateway routes to no service: set <SERVICE>_URL for each (e.g. \
                 CATALOG_URL=http://10.0.0.5:8080,http://10.0.0.6:8080)"
            );
            let names: Vec<&str> = settings.upstreams.iter().map(|(n, _)| n.as_str()).collect();
            eprintln!("Gateway routes to: {}", names.join(", "));
            let router = kernel::http::middleware::edge(gateway::router(settings)?);
            let listener = tokio::net::TcpListener::bind(config.bind).await?;
            eprintln!(
                "Emporium's gateway is listening at http://{}",
                listener.local_addr()?
            );
            emporium::serve::serve(listener, router, shutdown_signal()).await?;
        }
        Command::Topology {
            bind,
            first_port,
            data_dir,
        } => {
            let gateway = bind.unwrap_or(config.bind);
            let mut plan =
                emporium::topology::Plan::from_config(&config, std::env::current_exe()?, gateway)?;
            plan.first_port = Some(first_port);
            plan.data_dir = data_dir;
            let topology = emporium::topology::Topology::start(plan).await?;
            for member in topology.members() {
                eprintln!("  {:<14} {}", member.name, member.url());
            }
            eprintln!(
                "Emporium runs apart: open {} (the gateway); Ctrl-C stops every process",
                topology.gateway_url()
            );
            topology.supervise(shutdown_signal()).await;
        }
        Command::Healthcheck => {
            let port = config.bind.port();
            let local = kernel::http::client::ServiceClient::remote(
                "emporium",
                &format!("http://127.0.0.1:{port}"),
                std::time::Duration::from_secs(2),
            );
            if let Err(e) = local.get("/health").send_bytes().await {
                eprintln!("unhealthy: {e}");
                std::process::exit(1);
            }
        }
        Command::Migrate => {
            emporium::migrate_all(&config).await?;
            eprintln!("Migrated every schema in {}", config.database_url);
        }
        Command::Admin {
            command:
                AdminCommand::CreateUser {
                    email,
                    name,
                    password,
                    admin,
                },
        } => {
            let pool = identity::connect(&config).await?;
            match identity::create_user(&pool, &config, &email, &name, &password, admin).await {
                Ok(user) => eprintln!(
                    "Created {} ({}){}",
                    user.email,
                    user.id,
                    if admin { " with the admin role" } else { "" }
                ),
                Err(e) => {
                    let problem = kernel::http::Problem::from(e);
                    eprintln!("Could not create the user: {}", problem.title);
                    for f in problem.errors {
                        eprintln!("  {}: {}", f.field, f.message);
                    }
                    std::process::exit(1);
                }
            }
        }
        Command::Seed {
            demo: false,
            products: Some(n),
        } => {
            let started = std::time::Instant::now();
            emporium::seed::products(&config, n).await?;
            let written = started.elapsed();
            let count = emporium::reindex_search(&config).await?;
            eprintln!(
                "Seeded {n} products in {:.1}s ({:.0}/s); search index rebuilt with {count} in {:.1}s",
                written.as_secs_f64(),
                n as f64 / written.as_secs_f64().max(0.001),
                (started.elapsed() - written).as_secs_f64()
            );
        }
        Command::Seed { demo, products } => {
            anyhow::ensure!(
                demo && products.is_none(),
                "say what to seed: --demo, or --products N (after --demo)"
            );
            let app = emporium::build(config, emporium::SERVICES).await?;
            let summary = emporium::seed::demo(&app.platform).await?;
            eprintln!(
                "Seeded {} stores, {} categories, {} products, {} customers and {} reviews. Every demo account's password is {:?}; the admin is admin@demo.emporium.localhost.",
                summary.stores,
                summary.categories,
                summary.products,
                summary.customers,
                summary.reviews,
                emporium::seed::DEMO_PASSWORD
            );
            app.platform.shut_down();
        }
        Command::Catalog {
            command: CatalogCommand::Import { store, file },
        } => {
            let bytes = std::fs::read(&file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let report = emporium::import_products(&config, &store, &bytes).await?;
            for r in &report.rejected {
                eprintln!(
                    "line {}: {} {} {}: {}",
                    r.line, r.product_slug, r.sku, r.field, r.message
                );
            }
            eprintln!(
                "{} rows: {} products created, {} updated ({} published); {} rows refused",
                report.rows,
                report.created,
                report.updated,
                report.published,
                report.rejected.len()
            );
            if !report.rejected.is_empty() {
                std::process::exit(2);
            }
        }
        Command::Search {
            command: SearchCommand::Reindex,
        } => {
            let started = std::time::Instant::now();
            let count = emporium::reindex_search(&config).await?;
            eprintln!(
                "Indexed {count} products in {:.1}s ({:.0} documents/s)",
                started.elapsed().as_secs_f64(),
                count as f64 / started.elapsed().as_secs_f64().max(0.001)
            );
        }
        Command::Outbox {
            command: OutboxCommand::Replay,
        } => {
            let n = emporium::replay_dead_letters(config).await?;
            eprintln!("Re-delivered {n} dead-lettered event(s)");
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
