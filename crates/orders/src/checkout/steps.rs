//! The steps before the order exists: redeem the promotion, reserve stock, authorize
//! the payment, and wait for the customer's confirmation when the bank asks for one.

use super::*;

impl Saga {
    pub(super) async fn redeem(&self, row: &CheckoutRow) -> Result<bool, Error> {
        let plan = plan_of(row)?;
        if let Some(code) = &plan.promotion_code {
            let currency =
                Currency::parse(&plan.currency).map_err(|e| Error::internal(anyhow::anyhow!(e)))?;
            let req = contracts::promotions::dto::ServiceRedeemRequest {
                customer: row.customer,
                redemption: contracts::promotions::dto::RedeemRequest {
                    reference: Self::reference(row),
                    cart: contracts::promotions::dto::EvaluateRequest {
                        code: code.clone(),
                        lines: plan
                            .stores
                            .iter()
                            .flat_map(|s| {
                                s.lines.iter().map(move |l| {
                                    let amount = Money {
                                        amount_minor: l.amount(),
                                        currency,
                                    };
                                    let store = StoreId(s.store_id);
                                    promotion_line(store, l, amount)
                                })
                            })
                            .collect(),
                        first_order: plan.first_order,
                    },
                },
            };
            if let Err(e) = self.up.promotions.redeem(&req).await {
                return match e {
                    ClientError::Problem(p) if p.status < 500 => {
                        let message = p.detail.clone().unwrap_or_else(|| p.title.clone());
                        self.fail(row, &p.code, &message).await
                    }
                    other => Err(upstream(other)),
                };
            }
        }
        let mut conn = self.pool.acquire().await?;
        Ok(store::advance(&mut conn, row.id, Step::Priced, Step::Redeemed).await?)
    }

    pub(super) async fn reserve(&self, row: &CheckoutRow) -> Result<bool, Error> {
        let plan = plan_of(row)?;
        let ids: Vec<VariantId> = plan
            .stores
            .iter()
            .flat_map(|s| s.lines.iter().map(|l| VariantId(l.variant_id)))
            .collect();
        let availability = self
            .up
            .inventory
            .availability(&ids)
            .await
            .map_err(upstream)?;
        let tracked: std::collections::HashSet<VariantId> = availability
            .items
            .iter()
            .filter(|a| a.tracked)
            .map(|a| a.variant_id)
            .collect();
        for s in &plan.stores {
            let store_key = StoreId(s.store_id).to_string();
            if row.reservations.0.contains_key(&store_key) {
                continue;
            }
            let lines: Vec<ReserveLine> = s
                .lines
                .iter()
                .filter(|l| tracked.contains(&VariantId(l.variant_id)))
                .map(|l| ReserveLine {
                    variant_id: VariantId(l.variant_id),
                    quantity: i64::from(l.quantity),
                })
                .collect();
            if lines.is_empty() {
                continue;
            }
            let req = ServiceReserveRequest {
                owner: row.customer,
                reservation: ReserveRequest {
                    reference: Self::reservation_reference(row, &store_key),
                    lines,
                    ttl_secs: Some(RESERVATION_TTL_SECS),
                },
            };
            match self.up.inventory.reserve(&req).await {
                Ok(r) => {
                    let mut conn = self.pool.acquire().await?;
                    store::record_reservation(&mut conn, row.id, &store_key, &r.id.to_string())
                        .await?;
                }
                Err(ClientError::Problem(p)) if p.code == "out_of_stock" => {
                    let names: Vec<&str> = s.lines.iter().map(|l| l.title.as_str()).collect();
                    return self
                        .fail(
                            row,
                            "out_of_stock",
                            &format!("Not enough stock left of: {}.", names.join(", ")),
                        )
                        .await;
                }
                Err(e) => return Err(upstream(e)),
            }
        }
        let mut conn = self.pool.acquire().await?;
        Ok(store::advance(&mut conn, row.id, Step::Redeemed, Step::Reserved).await?)
    }

