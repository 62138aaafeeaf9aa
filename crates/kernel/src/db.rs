//! One PostgreSQL pool per domain, each confined to the domain's own schema, and the
//! migrations that create it: the kernel's plumbing tables (outbox, inbox, dead
//! letters, idempotency keys) followed by the domain's own. A process shares one
//! budget of server connections among the pools of the domains it hosts.

use std::collections::HashMap;
use std::str::FromStr;

use sqlx::migrate::{Migration, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection};

use crate::Config;

/// Plumbing tables every domain schema carries.
static KERNEL_MIGRATIONS: Migrator = sqlx::migrate!("./migrations");

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database URL for {domain} is invalid: {source}")]
    Url { domain: String, source: sqlx::Error },
    #[error("cannot reach the database for {domain}: {source}")]
    Connect { domain: String, source: sqlx::Error },
    #[error("migrating the {domain} schema failed: {source}")]
    Migrate {
        domain: String,
        source: sqlx::migrate::MigrateError,
    },
}

/// Opens a pool on the domain's schema, creating the database and schema when missing.
pub async fn connect_domain(config: &Config, schema: &'static str) -> Result<PgPool, DbError> {
    let url = config.database_url_for(schema);
    let options = PgConnectOptions::from_str(url).map_err(|source| DbError::Url {
        domain: schema.into(),
        source,
    })?;
    ensure_database(&options)
        .await
        .map_err(|source| DbError::Connect {
            domain: schema.into(),
            source,
        })?;
    let mut conn = options.connect().await.map_err(|source| DbError::Connect {
        domain: schema.into(),
        source,
    })?;
    // Identifier, not data: `schema` is a compile-time constant of the calling crate.
    // Replicas starting together race here: the loser's unique violation means the
    // schema exists.
    match sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
        .execute(&mut conn)
        .await
    {
        Ok(_) => {}
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("23505") => {}
        Err(source) => {
            return Err(DbError::Connect {
                domain: schema.into(),
                source,
            });
        }
    }
    let _ = conn.close().await;
    // Connections a burst opened are given back after a short idle spell; the pool's
    // size is the domain's share of the process's budget.
    PgPoolOptions::new()
        .max_connections(config.pool_size(schema))
        .min_connections(0)
        .idle_timeout(std::time::Duration::from_secs(15))
        .acquire_timeout(std::time::Duration::from_secs(10))
        .connect_with(
            options
                .options([("search_path", schema)])
                .application_name(&format!("emporium-{schema}")),
        )
        .await
        .map_err(|source| DbError::Connect {
            domain: schema.into(),
            source,
        })
}

/// The budget is too small to give every pool and every outbox listener a connection.
#[derive(Debug, thiserror::Error)]
#[error(
    "DATABASE_MAX_CONNECTIONS={budget} cannot serve {pools} domain pools and {listeners} \
     outbox listener(s) in one process: it needs at least {needed}"
)]
pub struct BudgetTooSmall {
    pub budget: u32,
    pub pools: usize,
    pub listeners: u32,
    pub needed: u32,
}

