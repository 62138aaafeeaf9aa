//! The category tree.

use super::*;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CategoryRow {
    pub id: CategoryId,
    pub parent_id: Option<CategoryId>,
    pub name: String,
    pub slug: String,
    pub position: i32,
    pub path: Vec<CategoryId>,
}

pub(super) const CATEGORY_COLUMNS: &str = "id, parent_id, name, slug, position, path";

/// Category edits are rare: one at a time keeps every path consistent.
pub async fn lock_tree(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("LOCK TABLE categories IN SHARE ROW EXCLUSIVE MODE")
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn all_categories(conn: &mut PgConnection) -> Result<Vec<CategoryRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {CATEGORY_COLUMNS} FROM categories ORDER BY array_length(path, 1), position, name"
    ))
    .fetch_all(conn)
    .await
}

pub async fn category(
    conn: &mut PgConnection,
    id: CategoryId,
) -> Result<Option<CategoryRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {CATEGORY_COLUMNS} FROM categories WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

pub async fn category_by_slug(
    conn: &mut PgConnection,
    slug: &str,
) -> Result<Option<CategoryRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {CATEGORY_COLUMNS} FROM categories WHERE slug = $1"
    ))
    .bind(slug)
    .fetch_optional(conn)
    .await
}

/// The categories on `path`, root first.
pub async fn categories_on_path(
    conn: &mut PgConnection,
    path: &[CategoryId],
) -> Result<Vec<CategoryRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {CATEGORY_COLUMNS} FROM categories WHERE id = ANY($1) ORDER BY array_length(path, 1)"
    ))
    .bind(path)
    .fetch_all(conn)
    .await
}

pub async fn children(
    conn: &mut PgConnection,
    id: CategoryId,
) -> Result<Vec<CategoryRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {CATEGORY_COLUMNS} FROM categories WHERE parent_id = $1 ORDER BY position, name"
    ))
    .bind(id)
    .fetch_all(conn)
    .await
}

pub struct NewCategory<'a> {
    pub id: CategoryId,
    pub parent_id: Option<CategoryId>,
    pub name: &'a str,
    pub slug: &'a str,
    pub position: i32,
    pub path: &'a [CategoryId],
}

pub async fn insert_category(
    conn: &mut PgConnection,
    c: &NewCategory<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO categories (id, parent_id, name, slug, position, path) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(c.id)
    .bind(c.parent_id)
    .bind(c.name)
    .bind(c.slug)
    .bind(c.position)
    .bind(c.path)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn update_category(
    conn: &mut PgConnection,
    id: CategoryId,
    name: &str,
    slug: &str,
    position: i32,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE categories SET name = $2, slug = $3, position = $4, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(name)
        .bind(slug)
        .bind(position)
        .execute(conn)
        .await?;
    Ok(())
}

/// Re-parents a category: its own path and every descendant's swap the old prefix for
/// the new one.
pub async fn move_category(
    conn: &mut PgConnection,
    id: CategoryId,
    parent: Option<CategoryId>,
    position: i32,
    old_path: &[CategoryId],
    new_path: &[CategoryId],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE categories SET parent_id = $2, position = $3, updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(parent)
    .bind(position)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE categories
         SET path = $2::uuid[] || path[cardinality($1::uuid[]) + 1:]
         WHERE path[1:cardinality($1::uuid[])] = $1::uuid[]",
    )
    .bind(old_path)
    .bind(new_path)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete_category(conn: &mut PgConnection, id: CategoryId) -> Result<bool, sqlx::Error> {
    let r = sqlx::query("DELETE FROM categories WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(r.rows_affected() == 1)
}
