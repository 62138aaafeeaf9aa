//! After authorization: confirm (the order written, stock committed), capture, and
//! compensation for a checkout that failed before it.

use super::*;

impl Saga {
    /// Writes the order and commits the held stock.
    pub(super) async fn confirm(&self, row: &CheckoutRow) -> Result<bool, Error> {
        for reservation in row.reservations.0.values() {
            let id: contracts::inventory::ReservationId = reservation
                .parse()
                .map_err(|_| Error::internal(anyhow::anyhow!("bad reservation id")))?;
            if let Err(e) = self.up.inventory.reservation_action(id, "commit").await {
                return match e {
                    // The hold ran out before the payment was confirmed: nothing is sold.
                    ClientError::Problem(p) if p.status == 409 => {
                        let mut conn = self.pool.acquire().await?;
                        store::mark_failing(
                            &mut conn,
                            row.id,
                            "reservation_expired",
                            "The items were held for too long; nothing was charged.",
                        )
                        .await?;
                        Ok(
                            store::advance(&mut conn, row.id, Step::Authorized, Step::Reserved)
                                .await?,
                        )
                    }
                    other => Err(upstream(other)),
                };
            }
        }
        let plan = plan_of(row)?;
        let totals = plan.totals();
        let payment = row
            .payment_id
            .clone()
            .ok_or_else(|| Error::internal(anyhow::anyhow!("authorized without a payment")))?;
        let mut tx = self.pool.begin().await?;
        let seq = store::next_order_number(&mut tx).await?;
        let number = domain::order_number(seq);
        let order = OrderRow {
            id: OrderId::new(),
            number: number.clone(),
            checkout_id: row.id,
            customer: row.customer,
            email: plan.email.clone(),
            status: "placed".into(),
            currency: plan.currency.clone(),
            subtotal_minor: totals.subtotal,
            discount_minor: totals.discount,
            shipping_minor: totals.shipping,
            tax_minor: totals.tax,
            total_minor: totals.total,
            promotion_code: plan.promotion_code.clone(),
            address: sqlx::types::Json(plan.address.clone()),
            payment_id: payment,
            created_at: time::OffsetDateTime::now_utc(),
        };
        store::insert_order(&mut tx, &order).await?;
        for (i, s) in plan.stores.iter().enumerate() {
            let t = plan.store_totals(s);
            let sub = SubOrderRow {
                id: SubOrderId::new(),
                order_id: order.id,
                number: domain::sub_order_number(&number, i + 1),
                store_id: StoreId(s.store_id),
                store_name: s.store_name.clone(),
                status: SubOrderStatus::Placed,
                subtotal_minor: t.subtotal,
                discount_minor: t.discount,
                platform_discount_minor: plan.platform_discount(s),
                shipping_minor: t.shipping,
                tax_minor: t.tax,
                total_minor: t.total,
                commission_bps: s.commission_bps,
                commission_minor: plan.commission(s),
                refunded_minor: 0,
                shipping_method: s.shipping_method.clone(),
                reservation_id: row
                    .reservations
                    .0
                    .get(&StoreId(s.store_id).to_string())
                    .cloned(),
                tracking_number: None,
                cancel_reason: None,
            };
            store::insert_sub_order(&mut tx, &sub).await?;
            for l in &s.lines {
                let added_tax = if plan.prices_include_tax { 0 } else { l.tax };
                store::insert_line(
                    &mut tx,
                    &LineRow {
                        id: Uuid::now_v7(),
                        sub_order_id: sub.id,
                        variant_id: VariantId(l.variant_id),
                        product_id: contracts::catalog::ProductId(l.product_id),
                        title: l.title.clone(),
                        sku: l.sku.clone(),
                        options: l.options.clone(),
                        quantity: l.quantity,
                        unit_price_minor: l.unit_price,
                        discount_minor: l.discount,
                        tax_minor: l.tax,
                        total_minor: l.amount() - l.discount + added_tax,
                    },
                )
                .await?;
            }
        }
        store::record_event(&mut tx, order.id, None, "placed", None, Some(row.customer)).await?;
        let moved = sqlx::query(
            "UPDATE checkouts SET step = 'confirmed', order_id = $2, updated_at = now() WHERE id = $1 AND step = 'authorized'",
        )
        .bind(row.id)
        .bind(order.id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if moved {
            tx.commit().await?;
        }
        Ok(moved)
    }

    /// Takes the money, splits it in the ledger, marks the order paid.
    pub(super) async fn capture(&self, row: &CheckoutRow) -> Result<bool, Error> {
        let order_id = row
            .order_id
            .ok_or_else(|| Error::internal(anyhow::anyhow!("confirmed without an order")))?;
        let payment: PaymentId = row
            .payment_id
            .as_deref()
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| Error::internal(anyhow::anyhow!("confirmed without a payment")))?;
        let plan = plan_of(row)?;
        let splits = plan
            .stores
            .iter()
            .map(|s| SplitRequest {
                store_id: StoreId(s.store_id),
                gross_minor: plan.store_totals(s).total,
                platform_discount_minor: plan.platform_discount(s),
                commission_minor: plan.commission(s),
            })
            .collect();
        self.up
            .payments
            .capture(payment, &CaptureRequest { splits })
            .await
            .map_err(upstream)?;
        let mut tx = self.pool.begin().await?;
        let order = store::lock_order(&mut tx, order_id)
            .await?
            .ok_or(Error::not_found("order"))?;
        let paid_now = order.status == "placed";
        if paid_now {
            store::set_order_status(&mut tx, order_id, crate::domain::OrderStatus::Paid).await?;
            let placed = SubOrderStatus::Placed;
            let paid = placed.apply(SubOrderAction::Pay).ok_or_else(|| {
                Error::internal(anyhow::anyhow!("placed sub-orders cannot be paid"))
            })?;
            store::advance_sub_orders(&mut tx, order_id, placed, paid).await?;
            store::record_event(&mut tx, order_id, None, "paid", None, None).await?;
            kernel::events::outbox::record(
                &mut tx,
                &OrderPaid {
                    order_id,
                    number: order.number.clone(),
                    customer: row.customer,
                    email: order.email.clone(),
                    stores: plan.stores.iter().map(|s| StoreId(s.store_id)).collect(),
                },
            )
            .await?;
            // Each store hears of its own part.
            for sub in store::sub_orders_of(&mut tx, order_id).await? {
                kernel::events::outbox::record(
                    &mut tx,
                    &SubOrderChanged {
                        sub_order_id: sub.id,
                        order_id,
                        number: sub.number,
                        store_id: sub.store_id,
                        status: SubOrderStatus::Paid.as_str().to_owned(),
                        tracking_number: None,
                        email: order.email.clone(),
                        reason: None,
                    },
                )
                .await?;
            }
        }
        tx.commit().await?;
        if paid_now {
            crate::telemetry::order_paid(plan, order.total_minor);
        }
        // What was bought leaves the cart before the checkout completes and so frees the
        // customer's checkout slot: the next checkout reads a cart without it. The order
        // is paid either way; should the cart not answer, the checkout stays `confirmed`
        // and is finished on the next attempt (the same key, or the recovery worker).
        let purchase = contracts::cart::dto::PurchaseRequest {
            reference: Self::reference(row),
            customer: row.customer,
            lines: plan
                .stores
                .iter()
                .flat_map(|s| s.lines.iter())
                .map(|l| contracts::cart::dto::PurchasedLine {
                    variant_id: VariantId(l.variant_id),
                    quantity: l.quantity,
                })
                .collect(),
        };
        if let Err(e) = self.up.cart.record_purchase(&purchase).await {
            tracing::warn!(error = %e, checkout = %Self::reference(row), "could not take bought items out of the cart");
            return Err(upstream(e));
        }
        let mut conn = self.pool.acquire().await?;
        Ok(store::advance(&mut conn, row.id, Step::Confirmed, Step::Completed).await?)
    }

