//! Periodic clean-up of the kernel's plumbing tables in each schema. Published outbox
//! rows can carry secrets meant only for an email (codes, reset tokens), so they are
//! kept no longer than needed for diagnosis.

use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::watch;

const EVERY: Duration = Duration::from_secs(3600);

/// Deletes what has served its purpose; returns the rows removed.
pub async fn sweep(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let mut removed = 0;
    for statement in [
        // Published a day ago: no relay or replay needs it any more.
        "DELETE FROM outbox WHERE published_at < now() - interval '1 day'",
        // Clients retry within minutes; a day is generous.
        "DELETE FROM idempotency_keys WHERE created_at < now() - interval '1 day'",
        // Far longer than any broker keeps a message for redelivery.
        "DELETE FROM inbox WHERE processed_at < now() - interval '30 days'",
    ] {
        removed += sqlx::query(statement).execute(pool).await?.rows_affected();
    }
    Ok(removed)
}

pub async fn run(schema: &'static str, pool: PgPool, mut shutdown: watch::Receiver<bool>) {
    loop {
        match sweep(&pool).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(schema, removed = n, "housekeeping"),
            Err(e) => tracing::warn!(schema, error = %e, "housekeeping failed"),
        }
        tokio::select! {
            () = tokio::time::sleep(EVERY) => {}
            _ = shutdown.changed() => return,
        }
    }
}