/// Shares `budget` server connections among domain pools by weight: `listeners`
/// connections are set aside (one `LISTEN` per database for the outbox relays), every
/// pool gets one, and the rest go by weight (largest remainders first), so the pools
/// together never hold more than the budget.
pub fn share_budget(
    budget: u32,
    listeners: u32,
    weights: &[(&'static str, u32)],
) -> Result<HashMap<&'static str, u32>, BudgetTooSmall> {
    let n = weights.len() as u32;
    let needed = n + listeners;
    if budget < needed {
        return Err(BudgetTooSmall {
            budget,
            pools: weights.len(),
            listeners,
            needed,
        });
    }
    let spare = u64::from(budget - needed);
    let total: u64 = weights
        .iter()
        .map(|(_, w)| u64::from(*w))
        .sum::<u64>()
        .max(1);
    let mut sizes: HashMap<&'static str, u32> = HashMap::new();
    let mut remainders = Vec::new();
    let mut given = 0u64;
    for (i, (schema, weight)) in weights.iter().enumerate() {
        let exact = spare * u64::from(*weight);
        let extra = exact / total;
        given += extra;
        sizes.insert(schema, 1 + extra as u32);
        remainders.push((exact % total, std::cmp::Reverse(i), *schema));
    }
    remainders.sort_unstable_by(|a, b| b.cmp(a));
    for (_, _, schema) in remainders.into_iter().take((spare - given) as usize) {
        if let Some(size) = sizes.get_mut(schema) {
            *size += 1;
        }
    }
    Ok(sizes)
}

/// Creates the target database when it does not exist, by way of the `postgres` database.
async fn ensure_database(options: &PgConnectOptions) -> Result<(), sqlx::Error> {
    let Some(name) = options.get_database().map(str::to_owned) else {
        return Ok(());
    };
    match options.connect().await {
        Ok(conn) => {
            let _ = conn.close().await;
            return Ok(());
        }
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("3D000") => {}
        Err(e) => return Err(e),
    }
    let mut admin = options.clone().database("postgres").connect().await?;
    let quoted = format!("\"{}\"", name.replace('"', "\"\""));
    match sqlx::query(&format!("CREATE DATABASE {quoted}"))
        .execute(&mut admin)
        .await
    {
        Ok(_) => {}
        // Another process created it between our two looks (or, racing us, while
        // we did: then the catalog's unique index refuses the second row).
        Err(sqlx::Error::Database(e)) if matches!(e.code().as_deref(), Some("42P04" | "23505")) => {
        }
        Err(e) => return Err(e),
    }
    let _ = admin.close().await;
    Ok(())
}

/// Runs the kernel's plumbing migrations, then the domain's, inside the domain schema.
pub async fn migrate(
    pool: &PgPool,
    schema: &'static str,
    domain: &Migrator,
) -> Result<(), DbError> {
    let migrations: Vec<Migration> = KERNEL_MIGRATIONS
        .iter()
        .chain(domain.iter())
        .cloned()
        .collect();
    let migrator = Migrator {
        migrations: migrations.into(),
        ..Migrator::DEFAULT
    };
    let mut conn = pool.acquire().await.map_err(|source| DbError::Connect {
        domain: schema.into(),
        source,
    })?;
    migrator
        .run_direct(&mut *conn)
        .await
        .map_err(|source| DbError::Migrate {
            domain: schema.into(),
            source,
        })
}

/// Opens the domain's pool and brings its schema up to date: what every domain's
/// `connect` does.
pub async fn open(
    config: &Config,
    schema: &'static str,
    domain: &Migrator,
) -> Result<PgPool, DbError> {
    let pool = connect_domain(config, schema).await?;
    migrate(&pool, schema, domain).await?;
    Ok(pool)
}

/// True when the database answers; used by `/ready`.
/// Whether the database answers within a second: a readiness probe must say so at
/// once, not wait out the pool's acquire timeout while the server is away.
pub async fn ping(pool: &PgPool) -> bool {
    let answered = tokio::time::timeout(std::time::Duration::from_secs(1), async {
        match pool.acquire().await {
            Ok(mut conn) => conn.ping().await.is_ok(),
            Err(_) => false,
        }
    });
    answered.await.unwrap_or(false)
}

/// A unique violation on a named constraint: lets callers map a race-free INSERT
/// failure to a domain error instead of checking with a SELECT first.
pub fn is_unique_violation(err: &sqlx::Error, constraint: &str) -> bool {
    matches!(err, sqlx::Error::Database(e)
        if e.code().as_deref() == Some("23505") && e.constraint() == Some(constraint))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOMAINS: &[(&str, u32)] = &[("orders", 3), ("inventory", 2), ("tax", 1), ("search", 1)];

    #[test]
    fn the_pools_and_listeners_never_exceed_the_budget() {
        for budget in 5..=64 {
            let sizes = share_budget(budget, 1, DOMAINS).unwrap();
            let pools: u32 = sizes.values().sum();
            assert_eq!(pools + 1, budget, "budget {budget}: {sizes:?}");
            assert!(sizes.values().all(|s| *s >= 1));
        }
    }

    #[test]
    fn heavier_domains_get_more_of_the_budget() {
        let sizes = share_budget(20, 1, DOMAINS).unwrap();
        assert_eq!(sizes["orders"], 1 + 15 * 3 / 7 + 1);
        assert!(sizes["orders"] > sizes["inventory"]);
        assert!(sizes["inventory"] > sizes["tax"]);
    }

    #[test]
    fn a_budget_below_one_connection_each_is_refused() {
        let e = share_budget(4, 1, DOMAINS).unwrap_err();
        assert_eq!(e.needed, 5);
        assert!(share_budget(5, 1, DOMAINS).is_ok());
    }
}
