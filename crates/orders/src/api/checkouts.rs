//! Checkouts: a preview that holds nothing, placing one, and reading one back.

use super::*;

pub(super) fn parse_address(a: &Address, errs: &mut FieldErrors) -> Option<Address> {
    let text = |v: &str, max| kernel::validation::bounded_text(v, 1, max);
    let name = errs.check("address.name", "invalid", text(&a.name, 100));
    let line1 = errs.check("address.line1", "invalid", text(&a.line1, 200));
    let line2 = match a.line2.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
        Some(l) => errs
            .check("address.line2", "invalid", text(l, 200))
            .map(Some),
        None => Some(None),
    };
    let city = errs.check("address.city", "invalid", text(&a.city, 100));
    let postal_code = errs.check("address.postal_code", "invalid", text(&a.postal_code, 20));
    let country = errs.check(
        "address.country",
        "invalid",
        kernel::values::parse_country(&a.country),
    );
    let region = match a.region.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) => errs
            .check("address.region", "invalid", text(r, 50))
            .map(Some),
        None => Some(None),
    };
    Some(Address {
        name: name?,
        line1: line1?,
        line2: line2?,
        city: city?,
        postal_code: postal_code?,
        country: country?,
        region: region?,
    })
}

pub(super) async fn checkout_view(
    conn: &mut PgConnection,
    row: &CheckoutRow,
) -> Result<CheckoutView> {
    let order = match row.order_id {
        Some(id) => match store::order(conn, id).await? {
            Some(o) => Some(order_view(conn, o, None).await?),
            None => None,
        },
        None => None,
    };
    let step = row.step;
    Ok(CheckoutView {
        id: row.id,
        status: step.as_str().to_owned(),
        order,
        next_action_url: (step == Step::AwaitingAction)
            .then(|| row.action_url.clone())
            .flatten(),
        failure_code: if step == Step::Failed {
            row.failure_code.clone()
        } else {
            None
        },
        failure_message: if step == Step::Failed {
            row.failure_message.clone()
        } else {
            None
        },
    })
}

/// The request, validated, as the saga takes it; a preview needs no card.
pub(super) fn checkout_input(
    claims: &Claims,
    customer: UserId,
    key: String,
    headers: &HeaderMap,
    req: &CheckoutRequest,
    needs_card: bool,
) -> Result<CheckoutInput> {
    let token = kernel::auth::bearer_token(headers)
        .unwrap_or_default()
        .to_owned();
    let mut errs = FieldErrors::new();
    let address = parse_address(&req.address, &mut errs);
    let card = if needs_card || !req.card_number.trim().is_empty() {
        errs.check(
            "card_number",
            "invalid_card_number",
            contracts::payments::parse_payment_source(&req.card_number),
        )
    } else {
        Some(String::new())
    };
    if req.shipping.len() > 50 {
        errs.add("shipping", "invalid", "too many stores");
    }
    let promotion_code = req
        .promotion_code
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    if promotion_code.is_some_and(|c| c.len() > 32) {
        errs.add("promotion_code", "unknown_code", "no such code");
    }
    let (address, card) = errs.finish_with((address, card))?;
    Ok(CheckoutInput {
        customer,
        token,
        email: claims.email.clone(),
        key,
        address,
        shipping: req.shipping.clone(),
        promotion_code: promotion_code.map(str::to_owned),
        card_number: card,
        expected_total: req.expected_total_minor,
    })
}

