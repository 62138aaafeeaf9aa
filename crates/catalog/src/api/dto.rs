//! Request and response bodies of catalog's API (shared with its client).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::CategoryId;

/// A category with its subtree.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct CategoryNode {
    pub id: CategoryId,
    pub name: String,
    pub slug: String,
    pub position: i32,
    #[schema(no_recursion)]
    pub children: Vec<CategoryNode>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CategoryTree {
    pub items: Vec<CategoryNode>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct CategoryRef {
    pub id: CategoryId,
    pub name: String,
    pub slug: String,
}

/// One category with where it sits and what is under it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CategoryView {
    pub id: CategoryId,
    pub name: String,
    pub slug: String,
    pub position: i32,
    pub parent_id: Option<CategoryId>,
    /// From the root down to this category's parent.
    pub breadcrumb: Vec<CategoryRef>,
    pub children: Vec<CategoryRef>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCategory {
    pub name: String,
    pub slug: String,
    pub parent_id: Option<CategoryId>,
    #[serde(default)]
    pub position: i32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCategory {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub position: Option<i32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveCategory {
    /// The new parent; `null` makes it a root category.
    pub parent_id: Option<CategoryId>,
    #[serde(default)]
    pub position: i32,
}
