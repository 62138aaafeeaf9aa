//! One PostgreSQL pool per domain, each confined to the domain's own schema, and the
//! migrations that create it: the kernel's plumbing tables (outbox, inbox, dead
//! letters, idempotency keys) followed by the domain's own.

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
    sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
        .execute(&mut conn)
        .await
        .map_err(|source| DbError::Connect {
            domain: schema.into(),
            source,
        })?;
    let _ = conn.close().await;
    // One process may host a dozen domains, each with its own pool against the same
    // server: connections a burst opened are given back after a short idle spell, so
    // the pools together stay well under PostgreSQL's connection limit.
    PgPoolOptions::new()
        .max_connections(config.database_max_connections)
        .min_connections(0)
        .idle_timeout(std::time::Duration::from_secs(15))
        .acquire_timeout(std::time::Duration::from_secs(10))
        .connect_with(options.options([("search_path", schema)]))
        .await
        .map_err(|source| DbError::Connect {
            domain: schema.into(),
            source,
        })
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
        // Another process created it between our two looks.
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P04") => {}
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
pub async fn ping(pool: &PgPool) -> bool {
    match pool.acquire().await {
        Ok(mut conn) => conn.ping().await.is_ok(),
        Err(_) => false,
    }
}

/// A unique violation on a named constraint: lets callers map a race-free INSERT
/// failure to a domain error instead of checking with a SELECT first.
pub fn is_unique_violation(err: &sqlx::Error, constraint: &str) -> bool {
    matches!(err, sqlx::Error::Database(e)
        if e.code().as_deref() == Some("23505") && e.constraint() == Some(constraint))
}
