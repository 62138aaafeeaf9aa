//! Pricing a cart as a checkout's plan: lines, shipping as quoted, the promotion split
//! over the lines it applies to, tax, and each store's commission.

use super::*;

impl Saga {
    /// Prices the customer's cart as the plan of a new checkout.
    pub async fn price(&self, input: &CheckoutInput) -> Result<Plan, Error> {
        let cart = self
            .up
            .cart
            .view(CartOf::Customer(&input.token))
            .await
            .map_err(upstream)?;
        if cart.lines.is_empty() {
            return Err(Error::Refused {
                code: "cart_empty",
                message: "Your cart is empty.".into(),
            });
        }
        // Stock is not judged here: the reservation decides, so a sold-out line is a
        // clear `out_of_stock` whatever the cart last showed.
        let ids: Vec<VariantId> = cart.lines.iter().map(|l| l.variant_id).collect();
        let variants = self
            .up
            .catalog
            .sale_variants(&ids)
            .await
            .map_err(upstream)?;
        let by_id: HashMap<VariantId, _> = variants
            .items
            .into_iter()
            .map(|v| (v.variant_id, v))
            .collect();
        let mut currency = None;
        let mut stores: BTreeMap<StoreId, PlanStore> = BTreeMap::new();
        let mut weights: HashMap<StoreId, i64> = HashMap::new();
        for line in &cart.lines {
            let v = by_id
                .get(&line.variant_id)
                .filter(|v| v.for_sale)
                .ok_or_else(|| Error::Refused {
                    code: "cart_changed",
                    message: format!(
                        "{} is no longer for sale; please review your cart.",
                        line.title
                    ),
                })?;
            if *currency.get_or_insert(v.price.currency) != v.price.currency {
                return Err(Error::Refused {
                    code: "mixed_currencies",
                    message: "Items priced in different currencies cannot be bought together."
                        .into(),
                });
            }
            let entry = stores.entry(v.store_id).or_insert_with(|| PlanStore {
                store_id: v.store_id.0,
                store_name: v.store_name.clone(),
                shipping_method: String::new(),
                shipping_method_id: String::new(),
                shipping: 0,
                commission_bps: 0,
                lines: Vec::new(),
            });
            *weights.entry(v.store_id).or_default() +=
                i64::from(v.weight_grams.unwrap_or(0)) * i64::from(line.quantity);
            entry.lines.push(PlanLine {
                variant_id: v.variant_id.0,
                product_id: v.product_id.0,
                title: v.title.clone(),
                sku: v.sku.clone(),
                options: v.options.clone(),
                category_path: v.category_path.iter().map(|c| c.0).collect(),
                quantity: line.quantity,
                unit_price: v.price.amount_minor,
                discount: 0,
                tax: 0,
            });
        }
        let currency =
            currency.ok_or_else(|| Error::internal(anyhow::anyhow!("a cart without lines")))?;
        let money = |amount_minor| Money {
            amount_minor,
            currency,
        };
        // Shipping: the method the customer picked for each store, as quoted now.
        for key in input.shipping.keys() {
            if !stores.contains_key(key) {
                return Err(field(
                    &format!("shipping.{key}"),
                    "unknown_store",
                    "nothing in your cart comes from this store",
                ));
            }
        }
        let quote = self
            .up
            .shipping
            .quote(&contracts::shipping::dto::QuoteRequest {
                country: input.address.country.clone(),
                parcels: stores
                    .iter()
                    .map(|(id, s)| contracts::shipping::dto::Parcel {
                        store_id: *id,
                        subtotal: money(s.lines.iter().map(PlanLine::amount).sum()),
                        weight_grams: weights.get(id).copied().unwrap_or(0),
                    })
                    .collect(),
            })
            .await
            .map_err(upstream)?;
        for (parcel, (id, s)) in quote.parcels.iter().zip(stores.iter_mut()) {
            let Some(chosen) = input.shipping.get(id) else {
                return Err(field(
                    &format!("shipping.{id}"),
                    "required",
                    format!("choose how {} ships to you", s.store_name),
                ));
            };
            let option = parcel
                .options
                .iter()
                .find(|o| o.method_id == *chosen)
                .ok_or_else(|| {
                    field(
                        &format!("shipping.{id}"),
                        "not_offered",
                        format!(
                            "{} does not offer this shipping method to {}",
                            s.store_name, input.address.country
                        ),
                    )
                })?;
            s.shipping_method = option.name.clone();
            s.shipping_method_id = chosen.to_string();
            s.shipping = option.price.amount_minor;
        }
        // The promotion, split over the lines it applies to.
        let mut platform_funded = false;
        let mut promotion_code = None;
        let mut conn = self.pool.acquire().await?;
        let first_order = !store::has_paid_order(&mut conn, input.customer).await?;
        drop(conn);
        if let Some(code) = &input.promotion_code {
            let lines: Vec<contracts::promotions::dto::CartLine> = stores
                .iter()
                .flat_map(|(id, s)| {
                    s.lines
                        .iter()
                        .map(|l| promotion_line(*id, l, money(l.amount())))
                })
                .collect();
            let discount = self
                .up
                .promotions
                .evaluate(&contracts::promotions::dto::EvaluateRequest {
                    code: code.clone(),
                    lines,
                    first_order,
                })
                .await
                .map_err(|e| match e {
                    ClientError::Problem(p) if p.status == 404 => {
                        field("promotion_code", "unknown_code", "no such code")
                    }
                    ClientError::Problem(p) if p.status == 422 => Error::problem(Problem {
                        errors: p
                            .errors
                            .into_iter()
                            .map(|mut f| {
                                f.field = "promotion_code".into();
                                f
                            })
                            .collect(),
                        ..p
                    }),
                    other => upstream(other),
                })?;
            let mut parts = discount.per_line.iter();
            for (id, s) in stores.iter_mut() {
                for l in &mut s.lines {
                    l.discount = parts.next().map_or(0, |m| m.amount_minor);
                }
                if discount.free_shipping.contains(id) {
                    s.shipping = 0;
                }
            }
            platform_funded = discount.funded_by == "platform";
            promotion_code = Some(discount.code);
        }
        // Tax per line on what the line costs after its discount.
        let taxed = self
            .up
            .tax
            .quote(&contracts::tax::dto::QuoteRequest {
                country: input.address.country.clone(),
                region: input.address.region.clone(),
                lines: stores
                    .values()
                    .flat_map(|s| s.lines.iter().map(|l| money(l.amount() - l.discount)))
                    .collect(),
            })
            .await
            .map_err(upstream)?;
        let mut taxes = taxed.lines.iter();
        for s in stores.values_mut() {
            for l in &mut s.lines {
                l.tax = taxes.next().map_or(0, |t| t.tax.amount_minor);
            }
        }
        for (id, s) in stores.iter_mut() {
            s.commission_bps = self
                .up
                .vendors
                .commission(id)
                .await
                .map_err(upstream)?
                .commission_bps;
        }
        let plan = Plan {
            currency: currency.code().to_owned(),
            email: input.email.clone(),
            address: input.address.clone(),
            stores: stores.into_values().collect(),
            promotion_code,
            first_order,
            platform_funded,
            prices_include_tax: taxed.prices_include_tax,
        };
        if let Some(expected) = input.expected_total
            && expected != plan.totals().total
        {
            return Err(Error::Refused {
                code: "price_changed",
                message: format!(
                    "The total is now {}; please review it and confirm again.",
                    money(plan.totals().total).display()
                ),
            });
        }
        Ok(plan)
    }
}
