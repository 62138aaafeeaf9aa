//! Cart's SQL.

use contracts::catalog::VariantId;
use kernel::ids::UserId;
use sqlx::PgConnection;
use uuid::Uuid;

/// Whose cart: a customer's, or a guest's by the digest of its token.
#[derive(Debug, Clone)]
pub enum Holder {
    Customer(UserId),
    Guest(Vec<u8>),
}

pub async fn find(conn: &mut PgConnection, holder: &Holder) -> Result<Option<Uuid>, sqlx::Error> {
    match holder {
        Holder::Customer(user) => {
            sqlx::query_scalar("SELECT id FROM carts WHERE user_id = $1")
                .bind(user)
                .fetch_optional(conn)
                .await
        }
        Holder::Guest(digest) => {
            sqlx::query_scalar("SELECT id FROM carts WHERE token_digest = $1")
                .bind(digest)
                .fetch_optional(conn)
                .await
        }
    }
}

/// The holder's cart, created on first use (concurrent first uses find one cart).
pub async fn find_or_create(conn: &mut PgConnection, holder: &Holder) -> Result<Uuid, sqlx::Error> {
    let (user, digest) = match holder {
        Holder::Customer(u) => (Some(*u), None),
        Holder::Guest(d) => (None, Some(d.clone())),
    };
    sqlx::query(
        "INSERT INTO carts (id, user_id, token_digest) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(Uuid::now_v7())
    .bind(user)
    .bind(digest)
    .execute(&mut *conn)
    .await?;
    find(conn, holder).await?.ok_or(sqlx::Error::RowNotFound)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LineRow {
    pub variant_id: VariantId,
    pub quantity: i32,
    pub price_seen_minor: i64,
    pub currency: String,
}

pub async fn lines(conn: &mut PgConnection, cart: Uuid) -> Result<Vec<LineRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT variant_id, quantity, price_seen_minor, currency FROM cart_lines WHERE cart_id = $1 ORDER BY added_at, variant_id",
    )
    .bind(cart)
    .fetch_all(conn)
    .await
}

pub async fn set_line(
    conn: &mut PgConnection,
    cart: Uuid,
    variant: VariantId,
    quantity: i32,
    price_minor: i64,
    currency: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO cart_lines (cart_id, variant_id, quantity, price_seen_minor, currency) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (cart_id, variant_id) DO UPDATE SET quantity = EXCLUDED.quantity, \
         price_seen_minor = EXCLUDED.price_seen_minor, currency = EXCLUDED.currency",
    )
    .bind(cart)
    .bind(variant)
    .bind(quantity)
    .bind(price_minor)
    .bind(currency)
    .execute(&mut *conn)
    .await?;
    touch(conn, cart).await
}

pub async fn remove_line(
    conn: &mut PgConnection,
    cart: Uuid,
    variant: VariantId,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM cart_lines WHERE cart_id = $1 AND variant_id = $2")
        .bind(cart)
        .bind(variant)
        .execute(&mut *conn)
        .await?;
    touch(conn, cart).await
}

/// Remembers what the customer has now been shown.
pub async fn saw(
    conn: &mut PgConnection,
    cart: Uuid,
    variant: VariantId,
    quantity: i32,
    price_minor: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE cart_lines SET quantity = $3, price_seen_minor = $4 WHERE cart_id = $1 AND variant_id = $2")
        .bind(cart)
        .bind(variant)
        .bind(quantity)
        .bind(price_minor)
        .execute(conn)
        .await?;
    Ok(())
}

async fn touch(conn: &mut PgConnection, cart: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE carts SET updated_at = now() WHERE id = $1")
        .bind(cart)
        .execute(conn)
        .await?;
    Ok(())
}

/// Moves a guest cart's lines into a customer's (quantities add up, capped), then
/// deletes the guest cart.
pub async fn merge(conn: &mut PgConnection, guest: Uuid, into: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO cart_lines (cart_id, variant_id, quantity, price_seen_minor, currency, added_at) \
         SELECT $2, variant_id, quantity, price_seen_minor, currency, added_at FROM cart_lines WHERE cart_id = $1 \
         ON CONFLICT (cart_id, variant_id) DO UPDATE SET quantity = LEAST(cart_lines.quantity + EXCLUDED.quantity, 999)",
    )
    .bind(guest)
    .bind(into)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM carts WHERE id = $1")
        .bind(guest)
        .execute(&mut *conn)
        .await?;
    touch(conn, into).await
}

/// `false` when this checkout's purchase was recorded before.
pub async fn first_purchase(conn: &mut PgConnection, reference: &str) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("INSERT INTO cart_purchases (reference) VALUES ($1) ON CONFLICT DO NOTHING")
            .bind(reference)
            .execute(conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Lowers a customer's line by what was bought; a line bought out entirely goes.
pub async fn take_out(
    conn: &mut PgConnection,
    customer: UserId,
    variant: VariantId,
    quantity: i32,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "DELETE FROM cart_lines l USING carts c WHERE c.id = l.cart_id AND c.user_id = $1 \
         AND l.variant_id = $2 AND l.quantity <= $3",
    )
    .bind(customer)
    .bind(variant)
    .bind(quantity)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE cart_lines l SET quantity = l.quantity - $3 FROM carts c \
         WHERE c.id = l.cart_id AND c.user_id = $1 AND l.variant_id = $2",
    )
    .bind(customer)
    .bind(variant)
    .bind(quantity)
    .execute(conn)
    .await?;
    Ok(())
}
