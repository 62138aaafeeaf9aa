//! Reviews for `seed --demo`: the demo customers buy a few things from several stores,
//! the stores ship and deliver them, and the customers review what they received and
//! rate the stores, through the same APIs people use, so every rule holds.

use std::collections::BTreeMap;

use contracts::cart::{CartClient, CartOf};
use contracts::catalog::{ProductId, VariantId};
use contracts::orders::dto::{ActionRequest, CheckoutRequest};
use contracts::orders::{Address, OrdersClient};
use contracts::reviews::ReviewsClient;
use contracts::reviews::dto::{ReviewRequest, StoreRatingRequest};
use contracts::shipping::MethodId;
use contracts::vendors::StoreId;
use kernel::Platform;

/// A demo store as the reviews need it: who runs it, how it ships, what it sells.
pub struct DemoStore {
    pub owner_token: String,
    pub store_id: StoreId,
    pub method: MethodId,
    pub products: Vec<(ProductId, VariantId)>,
}

/// What customers write: (stars, title, text), most of them happy, as on any shop.
const OPINIONS: [(i32, &str, &str); 8] = [
    (
        5,
        "Better than the pictures",
        "Arrived well packed and two days early. The finish is lovely and it feels built to last.",
    ),
    (
        5,
        "Exactly what I hoped for",
        "Ordered it as a present and kept it for myself. Would buy from this shop again.",
    ),
    (
        4,
        "Very good, one small thing",
        "Great quality for the price. The colour is a shade darker than on my screen.",
    ),
    (
        4,
        "Solid and well made",
        "Does the job every day without fuss. Delivery took a little longer than promised.",
    ),
    (
        5,
        "A small shop that cares",
        "A handwritten note in the parcel and a quick answer to my question. Lovely.",
    ),
    (
        3,
        "Fine, nothing special",
        "It is okay. Works as described, but I expected a little more at this price.",
    ),
    (
        4,
        "Would recommend",
        "Good value and it looks great. Sizing runs slightly small, so go one up.",
    ),
    (
        2,
        "Not for me",
        "Nicely made, but smaller than I thought from the description. Returning it was easy.",
    ),
];

/// How many products each demo customer buys (from as many stores).
const ITEMS_PER_CUSTOMER: usize = 4;

/// Buys, delivers and reviews; answers how many reviews were written.
pub async fn reviews(
    platform: &Platform,
    customers: &[String],
    stores: &[DemoStore],
) -> anyhow::Result<usize> {
    let cart = CartClient::new(platform.client(contracts::cart::SERVICE));
    let orders = OrdersClient::new(platform.client(contracts::orders::SERVICE));
    let reviews = ReviewsClient::new(platform.client(contracts::reviews::SERVICE));
    let mut written = 0;
    for (c, token) in customers.iter().enumerate() {
        // Different stores and products for each customer, the same on every run.
        let picks: Vec<(&DemoStore, &(ProductId, VariantId))> = (0..ITEMS_PER_CUSTOMER)
            .filter_map(|i| {
                let store = stores.get((c * 3 + i * 2) % stores.len().max(1))?;
                let product = store
                    .products
                    .get((c * 5 + i) % store.products.len().max(1))?;
                Some((store, product))
            })
            .collect();
        for (_, (_, variant)) in &picks {
            cart.set(CartOf::Customer(token), *variant, 1).await?;
        }
        let shipping: BTreeMap<StoreId, MethodId> =
            picks.iter().map(|(s, _)| (s.store_id, s.method)).collect();
        let req = CheckoutRequest {
            address: Address {
                name: format!("Customer {}", c + 1),
                line1: format!("{} Rue des Lilas", 10 + c),
                line2: None,
                city: "Lyon".into(),
                postal_code: "69001".into(),
                country: "FR".into(),
                region: None,
            },
            shipping,
            promotion_code: None,
            card_number: "4242424242424242".into(),
            expected_total_minor: None,
        };
        let placed = orders
            .checkout(token, &format!("demo-reviews-{c}"), &req)
            .await?;
        let Some(order) = placed.order else {
            anyhow::bail!("a demo checkout did not complete: {}", placed.status);
        };
        for sub in &order.sub_orders {
            let Some(store) = stores.iter().find(|s| s.store_id == sub.store_id) else {
                continue;
            };
            for (action, tracking) in [
                ("accept", None),
                ("ship", Some("DEMO-TRACK")),
                ("deliver", None),
            ] {
                let req = ActionRequest {
                    tracking_number: tracking.map(str::to_owned),
                    reason: None,
                };
                orders
                    .act(&store.owner_token, &sub.id, action, &req)
                    .await?;
            }
            let (stars, _, _) = OPINIONS[(c + written) % OPINIONS.len()];
            let rating = StoreRatingRequest {
                rating: stars.max(4),
                comment: "Quick delivery, well packed.".into(),
            };
            reviews.rate_store(token, sub.id, &rating).await?;
        }
        for (_, (product, _)) in &picks {
            let (rating, title, body) = OPINIONS[(c * 3 + written) % OPINIONS.len()];
            let req = ReviewRequest {
                product_id: *product,
                rating,
                title: title.into(),
                body: body.into(),
                photos: Vec::new(),
            };
            reviews.write(token, &req).await?;
            written += 1;
        }
    }
    Ok(written)
}
