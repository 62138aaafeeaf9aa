//! The simulator's stand-in for a bank's confirmation page.

use super::*;

pub(super) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The simulator's stand-in for a bank's confirmation page (3-D Secure).
pub(super) async fn simulator_page(
    axum::extract::State(st): State,
    Path(payment): Path<String>,
) -> Response {
    let Some(sim) = &st.simulator else {
        return Problem::not_found("payment").into_response();
    };
    let body = match sim.pending_action(&payment).await {
        Ok(Some(amount)) => format!(
            "<h1>Confirm your payment</h1><p>Your bank asks you to confirm a payment of <strong>{}</strong>.</p>\
             <p>This is the Emporium payment simulator: no real bank is involved.</p>\
             <form method=\"post\"><button name=\"outcome\" value=\"confirm\" id=\"confirm\">Confirm payment</button> \
             <button name=\"outcome\" value=\"fail\" id=\"fail\">Fail authentication</button></form>",
            escape(&amount.display())
        ),
        Ok(None) => {
            "<h1>Nothing to confirm</h1><p>This payment needs no confirmation.</p>".to_owned()
        }
        Err(_) => return Problem::not_found("payment").into_response(),
    };
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Confirm your payment</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head>\
         <body style=\"font-family:system-ui;max-width:32rem;margin:3rem auto\">{body}</body></html>"
    ))
    .into_response()
}

#[derive(Debug, Deserialize)]
pub(super) struct SimulatorAnswer {
    outcome: String,
}

pub(super) async fn simulator_answer(
    axum::extract::State(st): State,
    Path(payment): Path<String>,
    axum::Form(form): axum::Form<SimulatorAnswer>,
) -> Response {
    let Some(sim) = &st.simulator else {
        return Problem::not_found("payment").into_response();
    };
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let (body, signature, return_url) = match sim
        .complete_action(&payment, form.outcome == "confirm", now)
        .await
    {
        Ok(answer) => answer,
        Err(e) => {
            return Problem::new(StatusCode::CONFLICT, "nothing_to_confirm", e.to_string())
                .into_response();
        }
    };
    // Delivered as a gateway would: a signed POST to our webhook endpoint. Should it be
    // lost, the checkout's recovery worker asks the provider instead.
    let delivered = st
        .own
        .post("/api/v1/payments/webhooks/simulator")
        .header(
            axum::http::HeaderName::from_static("emporium-signature"),
            &signature,
        )
        .body("application/json", body)
        .send_empty()
        .await;
    if let Err(e) = delivered {
        tracing::warn!(error = %e, "simulator webhook delivery failed");
    }
    match return_url {
        Some(url) if url.starts_with(&st.public_url) => Redirect::to(&url).into_response(),
        _ => Html("<p>Done. You may close this page.</p>").into_response(),
    }
}
