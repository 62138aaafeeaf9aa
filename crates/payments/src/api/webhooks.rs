//! Provider webhooks, verified and applied once.

use super::*;

/// The provider's webhooks: signature checked (HMAC-SHA256 over timestamp and body,
/// five-minute replay window), each event applied once. A bad signature is a 400 and
/// changes nothing.
#[utoipa::path(post, path = "/api/v1/payments/webhooks/{provider}", security(()), tag = TAG,
    params(("provider" = String, Path, description = "simulator or stripe")),
    request_body(content = String, content_type = "application/json", description = "The provider's event, signed"),
    responses((status = 200), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub(super) async fn webhook(
    axum::extract::State(st): State,
    Path(provider_name): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<StatusCode> {
    if provider_name != st.provider.name() {
        return Err(Error::not_found("webhook"));
    }
    let header_name = if provider_name == "stripe" {
        "stripe-signature"
    } else {
        "emporium-signature"
    };
    let signature = headers
        .get(header_name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let event = st
        .provider
        .verify_webhook(signature, &body, now)
        .map_err(|reason| {
            tracing::warn!(%reason, provider = %provider_name, "webhook refused");
            Error::BadWebhook(reason)
        })?;
    // The delivery is recorded with its effect: a failure leaves neither, and the
    // provider's redelivery applies it.
    let mut tx = st.pool.begin().await?;
    if !store::first_delivery(&mut tx, &provider_name, &event.event_id).await? {
        return Ok(StatusCode::OK);
    }
    match apply_intent_state(&mut tx, &event.provider_ref, event.state).await {
        // A payment we do not know (another environment's): acknowledged, nothing to do.
        Ok(()) | Err(Error::Failure(Failure::NotFound(_))) => {
            tx.commit().await?;
            Ok(StatusCode::OK)
        }
        Err(e) => Err(e),
    }
}
