//! Tax's SQL.

use sqlx::PgConnection;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RateRow {
    pub country: String,
    pub region: String,
    pub rate_ppm: i64,
}

pub async fn rates(conn: &mut PgConnection) -> Result<Vec<RateRow>, sqlx::Error> {
    sqlx::query_as("SELECT country, region, rate_ppm FROM rates ORDER BY country, region")
        .fetch_all(conn)
        .await
}

pub async fn set_rate(
    conn: &mut PgConnection,
    country: &str,
    region: &str,
    ppm: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO rates (country, region, rate_ppm) VALUES ($1, $2, $3) \
         ON CONFLICT (country, region) DO UPDATE SET rate_ppm = EXCLUDED.rate_ppm",
    )
    .bind(country)
    .bind(region)
    .bind(ppm)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete_rate(
    conn: &mut PgConnection,
    country: &str,
    region: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM rates WHERE country = $1 AND region = $2")
        .bind(country)
        .bind(region)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The rate for a destination: its region's when set, else its country's.
pub async fn rate_for(
    conn: &mut PgConnection,
    country: &str,
    region: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT rate_ppm FROM rates WHERE country = $1 AND region IN ($2, '') ORDER BY region = '' LIMIT 1",
    )
    .bind(country)
    .bind(region)
    .fetch_optional(conn)
    .await
}

pub async fn prices_include_tax(conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT prices_include_tax FROM settings")
        .fetch_one(conn)
        .await
}

pub async fn set_prices_include_tax(
    conn: &mut PgConnection,
    value: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE settings SET prices_include_tax = $1")
        .bind(value)
        .execute(conn)
        .await?;
    Ok(())
}
