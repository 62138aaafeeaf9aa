//! The distributed topology on a PostgreSQL of the test's own (initdb into a temporary
//! folder, its own port), restarted while sixteen customers check out.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::process::Command;

use crate::apart::start_topology_on;
use crate::apart_faults::{FAULT_SETTINGS, assert_all_accounted, finish, under_load};

/// A PostgreSQL server in a folder of its own, stopped and removed on drop.
struct PrivatePostgres {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
}

/// Whether this process runs as root (`/proc/self` belongs to its effective user).
fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// A PostgreSQL program, run as the `postgres` user when we are root (initdb refuses
/// to run as root), as ourselves otherwise.
fn postgres_program(program: &Path) -> std::process::Command {
    if running_as_root() {
        let mut c = std::process::Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        std::process::Command::new(program)
    }
}

fn as_postgres(program: &Path) -> Command {
    Command::from(postgres_program(program))
}

impl PrivatePostgres {
    async fn start() -> Self {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL's programs (scripts/ensure-services.sh installs them)")
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|b| b.join("initdb").exists())
            .max()
            .expect("an initdb");
        let dir =
            std::env::temp_dir().join(format!("emporium-pg-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        if running_as_root() {
            let chown = Command::new("chown")
                .arg("postgres:postgres")
                .arg(&dir)
                .status()
                .await
                .unwrap();
            assert!(chown.success());
        }
        let init = as_postgres(&bin.join("initdb"))
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(&dir)
            .stdout(std::process::Stdio::null())
            .status()
            .await
            .unwrap();
        assert!(init.success(), "initdb failed");
        let port = crate::distributed::free_port();
        let pg = Self { bin, dir, port };
        pg.ctl(&["start", "-w", "-l"], true).await;
        pg
    }

    /// `pg_ctl <args>` on this server (with its log file after `-l`).
    async fn ctl(&self, args: &[&str], with_options: bool) {
        let mut command = as_postgres(&self.bin.join("pg_ctl"));
        command.arg("-D").arg(&self.dir);
        for arg in args {
            command.arg(arg);
            if *arg == "-l" {
                command.arg(self.dir.join("log"));
            }
        }
        if with_options {
            command.arg("-o").arg(format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
                self.port,
                self.dir.display()
            ));
        }
        let status = command
            .stdout(std::process::Stdio::null())
            .status()
            .await
            .unwrap();
        assert!(status.success(), "pg_ctl {args:?} failed");
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}", self.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = postgres_program(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(&self.dir)
            .args(["stop", "-m", "immediate"])
            .stdout(std::process::Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Asks orders until its `/ready` answers `status`.
async fn wait_for_readiness(
    http: &reqwest::Client,
    topology: &emporium::topology::Topology,
    status: u16,
) {
    let orders = topology.member("orders").unwrap().url();
    crate::distributed::wait_for_readiness(http, &orders, status).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_ride_out_a_database_restart_without_being_restarted() {
    let postgres = PrivatePostgres::start().await;
    let topology = start_topology_on(&postgres.url(), FAULT_SETTINGS).await;
    let (app, load) = under_load(&topology).await;

    wait_for_readiness(&app.http, &topology, 200).await;
    // Stopped (every connection cut) until orders says it is not ready, then started.
    let before = load.completed();
    let restarting = Instant::now();
    postgres.ctl(&["stop", "-m", "fast", "-w"], false).await;
    wait_for_readiness(&app.http, &topology, 503).await;
    let down_for = restarting.elapsed();
    postgres.ctl(&["start", "-w", "-l"], true).await;
    wait_for_readiness(&app.http, &topology, 200).await;
    let restarted = restarting.elapsed();
    load.wait_for_completed(before + 40).await;
    let recovered = restarting.elapsed();
    let attempts = load.finish().await;
    let slowest = attempts.iter().map(|a| a.slowest).max().unwrap_or_default();
    let accounted = assert_all_accounted(&topology, &app, &attempts).await;

    // REQUEST_TIMEOUT_MS is 5 s here: no request waited on a dead connection past it.
    assert!(
        slowest < Duration::from_secs(6),
        "a request took {slowest:?}"
    );
    eprintln!(
        "database restart: orders not ready {down_for:?} after the stop, ready again \
         {restarted:?} after it, 40 more checkouts completed {recovered:?} after \
         it began; slowest request {slowest:?}; {accounted}"
    );
    finish(topology, app).await;
    drop(postgres);
}
