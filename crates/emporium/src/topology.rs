//! The distributed mode on one machine: every service in a process of its own with a
//! database of its own, two replicas of catalog, search and web, and the gateway in
//! front, joined by RabbitMQ and Redis. `emporium topology` runs it; the tests of the
//! distributed mode start it, kill members and bring them back.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::SERVICES;

/// Services that run more than one replica, and how many.
pub const REPLICAS: &[(&str, usize)] = &[("catalog", 2), ("search", 2), ("web", 2)];

/// How long a member may take to answer `/ready` after it starts (it migrates its
/// database first).
const READY_WITHIN: Duration = Duration::from_secs(90);

/// What to start, and where.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The `emporium` binary every member runs.
    pub exe: PathBuf,
    /// Where the gateway listens: the only address the public needs.
    pub gateway: SocketAddr,
    /// The first of the consecutive loopback ports the members listen on; none picks
    /// free ones.
    pub first_port: Option<u16>,
    /// The PostgreSQL server (no database): each member gets `<prefix>_<member>` on it.
    pub database_server: String,
    pub database_prefix: String,
    /// Media and each search replica's index live under here.
    pub data_dir: PathBuf,
    /// `DATABASE_MAX_CONNECTIONS` of each member: fourteen processes share the server.
    pub connections_per_member: u32,
    /// Settings for every process (the broker, Redis, the shared secret, …), on top of
    /// the environment this process inherited.
    pub env: Vec<(String, String)>,
    /// Pass the members' output through, each line tagged with the member's name.
    pub show_output: bool,
}

impl Plan {
    /// A plan from this process's configuration: its database server and name prefix
    /// (`DATABASE_URL`), broker, Redis and secret, with loopback defaults for what is
    /// unset.
    pub fn from_config(
        config: &kernel::Config,
        exe: PathBuf,
        gateway: SocketAddr,
    ) -> anyhow::Result<Self> {
        let (server, database) = config
            .database_url
            .split_once('?')
            .map_or(config.database_url.as_str(), |(url, _)| url)
            .rsplit_once('/')
            .filter(|(server, db)| server.contains("://") && !db.is_empty())
            .ok_or_else(|| anyhow::anyhow!("DATABASE_URL names no database"))?;
        let secret = match &config.internal_secret {
            Some(secret) => secret.0.clone(),
            None => kernel::secret::random_token(),
        };
        Ok(Self {
            exe,
            gateway,
            first_port: None,
            database_server: server.to_owned(),
            database_prefix: database.to_owned(),
            data_dir: PathBuf::from("data/topology"),
            connections_per_member: 4,
            env: vec![
                (
                    "AMQP_URL".into(),
                    config
                        .amqp_url
                        .clone()
                        .unwrap_or_else(|| "amqp://guest:guest@127.0.0.1:5672/%2f".into()),
                ),
                (
                    "REDIS_URL".into(),
                    config
                        .redis_url
                        .clone()
                        .unwrap_or_else(|| "redis://127.0.0.1:6379".into()),
                ),
                ("INTERNAL_API_SECRET".into(), secret),
                ("EMPORIUM_NAMESPACE".into(), config.namespace.clone()),
            ],
            show_output: true,
        })
    }
}

/// One process of the topology.
#[derive(Debug, Clone)]
pub struct Member {
    /// `identity`, `catalog-2`, …, `gateway`.
    pub name: String,
    /// The service it runs; none for the gateway.
    pub service: Option<&'static str>,
    pub addr: SocketAddr,
    env: Vec<(String, String)>,
}

impl Member {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A setting this member runs with.
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.env
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// This member's database, if it has one.
    pub fn database_url(&self) -> Option<&str> {
        self.setting("DATABASE_URL")
    }
}

