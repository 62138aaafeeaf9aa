use axum::http::StatusCode;
use kernel::http::{Failure, Problem};

/// Everything catalog can refuse, each with a stable problem code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("this slug is taken")]
    SlugTaken,
    #[error("a category cannot move under itself or one of its descendants")]
    CategoryCycle,
    #[error("the category still has subcategories or products")]
    CategoryNotEmpty,
    #[error("this store is not open: it has not been approved")]
    StoreNotOpen,
    #[error("the store is suspended: its products cannot be published")]
    StoreSuspended,
    #[error("an admin unpublished this product; it cannot be published until they lift it")]
    Moderated,
    #[error("a {from} product cannot do that")]
    IllegalTransition { from: &'static str },
    #[error(transparent)]
    Failure(#[from] Failure),
}

impl From<Error> for Problem {
    fn from(e: Error) -> Self {
        let text = e.to_string();
        match e {
            Error::SlugTaken => Problem::taken("slug", "slug_taken", text),
            Error::CategoryCycle => Problem::new(StatusCode::CONFLICT, "category_cycle", text),
            Error::CategoryNotEmpty => {
                Problem::new(StatusCode::CONFLICT, "category_not_empty", text)
                    .detail("Move or delete its subcategories (and products) first")
            }
            Error::StoreNotOpen => Problem::new(StatusCode::CONFLICT, "store_not_open", text),
            Error::Moderated => Problem::new(StatusCode::CONFLICT, "product_moderated", text),
            Error::StoreSuspended => Problem::new(StatusCode::CONFLICT, "store_suspended", text),
            Error::IllegalTransition { .. } => {
                Problem::new(StatusCode::CONFLICT, "illegal_transition", text)
            }
            Error::Failure(f) => f.into(),
        }
    }
}

kernel::service_error!(
    Error,
    forbidden = "you are not allowed to manage this store's products"
);