    /// Undoes what a failed checkout did before authorization, then marks it failed.
    pub(super) async fn compensate(&self, row: &CheckoutRow) -> Result<(), Error> {
        let payment = match row
            .payment_id
            .as_deref()
            .and_then(|p| p.parse::<PaymentId>().ok())
        {
            Some(id) => Some(id),
            // An authorize call whose answer was lost (payments or its database went
            // away) may have made a payment all the same: found by the checkout's
            // reference, brought up to date with the provider, and voided.
            None => match self
                .up
                .payments
                .by_reference(&Self::reference(row), true)
                .await
            {
                Ok(p) => Some(p.id),
                Err(ClientError::Problem(p)) if p.status == 404 => None,
                Err(e) => return Err(upstream(e)),
            },
        };
        if let Some(payment) = payment {
            self.up.payments.void(payment).await.map_err(upstream)?;
        }
        let mut held: Vec<contracts::inventory::ReservationId> = row
            .reservations
            .0
            .values()
            .filter_map(|r| r.parse().ok())
            .collect();
        // A reserve call whose answer was lost (inventory or this process died) may
        // hold stock all the same: found by the reference it was made with.
        for store in row.plan.iter().flat_map(|p| &p.0.stores) {
            let store_key = StoreId(store.store_id).to_string();
            if row.reservations.0.contains_key(&store_key) {
                continue;
            }
            let reference = Self::reservation_reference(row, &store_key);
            match self.up.inventory.reservation_by_reference(&reference).await {
                Ok(r) => held.push(r.id),
                Err(ClientError::Problem(p)) if p.status == 404 => {}
                Err(e) => return Err(upstream(e)),
            }
        }
        for id in held {
            self.up
                .inventory
                .reservation_action(id, "release")
                .await
                .map_err(upstream)?;
        }
        if row
            .plan
            .as_ref()
            .is_some_and(|p| p.0.promotion_code.is_some())
        {
            match self.up.promotions.release(&Self::reference(row)).await {
                Ok(()) => {}
                Err(ClientError::Problem(p)) if p.status == 404 => {}
                Err(e) => return Err(upstream(e)),
            }
        }
        let mut conn = self.pool.acquire().await?;
        store::advance(&mut conn, row.id, row.step, Step::Failed).await?;
        Ok(())
    }
}
