//! Inventory's SQL. Every function takes a connection so the caller owns the
//! transaction; stock only changes through conditional updates on locked rows.

use std::collections::HashMap;

use crate::domain::ReservationStatus;
use contracts::catalog::{ProductId, VariantId};
use contracts::inventory::{LocationId, ReservationId};
use kernel::ids::{StoreId, UserId};
use sqlx::PgConnection;
use time::OffsetDateTime;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LocationRow {
    pub id: LocationId,
    pub store_id: StoreId,
    pub name: String,
}

pub async fn create_location(
    conn: &mut PgConnection,
    id: LocationId,
    store: StoreId,
    name: &str,
) -> Result<LocationRow, sqlx::Error> {
    sqlx::query_as("INSERT INTO locations (id, store_id, name) VALUES ($1, $2, $3) RETURNING id, store_id, name")
        .bind(id)
        .bind(store)
        .bind(name)
        .fetch_one(conn)
        .await
}

pub async fn locations(
    conn: &mut PgConnection,
    store: StoreId,
) -> Result<Vec<LocationRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, store_id, name FROM locations WHERE store_id = $1 ORDER BY created_at, id",
    )
    .bind(store)
    .fetch_all(conn)
    .await
}

pub async fn location(
    conn: &mut PgConnection,
    id: LocationId,
) -> Result<Option<LocationRow>, sqlx::Error> {
    sqlx::query_as("SELECT id, store_id, name FROM locations WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Records (once) which product and store a variant belongs to.
pub async fn remember_variant(
    conn: &mut PgConnection,
    variant: VariantId,
    product: ProductId,
    store: StoreId,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO variants (variant_id, product_id, store_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(variant)
    .bind(product)
    .bind(store)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VariantRow {
    pub variant_id: VariantId,
    pub product_id: ProductId,
    pub store_id: StoreId,
    pub low_stock_threshold: Option<i32>,
}

pub async fn variant(
    conn: &mut PgConnection,
    id: VariantId,
) -> Result<Option<VariantRow>, sqlx::Error> {
    sqlx::query_as("SELECT variant_id, product_id, store_id, low_stock_threshold FROM variants WHERE variant_id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Each tracked variant's product, availability and version after `after`, by id:
/// variants whose stock has moved at least once (version above 0), as their events said.
pub async fn availability_export(
    conn: &mut PgConnection,
    after: Option<VariantId>,
    limit: i64,
) -> Result<Vec<(VariantId, ProductId, i64, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT v.variant_id, v.product_id, \
                COALESCE((SELECT sum(l.on_hand - l.reserved) FROM stock_levels l \
                          WHERE l.variant_id = v.variant_id), 0)::bigint, \
                v.version \
         FROM variants v WHERE v.version > 0 AND ($1::uuid IS NULL OR v.variant_id > $1) \
         ORDER BY v.variant_id LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await
}

pub async fn set_threshold(
    conn: &mut PgConnection,
    id: VariantId,
    threshold: Option<i32>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE variants SET low_stock_threshold = $2 WHERE variant_id = $1")
        .bind(id)
        .bind(threshold)
        .execute(conn)
        .await?;
    Ok(())
}

/// Units that may be sold, per variant (absent: none tracked).
pub async fn available(
    conn: &mut PgConnection,
    variants: &[VariantId],
) -> Result<HashMap<VariantId, i64>, sqlx::Error> {
    let rows: Vec<(VariantId, i64)> = sqlx::query_as(
        "SELECT variant_id, sum(on_hand - reserved)::bigint FROM stock_levels WHERE variant_id = ANY($1) GROUP BY variant_id",
    )
    .bind(variants)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().collect())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LevelRow {
    pub location_id: LocationId,
    pub location_name: String,
    pub on_hand: i32,
    pub reserved: i32,
}

pub async fn levels(
    conn: &mut PgConnection,
    variant: VariantId,
) -> Result<Vec<LevelRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT s.location_id, l.name AS location_name, s.on_hand, s.reserved FROM stock_levels s \
         JOIN locations l ON l.id = s.location_id WHERE s.variant_id = $1 ORDER BY l.created_at, l.id",
    )
    .bind(variant)
    .fetch_all(conn)
    .await
}

/// Moves on-hand stock by `delta`; `None` when that would leave less than is reserved
/// (or below zero).
pub async fn adjust(
    conn: &mut PgConnection,
    v: &VariantRow,
    location: LocationId,
    delta: i32,
) -> Result<Option<i32>, sqlx::Error> {
    let updated: Option<i32> = sqlx::query_scalar(
        "UPDATE stock_levels SET on_hand = on_hand + $3 \
         WHERE variant_id = $1 AND location_id = $2 AND on_hand + $3 >= reserved \
         RETURNING on_hand",
    )
    .bind(v.variant_id)
    .bind(location)
    .bind(delta)
    .fetch_optional(&mut *conn)
    .await?;
    if updated.is_some() {
        return Ok(updated);
    }
    // No row yet (or the update was refused): a first receipt creates the row; a
    // concurrent first receipt makes this one conflict and add to it instead.
    if delta < 0 {
        return Ok(None);
    }
    sqlx::query_scalar(
        "INSERT INTO stock_levels (variant_id, location_id, product_id, store_id, on_hand) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (variant_id, location_id) DO UPDATE SET on_hand = stock_levels.on_hand + $5 \
         RETURNING on_hand",
    )
    .bind(v.variant_id)
    .bind(location)
    .bind(v.product_id)
    .bind(v.store_id)
    .bind(delta)
    .fetch_optional(conn)
    .await
}

pub struct Movement<'a> {
    pub variant: VariantId,
    pub location: LocationId,
    pub delta: i32,
    pub reason: &'a str,
    pub reference: Option<&'a str>,
    pub actor: Option<UserId>,
}

pub async fn record_movement(conn: &mut PgConnection, m: &Movement<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO movements (variant_id, location_id, delta, reason, reference, actor) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(m.variant)
    .bind(m.location)
    .bind(m.delta)
    .bind(m.reason)
    .bind(m.reference)
    .bind(m.actor)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MovementRow {
    pub id: i64,
    pub location_id: LocationId,
    pub delta: i32,
    pub reason: String,
    pub reference: Option<String>,
    pub created_at: OffsetDateTime,
}

pub async fn movements(
    conn: &mut PgConnection,
    variant: VariantId,
    before: Option<i64>,
    limit: u32,
) -> Result<Vec<MovementRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, location_id, delta, reason, reference, created_at FROM movements \
         WHERE variant_id = $1 AND ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
    )
    .bind(variant)
    .bind(before)
    .bind(i64::from(limit) + 1)
    .fetch_all(conn)
    .await
}

/// Locks the variant's stock rows with stock to spare and says how much each has.
pub async fn lock_offers(
    conn: &mut PgConnection,
    variant: VariantId,
) -> Result<Vec<(LocationId, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT location_id, (on_hand - reserved)::bigint FROM stock_levels \
         WHERE variant_id = $1 ORDER BY location_id FOR UPDATE",
    )
    .bind(variant)
    .fetch_all(conn)
    .await
}

/// Changes `reserved` (and `on_hand`) of one stock row; the row's checks refuse any
/// result that would oversell.
pub async fn shift(
    conn: &mut PgConnection,
    variant: VariantId,
    location: LocationId,
    on_hand: i32,
    reserved: i32,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE stock_levels SET on_hand = on_hand + $3, reserved = reserved + $4 \
         WHERE variant_id = $1 AND location_id = $2",
    )
    .bind(variant)
    .bind(location)
    .bind(on_hand)
    .bind(reserved)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReservationRow {
    pub id: ReservationId,
    pub reference: String,
    pub owner: UserId,
    pub status: ReservationStatus,
    pub expires_at: OffsetDateTime,
}

pub async fn insert_reservation(
    conn: &mut PgConnection,
    id: ReservationId,
    reference: &str,
    owner: UserId,
    expires_at: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO reservations (id, reference, owner, status, expires_at) VALUES ($1, $2, $3, 'held', $4) \
         ON CONFLICT (reference) DO NOTHING",
    )
    .bind(id)
    .bind(reference)
    .bind(owner)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

pub async fn reservation_by_reference(
    conn: &mut PgConnection,
    reference: &str,
) -> Result<Option<ReservationRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, reference, owner, status, expires_at FROM reservations WHERE reference = $1",
    )
    .bind(reference)
    .fetch_optional(conn)
    .await
}