/// The members of `plan`, each with its address and settings.
pub fn members(plan: &Plan) -> anyhow::Result<Vec<Member>> {
    let mut named = Vec::new();
    for service in SERVICES {
        let count = REPLICAS
            .iter()
            .find(|(s, _)| s == service)
            .map_or(1, |(_, n)| *n);
        for replica in 1..=count {
            let name = if count == 1 {
                (*service).to_owned()
            } else {
                format!("{service}-{replica}")
            };
            named.push((name, *service));
        }
    }
    let mut addrs = Vec::new();
    for i in 0..named.len() {
        let port = match plan.first_port {
            Some(first) => first
                .checked_add(u16::try_from(i)?)
                .ok_or_else(|| anyhow::anyhow!("ports past 65535"))?,
            None => free_port()?,
        };
        addrs.push(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    // Every process reaches each service's replicas directly, as inside a cluster.
    let mut replicas: HashMap<&str, Vec<String>> = HashMap::new();
    for ((_, service), addr) in named.iter().zip(&addrs) {
        replicas
            .entry(service)
            .or_default()
            .push(format!("http://{addr}"));
    }
    let service_urls: Vec<(String, String)> = replicas
        .iter()
        .map(|(service, urls)| (format!("{}_URL", service.to_uppercase()), urls.join(",")))
        .collect();
    let gateway_url = format!("http://{}", plan.gateway);
    let common = |bind: SocketAddr| {
        let mut env = plan.env.clone();
        env.extend(service_urls.iter().cloned());
        env.push(("EMPORIUM_BIND".into(), bind.to_string()));
        env.push(("EMPORIUM_PUBLIC_URL".into(), gateway_url.clone()));
        env.push(("EMPORIUM_GATEWAY_URL".into(), gateway_url.clone()));
        env
    };
    let mut members = Vec::new();
    for ((name, service), addr) in named.into_iter().zip(addrs) {
        let mut env = common(addr);
        // Replicas share their service's database, except search's: each keeps an
        // index of its own and what it has applied to it.
        let database = if service == search::SERVICE {
            name.replace('-', "_")
        } else {
            service.to_owned()
        };
        if crate::POOL_WEIGHTS.iter().any(|(s, _)| *s == service) {
            env.push((
                "DATABASE_URL".into(),
                format!(
                    "{}/{}_{database}",
                    plan.database_server, plan.database_prefix
                ),
            ));
            env.push((
                "DATABASE_MAX_CONNECTIONS".into(),
                plan.connections_per_member.to_string(),
            ));
        }
        env.push((
            "MEDIA_DIR".into(),
            plan.data_dir.join("media").display().to_string(),
        ));
        if service == search::SERVICE {
            env.push(("SEARCH_REPLICA".into(), name.clone()));
            env.push((
                "SEARCH_INDEX_DIR".into(),
                plan.data_dir.join(&name).display().to_string(),
            ));
        }
        members.push(Member {
            name,
            service: Some(service),
            addr,
            env,
        });
    }
    members.push(Member {
        name: "gateway".into(),
        service: None,
        addr: plan.gateway,
        env: common(plan.gateway),
    });
    Ok(members)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The running topology. Dropping it kills every member.
pub struct Topology {
    plan: Plan,
    members: Vec<Member>,
    children: HashMap<String, Child>,
}

impl Topology {
    /// Starts every member and waits until each answers `/ready`.
    pub async fn start(plan: Plan) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&plan.data_dir)?;
        let members = members(&plan)?;
        let mut topology = Self {
            plan,
            members,
            children: HashMap::new(),
        };
        let names: Vec<String> = topology.members.iter().map(|m| m.name.clone()).collect();
        for name in &names {
            topology.spawn(name)?;
        }
        topology.wait_ready(&names).await?;
        Ok(topology)
    }

    pub fn members(&self) -> &[Member] {
        &self.members
    }

    pub fn member(&self, name: &str) -> anyhow::Result<&Member> {
        self.members
            .iter()
            .find(|m| m.name == name)
            .ok_or_else(|| anyhow::anyhow!("no member {name} in the topology"))
    }

    pub fn gateway_url(&self) -> String {
        format!("http://{}", self.plan.gateway)
    }

    /// A setting every member was started with.
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.plan
            .env
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn spawn(&mut self, name: &str) -> anyhow::Result<()> {
        let member = self.member(name)?.clone();
        let mut command = Command::new(&self.plan.exe);
        match member.service {
            Some(service) => command.args(["serve", "--services", service]),
            None => command.arg("gateway"),
        };
        let output = || {
            if self.plan.show_output {
                Stdio::piped()
            } else {
                Stdio::null()
            }
        };
        let mut child = command
            .envs(member.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(output())
            .stderr(output())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| anyhow::anyhow!("starting {name}: {e}"))?;
        if let Some(out) = child.stdout.take() {
            tokio::spawn(tag_lines(member.name.clone(), out));
        }
        if let Some(err) = child.stderr.take() {
            tokio::spawn(tag_lines(member.name.clone(), err));
        }
        self.children.insert(member.name, child);
        Ok(())
    }

    /// Waits for each in turn: they start together, so this takes as long as the
    /// slowest.
    async fn wait_ready(&mut self, names: &[String]) -> anyhow::Result<()> {
        for name in names {
            let member = self.member(name)?.clone();
            let client = kernel::http::client::ServiceClient::remote(
                "topology",
                &member.url(),
                Duration::from_secs(2),
            );
            let deadline = tokio::time::Instant::now() + READY_WITHIN;
            let mut pause = Duration::from_millis(20);
            while client.get("/ready").send_bytes().await.is_err() {
                anyhow::ensure!(
                    tokio::time::Instant::now() < deadline,
                    "{name} was not ready within {READY_WITHIN:?}"
                );
                if let Some(child) = self.children.get_mut(name.as_str())
                    && let Ok(Some(status)) = child.try_wait()
                {
                    anyhow::bail!("{name} exited before it was ready ({status})");
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(500));
            }
        }
        Ok(())
    }

    /// Kills a member outright (SIGKILL): no graceful shutdown, as in a crash.
    pub async fn kill(&mut self, name: &str) -> anyhow::Result<()> {
        let mut child = self
            .children
            .remove(name)
            .ok_or_else(|| anyhow::anyhow!("{name} is not running"))?;
        child.kill().await?;
        Ok(())
    }

    /// Stops a member without ending it (SIGSTOP): its sockets stay open and take
    /// connections, but nothing answers, as with a hung process.
    pub async fn pause(&self, name: &str) -> anyhow::Result<()> {
        self.signal(name, "-STOP").await
    }

    /// Lets a paused member run again (SIGCONT).
    pub async fn resume(&self, name: &str) -> anyhow::Result<()> {
        self.signal(name, "-CONT").await
    }

    /// Sends a signal through kill(1): this crate has no unsafe code to call kill(2).
    async fn signal(&self, name: &str, signal: &str) -> anyhow::Result<()> {
        let pid = self
            .children
            .get(name)
            .and_then(Child::id)
            .ok_or_else(|| anyhow::anyhow!("{name} is not running"))?;
        let status = Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .await?;
        anyhow::ensure!(status.success(), "kill {signal} {name} failed: {status}");
        Ok(())
    }

    /// Starts a member that was killed or has exited, and waits until it is ready.
    pub async fn restart(&mut self, name: &str) -> anyhow::Result<()> {
        if let Some(mut old) = self.children.remove(name) {
            old.kill().await?;
        }
        self.spawn(name)?;
        self.wait_ready(&[name.to_owned()]).await
    }

    /// Runs until `shutdown`, starting again any member that exits, then stops them
    /// all.
    pub async fn supervise(mut self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
            let exited: Vec<String> = self
                .children
                .iter_mut()
                .filter_map(|(name, child)| match child.try_wait() {
                    Ok(Some(status)) => {
                        eprintln!("[topology] {name} exited ({status}); starting it again");
                        Some(name.clone())
                    }
                    _ => None,
                })
                .collect();
            for name in exited {
                if let Err(e) = self.spawn(&name) {
                    eprintln!("[topology] {e:#}");
                }
            }
        }
        // Each member shuts down gracefully on SIGTERM; one that hangs is killed.
        let names: Vec<String> = self.children.keys().cloned().collect();
        for name in names {
            let _ = self.signal(&name, "-TERM").await;
        }
        for (name, mut child) in self.children.drain() {
            if tokio::time::timeout(Duration::from_secs(10), child.wait())
                .await
                .is_err()
            {
                eprintln!("[topology] {name} did not stop; killing it");
                let _ = child.kill().await;
            }
        }
    }
}

async fn tag_lines(name: String, stream: impl tokio::io::AsyncRead + Unpin) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        eprintln!("[{name}] {line}");
    }
}
