//! Gauges read fresh when `/metrics` is scraped: what waits in each outbox and for each
//! consumer, and how each database pool is doing. Labels are schemas, consumers and
//! domains: fixed sets.

use std::time::Instant;

use sqlx::PgPool;

use crate::events::Bus;

/// Reads every gauge of this process's pools and transport into the recorder.
pub async fn refresh(pools: &[(&'static str, PgPool)], bus: &dyn Bus) {
    for (domain, pool) in pools {
        refresh_pool(domain, pool).await;
    }
    for backlog in bus.backlog().await {
        let consumer = backlog.consumer;
        metrics::gauge!("events_consumer_lag_messages", "consumer" => consumer)
            .set(backlog.waiting as f64);
        metrics::gauge!("events_dead_letters", "consumer" => consumer)
            .set(backlog.dead_lettered as f64);
    }
}

async fn refresh_pool(domain: &'static str, pool: &PgPool) {
    let idle = pool.num_idle() as f64;
    let open = f64::from(pool.size());
    metrics::gauge!("db_pool_connections", "domain" => domain, "state" => "idle").set(idle);
    metrics::gauge!("db_pool_connections", "domain" => domain, "state" => "in_use")
        .set((open - idle).max(0.0));
    metrics::gauge!("db_pool_max_connections", "domain" => domain)
        .set(f64::from(pool.options().get_max_connections()));
    // How long a connection takes to get right now: the wait a request would see.
    let started = Instant::now();
    let Ok(mut conn) = pool.acquire().await else {
        return;
    };
    metrics::gauge!("db_pool_acquire_seconds", "domain" => domain)
        .set(started.elapsed().as_secs_f64());
    // The outbox's partial index on unpublished rows keeps this a short scan.
    let outbox: Result<(i64, f64), _> = sqlx::query_as(
        "SELECT count(*), coalesce(extract(epoch FROM now() - min(occurred_at)), 0)::float8
         FROM outbox WHERE published_at IS NULL",
    )
    .fetch_one(&mut *conn)
    .await;
    if let Ok((waiting, oldest)) = outbox {
        metrics::gauge!("events_outbox_backlog", "schema" => domain).set(waiting as f64);
        metrics::gauge!("events_outbox_oldest_age_seconds", "schema" => domain).set(oldest);
    }
}