pub async fn lock_reservation(
    conn: &mut PgConnection,
    id: ReservationId,
) -> Result<Option<ReservationRow>, sqlx::Error> {
    sqlx::query_as("SELECT id, reference, owner, status, expires_at FROM reservations WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(conn)
        .await
}

pub async fn set_reservation_status(
    conn: &mut PgConnection,
    id: ReservationId,
    status: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE reservations SET status = $2, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(status)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn insert_line(
    conn: &mut PgConnection,
    reservation: ReservationId,
    variant: VariantId,
    location: LocationId,
    quantity: i32,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO reservation_lines (reservation_id, variant_id, location_id, quantity) VALUES ($1, $2, $3, $4)")
        .bind(reservation)
        .bind(variant)
        .bind(location)
        .bind(quantity)
        .execute(conn)
        .await?;
    Ok(())
}

/// The lines of a reservation: (variant, location, quantity).
pub async fn lines(
    conn: &mut PgConnection,
    reservation: ReservationId,
) -> Result<Vec<(VariantId, LocationId, i32)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT variant_id, location_id, quantity FROM reservation_lines WHERE reservation_id = $1 ORDER BY variant_id, location_id",
    )
    .bind(reservation)
    .fetch_all(conn)
    .await
}

/// Held reservations whose time is up, locked for the caller (others skip them).
pub async fn lock_expired(
    conn: &mut PgConnection,
    limit: i64,
) -> Result<Vec<ReservationId>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM reservations WHERE status = 'held' AND expires_at < now() \
         ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED",
    )
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Counts a change of the variant for event ordering; returns the new version.
pub async fn bump_version(conn: &mut PgConnection, variant: VariantId) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE variants SET version = version + 1 WHERE variant_id = $1 RETURNING version",
    )
    .bind(variant)
    .fetch_one(conn)
    .await
}