/// What checking out the cart this way would cost, without holding stock or money
/// (`card_number` may be empty). The same refusals as checkout.
#[utoipa::path(post, path = "/api/v1/orders/checkout/preview", tag = TAG, security(("bearer" = [])),
    request_body = CheckoutRequest,
    responses((status = 200, body = PreviewView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn preview(
    axum::extract::State(saga): State,
    AuthUser(claims): AuthUser,
    headers: HeaderMap,
    Json(req): Json<CheckoutRequest>,
) -> Result<Json<PreviewView>> {
    let customer = claims.sub;
    let input = checkout_input(&claims, customer, String::new(), &headers, &req, false)?;
    let plan = saga.price(&input).await?;
    let money = money_in(&plan.currency)?;
    let totals = plan.totals();
    Ok(Json(PreviewView {
        stores: plan
            .stores
            .iter()
            .map(|s| {
                let t = plan.store_totals(s);
                PreviewStore {
                    store_id: StoreId(s.store_id),
                    store_name: s.store_name.clone(),
                    shipping_method: s.shipping_method.clone(),
                    subtotal: money(t.subtotal),
                    discount: money(t.discount),
                    shipping: money(t.shipping),
                    tax: money(t.tax),
                    total: money(t.total),
                }
            })
            .collect(),
        subtotal: money(totals.subtotal),
        discount: money(totals.discount),
        shipping: money(totals.shipping),
        tax: money(totals.tax),
        total: money(totals.total),
        prices_include_tax: plan.prices_include_tax,
    }))
}

/// Card refusals are 402s; everything else that stops a checkout is a 409.
pub(super) fn failure_status(code: &str) -> StatusCode {
    match code {
        "card_declined"
        | "insufficient_funds"
        | "authentication_failed"
        | "invalid_card_number" => StatusCode::PAYMENT_REQUIRED,
        _ => StatusCode::CONFLICT,
    }
}

/// Check out the signed-in customer's cart: one order, one sub-order per store. Needs
/// an `Idempotency-Key`: the same key again returns the first answer and never
/// charges twice. 201 with the paid order; 202 when the card needs a confirmation
/// step (`next_action_url`); 402 when the card is refused; 409 when stock, prices or
/// the promotion stand in the way, or `checkout_in_progress` while another checkout of
/// the customer's cart is under way (whatever its key: one cart, one checkout).
/// Nothing is charged unless an order is paid.
#[utoipa::path(post, path = "/api/v1/orders/checkout", tag = TAG, security(("bearer" = [])),
    request_body = CheckoutRequest,
    params(("Idempotency-Key" = String, Header, pattern = "^[\\x21-\\x7e]{1,255}$", description = "One checkout per key: 1 to 255 visible ASCII characters")),
    responses((status = 201, body = CheckoutView), (status = 202, body = CheckoutView),
              (status = 400, body = Problem, description = "idempotency_key_required"),
              (status = 402, body = Problem, description = "card_declined, insufficient_funds, authentication_failed"),
              (status = 409, body = Problem, description = "checkout_in_progress (another checkout of the cart is under way), out_of_stock, cart_empty, cart_changed, price_changed, promotion_exhausted, promotion_customer_limit"),
              (status = 422, body = Problem), (status = 503, body = Problem, description = "checkout_incomplete: retry with the same Idempotency-Key")))]
pub(super) async fn checkout(
    axum::extract::State(saga): State,
    AuthUser(claims): AuthUser,
    headers: HeaderMap,
    Json(req): Json<CheckoutRequest>,
) -> Result<Response> {
    let customer = claims.sub;
    let key = headers
        .get(&kernel::http::idempotency::IDEMPOTENCY_KEY)
        .and_then(|v| v.to_str().ok())
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "idempotency_key_required",
                "A checkout needs an Idempotency-Key header, so a retry never orders twice",
            )
        })?
        .to_owned();
    let input = checkout_input(&claims, customer, key, &headers, &req, true)?;
    let row = saga.checkout(&input).await?;
    let mut conn = saga.pool.acquire().await?;
    let view = checkout_view(&mut conn, &row).await?;
    match row.step {
        Step::Completed => Ok((StatusCode::CREATED, Json(view)).into_response()),
        Step::AwaitingAction => Ok((StatusCode::ACCEPTED, Json(view)).into_response()),
        Step::Failed => {
            let code = row.failure_code.as_deref().unwrap_or("checkout_failed");
            let message = row
                .failure_message
                .clone()
                .unwrap_or_else(|| "The checkout failed.".into());
            Ok(Problem::new(failure_status(code), code, message).into_response())
        }
        _ => Ok(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "checkout_incomplete",
            "The checkout could not finish yet; retry with the same Idempotency-Key",
        )
        .retry_after(2)
        .into_response()),
    }
}

/// Where a checkout stands (its customer): the page a confirmation step returns to
/// polls this.
#[utoipa::path(get, path = "/api/v1/orders/checkouts/{checkout}", tag = TAG, security(("bearer" = [])),
    params(("checkout" = String, Path)),
    responses((status = 200, body = CheckoutView), (status = 404, body = Problem)))]
pub(super) async fn get_checkout(
    axum::extract::State(saga): State,
    AuthUser(claims): AuthUser,
    Path(id): Path<CheckoutId>,
) -> Result<Json<CheckoutView>> {
    let mut conn = saga.pool.acquire().await?;
    let row = store::checkout(&mut conn, id)
        .await?
        .filter(|c| sees(&claims, c.customer))
        .ok_or(Error::not_found("checkout"))?;
    Ok(Json(checkout_view(&mut conn, &row).await?))
}

pub(super) fn money_in(currency: &str) -> Result<impl Fn(i64) -> Money> {
    let currency = Currency::parse(currency).map_err(|e| Error::internal(anyhow::anyhow!(e)))?;
    Ok(move |amount_minor| Money {
        amount_minor,
        currency,
    })
}
