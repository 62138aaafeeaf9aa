//! Service-to-service endpoints under `/internal/identity`, never exposed by a gateway.

use kernel::auth::{REVOCATION_PAGE, Revocation, RevocationList};
use kernel::http::{Json, Problem, Query};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::Error;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RevocationsParams {
    /// The last `seq` the caller has seen (0 at start).
    #[serde(default)]
    after: i64,
}

/// Sessions ended and users whose tokens are stale, for every service's token check
/// (each process polls this every second).
#[utoipa::path(get, path = "/internal/identity/revocations", security(("service" = [])), tag = "internal",
    params(RevocationsParams),
    responses((status = 200, body = RevocationList), (status = 404, body = Problem)))]
pub async fn revocations(
    axum::extract::State(s): axum::extract::State<super::State>,
    Query(params): Query<RevocationsParams>,
) -> Result<Json<RevocationList>, Error> {
    let rows = crate::store::revocations_after(
        &mut *s.pool.acquire().await?,
        params.after,
        REVOCATION_PAGE as i64,
    )
    .await?;
    Ok(Json(RevocationList {
        items: rows
            .into_iter()
            .map(|(seq, user, session, not_before)| Revocation {
                seq,
                user,
                session,
                not_before: not_before.unix_timestamp(),
            })
            .collect(),
    }))
}