    pub(super) async fn authorize(
        &self,
        row: &CheckoutRow,
        card: Option<&str>,
    ) -> Result<bool, Error> {
        let plan = plan_of(row)?;
        let reference = Self::reference(row);
        let payment = match card {
            Some(card) => {
                let currency = Currency::parse(&plan.currency)
                    .map_err(|e| Error::internal(anyhow::anyhow!(e)))?;
                let req = AuthorizeRequest {
                    reference: reference.clone(),
                    customer: row.customer,
                    amount: Money {
                        amount_minor: plan.totals().total,
                        currency,
                    },
                    card_number: card.to_owned(),
                    return_url: format!("{}/checkout/{reference}", self.public_url),
                };
                match self.up.payments.authorize(&req).await {
                    Ok(p) => p,
                    Err(ClientError::Problem(p)) if p.status == 422 => {
                        return self
                            .fail(row, "invalid_card_number", "The card number is not valid.")
                            .await;
                    }
                    Err(e) => return Err(upstream(e)),
                }
            }
            // The worker has no card: the payment stands as the provider last answered,
            // and one never asked for is never made.
            None => match self.up.payments.by_reference(&reference, true).await {
                Ok(p) => p,
                Err(ClientError::Problem(p)) if p.status == 404 => {
                    return self.interrupted(row).await;
                }
                Err(e) => return Err(upstream(e)),
            },
        };
        let mut conn = self.pool.acquire().await?;
        store::record_payment(
            &mut conn,
            row.id,
            &payment.id.to_string(),
            payment.action_url.as_deref(),
        )
        .await?;
        match payment.status.as_str() {
            "authorized" => {
                Ok(store::advance(&mut conn, row.id, Step::Reserved, Step::Authorized).await?)
            }
            "requires_action" => {
                Ok(store::advance(&mut conn, row.id, Step::Reserved, Step::AwaitingAction).await?)
            }
            "declined" => {
                drop(conn);
                self.fail(
                    row,
                    payment.failure_code.as_deref().unwrap_or("card_declined"),
                    payment
                        .failure_message
                        .as_deref()
                        .unwrap_or("Your card was declined."),
                )
                .await
            }
            "pending" if card.is_none() => {
                drop(conn);
                self.interrupted(row).await
            }
            other => Err(Error::internal(anyhow::anyhow!(
                "payment in unexpected status {other}"
            ))),
        }
    }

    /// A checkout waiting for the customer's confirmation: `true` once it moved on.
    pub(super) async fn await_action(&self, row: &CheckoutRow) -> Result<bool, Error> {
        let payment = self
            .up
            .payments
            .by_reference(&Self::reference(row), true)
            .await
            .map_err(upstream)?;
        let mut conn = self.pool.acquire().await?;
        match payment.status.as_str() {
            "authorized" => {
                store::advance(&mut conn, row.id, Step::AwaitingAction, Step::Authorized).await?;
                Ok(true)
            }
            "declined" | "voided" => {
                store::mark_failing(
                    &mut conn,
                    row.id,
                    payment.failure_code.as_deref().unwrap_or("card_declined"),
                    payment
                        .failure_message
                        .as_deref()
                        .unwrap_or("Your card was declined."),
                )
                .await?;
                // Compensation runs from `reserved` on.
                store::advance(&mut conn, row.id, Step::AwaitingAction, Step::Reserved).await?;
                Ok(true)
            }
            _ => {
                // Held stock runs out: give up before it does.
                let age = time::OffsetDateTime::now_utc() - row.created_at;
                if age.whole_seconds() > i64::try_from(RESERVATION_TTL_SECS).unwrap_or(900) - 60 {
                    store::mark_failing(
                        &mut conn,
                        row.id,
                        "confirmation_timeout",
                        "The payment was not confirmed in time; nothing was charged.",
                    )
                    .await?;
                    store::advance(&mut conn, row.id, Step::AwaitingAction, Step::Reserved).await?;
                    return Ok(true);
                }
                Ok(false)
            }
        }
    }
}
