//! The server-rendered web UI: a backend-for-frontend over the same typed clients the
//! services use. Pages work without JavaScript; htmx adds niceties.

pub mod pages;
pub mod session;

use std::sync::Arc;

use axum::http::Method;
use axum::http::header;
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::{any, post};
use contracts::cart::CartClient;
use contracts::catalog::CatalogClient;
use contracts::identity::IdentityClient;
use contracts::inventory::InventoryClient;
use contracts::orders::OrdersClient;
use contracts::payments::PaymentsClient;
use contracts::promotions::PromotionsClient;
use contracts::reviews::ReviewsClient;
use contracts::search::SearchClient;
use contracts::shipping::ShippingClient;
use contracts::tax::TaxClient;
use contracts::vendors::VendorsClient;
use kernel::auth::Verifier;
use kernel::http::access::{Access, Pages};
use kernel::{Platform, ServiceModule};

pub const SERVICE: &str = "web";

#[derive(Clone)]
pub struct WebState {
    pub identity: IdentityClient,
    pub vendors: VendorsClient,
    pub catalog: CatalogClient,
    pub search: SearchClient,
    pub inventory: InventoryClient,
    pub cart: CartClient,
    pub shipping: ShippingClient,
    pub tax: TaxClient,
    pub promotions: PromotionsClient,
    pub orders: OrdersClient,
    pub payments: PaymentsClient,
    pub reviews: ReviewsClient,
    /// For canonical links and sitemaps.
    pub public_url: String,
    pub verifier: Arc<Verifier>,
    /// Cookies get `Secure` when the public URL is https.
    pub secure_cookies: bool,
}

pub async fn module(platform: &Platform) -> anyhow::Result<ServiceModule> {
    let state = WebState {
        identity: IdentityClient::new(platform.client(contracts::identity::SERVICE)),
        vendors: VendorsClient::new(platform.client(contracts::vendors::SERVICE)),
        catalog: CatalogClient::new(platform.client(contracts::catalog::SERVICE)),
        search: SearchClient::new(platform.client(contracts::search::SERVICE)),
        inventory: InventoryClient::new(platform.client(contracts::inventory::SERVICE)),
        cart: CartClient::new(platform.client(contracts::cart::SERVICE)),
        shipping: ShippingClient::new(platform.client(contracts::shipping::SERVICE)),
        tax: TaxClient::new(platform.client(contracts::tax::SERVICE)),
        promotions: PromotionsClient::new(platform.client(contracts::promotions::SERVICE)),
        orders: OrdersClient::new(platform.client(contracts::orders::SERVICE)),
        payments: PaymentsClient::new(platform.client(contracts::payments::SERVICE)),
        reviews: ReviewsClient::new(platform.client(contracts::reviews::SERVICE)),
        public_url: platform.config.public_url.clone(),
        verifier: platform.verifier.clone(),
        secure_cookies: platform.config.public_url.starts_with("https://"),
    };
    Ok(ServiceModule {
        name: SERVICE,
        pool: None,
        api: utoipa_axum::router::OpenApiRouter::new(),
        pages: routes(state.clone()),
        subscriptions: Vec::new(),
        fallback: Some(any(pages::not_found).layer(middleware::from_fn_with_state(
            state,
            session::session_layer,
        ))),
    })
}

fn routes(state: WebState) -> Pages {
    use pages::{
        account, admin, admin_catalog, auth, cart, checkout, order_desk, review_desk, selling,
        shop, vendor, vendor_products, vendor_stock, vendor_store,
    };
    Pages::new(Some(Arc::new(pages::guard)))
        .get("/", Access::Anyone, shop::home)
        .get("/search", Access::Anyone, shop::search_page)
        .get("/cart", Access::Anyone, cart::view)
        .post("/cart/add", Access::Anyone, cart::add)
        .post("/cart/lines/{variant}", Access::Anyone, cart::set_line)
        .get("/checkout", Access::SignedIn, checkout::checkout_form)
        .post("/checkout", Access::SignedIn, checkout::place_order)
        .post("/checkout/preview", Access::SignedIn, checkout::preview)
        .get(
            "/checkout/{id}",
            Access::SignedIn,
            checkout::checkout_return,
        )
        .post("/reviews", Access::SignedIn, shop::reviews::write)
        .post(
            "/reviews/{review}/{action}",
            Access::SignedIn,
            shop::reviews::act,
        )
        .post(
            "/orders/sub-orders/{id}/rating",
            Access::SignedIn,
            shop::reviews::rate_store,
        )
        .get("/orders", Access::SignedIn, checkout::my_orders)
        .get("/orders/{id}", Access::SignedIn, checkout::order_detail)
        .post(
            "/orders/sub-orders/{id}/cancel",
            Access::SignedIn,
            checkout::cancel,
        )
        .get(
            "/vendor/stores/{store}/orders",
            Access::SignedIn,
            order_desk::queue,
        )
        .get(
            "/vendor/stores/{store}/orders/{id}",
            Access::SignedIn,
            order_desk::sub_order,
        )
        .post(
            "/vendor/stores/{store}/orders/{id}/{action}",
            Access::SignedIn,
            order_desk::act,
        )
        .get(
            "/vendor/stores/{store}/reviews",
            Access::SignedIn,
            review_desk::store_reviews,
        )
        .post(
            "/vendor/stores/{store}/reviews/{review}/reply",
            Access::SignedIn,
            review_desk::reply,
        )
        .get("/admin/reviews", Access::Admin, review_desk::queue)
        .post(
            "/admin/reviews/{review}/{action}",
            Access::Admin,
            review_desk::decide,
        )
        .get(
            "/vendor/stores/{store}/balance",
            Access::SignedIn,
            order_desk::balance,
        )
        .get("/admin/orders", Access::Admin, order_desk::admin_orders)
        .get("/admin/orders/{id}", Access::Admin, order_desk::admin_order)
        .post(
            "/admin/sub-orders/{id}/cancel",
            Access::Admin,
            order_desk::admin_cancel,
        )
        .post(
            "/admin/sub-orders/{id}/refund",
            Access::Admin,
            order_desk::admin_refund,
        )
        .get("/admin/payouts", Access::Admin, order_desk::admin_payouts)
        .post("/admin/payouts/run", Access::Admin, order_desk::run_payouts)
        .get("/search/suggest", Access::Anyone, shop::suggest)
        .get("/c/{slug}", Access::Anyone, shop::category_page)
        .get("/s/{slug}", Access::Anyone, shop::store_page)
        .get("/p/{store}/{slug}", Access::Anyone, shop::product_page)
        .get("/register", Access::Anyone, auth::register_form)
        .post("/register", Access::Anyone, auth::register)
        .get("/login", Access::Anyone, auth::login_form)
        .post("/login", Access::Anyone, auth::login)
        .post("/logout", Access::Anyone, auth::logout)
        .get("/verify-email", Access::Anyone, auth::verify_form)
        .post("/verify-email", Access::Anyone, auth::verify)
        .post("/verify-email/resend", Access::Anyone, auth::resend)
        .get("/forgot-password", Access::Anyone, auth::forgot_form)
        .post("/forgot-password", Access::Anyone, auth::forgot)
        .get("/reset-password", Access::Anyone, auth::reset_form)
        .post("/reset-password", Access::Anyone, auth::reset)
        .get("/account", Access::SignedIn, account::overview)
        .post(
            "/account/profile",
            Access::SignedIn,
            account::update_profile,
        )
        .get(
            "/account/password",
            Access::SignedIn,
            account::password_form,
        )
        .post(
            "/account/password",
            Access::SignedIn,
            account::change_password,
        )
        .post("/account/logout-all", Access::SignedIn, account::logout_all)
        .get(
            "/account/addresses/new",
            Access::SignedIn,
            account::new_address,
        )
        .post(
            "/account/addresses",
            Access::SignedIn,
            account::create_address,
        )
        .get(
            "/account/addresses/{id}/edit",
            Access::SignedIn,
            account::edit_address,
        )
        .post(
            "/account/addresses/{id}",
            Access::SignedIn,
            account::update_address,
        )
        .post(
            "/account/addresses/{id}/delete",
            Access::SignedIn,
            account::delete_address,
        )
        .get("/admin/users", Access::Admin, admin::users)
        .post("/admin/users/{id}/{action}", Access::Admin, admin::moderate)
        .get("/admin/stores", Access::Admin, admin::stores)
        .post(
            "/admin/settings/commission",
            Access::Admin,
            admin_catalog::set_default_commission,
        )
        .post(
            "/admin/stores/{id}/commission",
            Access::Admin,
            admin_catalog::set_commission,
        )
        .post(
            "/admin/stores/{id}/{action}",
            Access::Admin,
            admin::store_action,
        )
        .get(
            "/admin/categories",
            Access::Admin,
            admin_catalog::categories,
        )
        .post(
            "/admin/categories",
            Access::Admin,
            admin_catalog::create_category,
        )
        .post(
            "/admin/categories/{id}/{action}",
            Access::Admin,
            admin_catalog::category_action,
        )
        .get("/admin/products", Access::Admin, admin_catalog::products)
        .get("/admin/tax", Access::Admin, selling::tax)
        .post("/admin/tax", Access::Admin, selling::set_rate)
        .post("/admin/tax/settings", Access::Admin, selling::set_inclusive)
        .get(
            "/admin/promotions",
            Access::Admin,
            selling::platform_promotions,
        )
        .post(
            "/admin/promotions",
            Access::Admin,
            selling::add_platform_promotion,
        )
        .get(
            "/vendor/stores/{store}/shipping",
            Access::SignedIn,
            selling::shipping,
        )
        .post(
            "/vendor/stores/{store}/shipping",
            Access::SignedIn,
            selling::add_method,
        )
        .post(
            "/vendor/stores/{store}/shipping/{method}/delete",
            Access::SignedIn,
            selling::delete_method,
        )
        .get(
            "/vendor/stores/{store}/promotions",
            Access::SignedIn,
            selling::store_promotions,
        )
        .post(
            "/vendor/stores/{store}/promotions",
            Access::SignedIn,
            selling::add_store_promotion,
        )
        .post(
            "/admin/products/{id}/{action}",
            Access::Admin,
            admin_catalog::product_action,
        )
        .get("/vendor", Access::SignedIn, vendor::home)
        .get("/vendor/apply", Access::Anyone, vendor::apply_form)
        .post("/vendor/apply", Access::SignedIn, vendor::apply)
        .get(
            "/vendor/stores/{store}/settings",
            Access::SignedIn,
            vendor_store::settings,
        )
        .post(
            "/vendor/stores/{store}/settings",
            Access::SignedIn,
            vendor_store::save_settings,
        )
        .route(
            "/vendor/stores/{store}/logo",
            Method::POST,
            Access::SignedIn,
            post(vendor_store::upload_logo).layer(axum::extract::DefaultBodyLimit::max(
                contracts::catalog::media::MAX_UPLOAD_BYTES + 64 * 1024,
            )),
        )
        .get(
            "/vendor/stores/{store}/staff",
            Access::SignedIn,
            vendor_store::staff,
        )
        .post(
            "/vendor/stores/{store}/staff",
            Access::SignedIn,
            vendor_store::invite,
        )
        .post(
            "/vendor/stores/{store}/staff/{member}/remove",
            Access::SignedIn,
            vendor_store::remove_member,
        )
        .get(
            "/vendor/invitations/accept",
            Access::SignedIn,
            vendor_store::invitation,
        )
        .post(
            "/vendor/invitations/accept",
            Access::SignedIn,
            vendor_store::accept,
        )
        .get(
            "/vendor/stores/{store}/products",
            Access::SignedIn,
            vendor_products::list,
        )
        .post(
            "/vendor/stores/{store}/products",
            Access::SignedIn,
            vendor_products::create,
        )
        .get(
            "/vendor/stores/{store}/products/new",
            Access::SignedIn,
            vendor_products::new_form,
        )
        .get(
            "/vendor/stores/{store}/products/import",
            Access::SignedIn,
            vendor_products::import_form,
        )
        .route(
            "/vendor/stores/{store}/products/import",
            Method::POST,
            Access::SignedIn,
            post(vendor_products::import).layer(axum::extract::DefaultBodyLimit::max(
                contracts::catalog::media::MAX_UPLOAD_BYTES + 64 * 1024,
            )),
        )
        .get(
            "/vendor/stores/{store}/products.csv",
            Access::SignedIn,
            vendor_products::export,
        )
        .get(
            "/vendor/products/{product}",
            Access::SignedIn,
            vendor_products::edit_form,
        )
        .post(
            "/vendor/products/{product}",
            Access::SignedIn,
            vendor_products::update,
        )
        .route(
            "/vendor/products/{product}/images",
            Method::POST,
            Access::SignedIn,
            post(vendor_products::add_image).layer(axum::extract::DefaultBodyLimit::max(
                contracts::catalog::media::MAX_UPLOAD_BYTES + 64 * 1024,
            )),
        )
        .get(
            "/vendor/products/{product}/stock",
            Access::SignedIn,
            vendor_stock::stock,
        )
        .post(
            "/vendor/products/{product}/stock",
            Access::SignedIn,
            vendor_stock::adjust,
        )
        .post(
            "/vendor/products/{product}/locations",
            Access::SignedIn,
            vendor_stock::add_location,
        )
        .post(
            "/vendor/products/{product}/{action}",
            Access::SignedIn,
            vendor_products::change_status,
        )
        .map_router(|pages| {
            pages.layer(middleware::from_fn_with_state(
                state.clone(),
                session::session_layer,
            ))
        })
        .get("/robots.txt", Access::Anyone, shop::robots)
        .get("/sitemap.xml", Access::Anyone, shop::sitemap_index)
        .get("/sitemaps/pages.xml", Access::Anyone, shop::sitemap_pages)
        .get("/sitemaps/{file}", Access::Anyone, shop::sitemap_products)
        .get("/assets/htmx.min.js", Access::Anyone, htmx)
        .get("/assets/app.css", Access::Anyone, css)
        .with_state(state)
}

const ASSET_CACHE: &str = "public, max-age=86400";

async fn htmx() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, ASSET_CACHE),
        ],
        include_str!("../assets/htmx.min.js"),
    )
}

async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, ASSET_CACHE),
        ],
        include_str!("../assets/app.css"),
    )
}
