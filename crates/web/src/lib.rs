//! The server-rendered web UI: a backend-for-frontend over the same typed clients the
//! services use. Pages work without JavaScript; htmx adds niceties.

pub mod pages;
pub mod session;

use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::{any, get, post};
use cart::client::CartClient;
use catalog::client::CatalogClient;
use identity::client::IdentityClient;
use inventory::client::InventoryClient;
use kernel::auth::Verifier;
use kernel::{Platform, ServiceModule};
use orders::client::OrdersClient;
use payments::client::PaymentsClient;
use promotions::client::PromotionsClient;
use search::client::SearchClient;
use shipping::client::ShippingClient;
use tax::client::TaxClient;
use vendors::client::VendorsClient;

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
    /// For canonical links and sitemaps.
    pub public_url: String,
    pub verifier: Arc<Verifier>,
    /// Cookies get `Secure` when the public URL is https.
    pub secure_cookies: bool,
}

pub async fn module(platform: &Platform) -> anyhow::Result<ServiceModule> {
    let state = WebState {
        identity: IdentityClient::new(platform.client(identity::SERVICE)),
        vendors: VendorsClient::new(platform.client(vendors::SERVICE)),
        catalog: CatalogClient::new(platform.client(catalog::SERVICE)),
        search: SearchClient::new(platform.client(search::SERVICE)),
        inventory: InventoryClient::new(platform.client(inventory::SERVICE)),
        cart: CartClient::new(platform.client(cart::SERVICE)),
        shipping: ShippingClient::new(platform.client(shipping::SERVICE)),
        tax: TaxClient::new(platform.client(tax::SERVICE)),
        promotions: PromotionsClient::new(platform.client(promotions::SERVICE)),
        orders: OrdersClient::new(platform.client(orders::SERVICE)),
        payments: PaymentsClient::new(platform.client(payments::SERVICE)),
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

fn routes(state: WebState) -> Router {
    use pages::{
        account, admin, admin_catalog, auth, cart, checkout, order_desk, selling, shop, vendor,
        vendor_products, vendor_stock, vendor_store,
    };
    Router::new()
        .route("/", get(shop::home))
        .route("/search", get(shop::search_page))
        .route("/cart", get(cart::view))
        .route("/cart/add", post(cart::add))
        .route("/cart/lines/{variant}", post(cart::set_line))
        .route(
            "/checkout",
            get(checkout::checkout_form).post(checkout::place_order),
        )
        .route("/checkout/preview", post(checkout::preview))
        .route("/checkout/{id}", get(checkout::checkout_return))
        .route("/orders", get(checkout::my_orders))
        .route("/orders/{id}", get(checkout::order_detail))
        .route("/orders/sub-orders/{id}/cancel", post(checkout::cancel))
        .route("/vendor/stores/{store}/orders", get(order_desk::queue))
        .route(
            "/vendor/stores/{store}/orders/{id}",
            get(order_desk::sub_order),
        )
        .route(
            "/vendor/stores/{store}/orders/{id}/{action}",
            post(order_desk::act),
        )
        .route("/vendor/stores/{store}/balance", get(order_desk::balance))
        .route("/admin/orders", get(order_desk::admin_orders))
        .route("/admin/orders/{id}", get(order_desk::admin_order))
        .route(
            "/admin/sub-orders/{id}/cancel",
            post(order_desk::admin_cancel),
        )
        .route(
            "/admin/sub-orders/{id}/refund",
            post(order_desk::admin_refund),
        )
        .route("/admin/payouts", get(order_desk::admin_payouts))
        .route("/admin/payouts/run", post(order_desk::run_payouts))
        .route("/search/suggest", get(shop::suggest))
        .route("/c/{slug}", get(shop::category_page))
        .route("/s/{slug}", get(shop::store_page))
        .route("/p/{store}/{slug}", get(shop::product_page))
        .route("/register", get(auth::register_form).post(auth::register))
        .route("/login", get(auth::login_form).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/verify-email", get(auth::verify_form).post(auth::verify))
        .route("/verify-email/resend", post(auth::resend))
        .route(
            "/forgot-password",
            get(auth::forgot_form).post(auth::forgot),
        )
        .route("/reset-password", get(auth::reset_form).post(auth::reset))
        .route("/account", get(account::overview))
        .route("/account/profile", post(account::update_profile))
        .route(
            "/account/password",
            get(account::password_form).post(account::change_password),
        )
        .route("/account/logout-all", post(account::logout_all))
        .route("/account/addresses/new", get(account::new_address))
        .route("/account/addresses", post(account::create_address))
        .route("/account/addresses/{id}/edit", get(account::edit_address))
        .route("/account/addresses/{id}", post(account::update_address))
        .route(
            "/account/addresses/{id}/delete",
            post(account::delete_address),
        )
        .route("/admin/users", get(admin::users))
        .route("/admin/users/{id}/{action}", post(admin::moderate))
        .route("/admin/stores", get(admin::stores))
        .route(
            "/admin/settings/commission",
            post(admin_catalog::set_default_commission),
        )
        .route(
            "/admin/stores/{id}/commission",
            post(admin_catalog::set_commission),
        )
        .route("/admin/stores/{id}/{action}", post(admin::store_action))
        .route(
            "/admin/categories",
            get(admin_catalog::categories).post(admin_catalog::create_category),
        )
        .route(
            "/admin/categories/{id}/{action}",
            post(admin_catalog::category_action),
        )
        .route("/admin/products", get(admin_catalog::products))
        .route("/admin/tax", get(selling::tax).post(selling::set_rate))
        .route("/admin/tax/settings", post(selling::set_inclusive))
        .route(
            "/admin/promotions",
            get(selling::platform_promotions).post(selling::add_platform_promotion),
        )
        .route(
            "/vendor/stores/{store}/shipping",
            get(selling::shipping).post(selling::add_method),
        )
        .route(
            "/vendor/stores/{store}/shipping/{method}/delete",
            post(selling::delete_method),
        )
        .route(
            "/vendor/stores/{store}/promotions",
            get(selling::store_promotions).post(selling::add_store_promotion),
        )
        .route(
            "/admin/products/{id}/{action}",
            post(admin_catalog::product_action),
        )
        .route("/vendor", get(vendor::home))
        .route("/vendor/apply", get(vendor::apply_form).post(vendor::apply))
        .route(
            "/vendor/stores/{store}/settings",
            get(vendor_store::settings).post(vendor_store::save_settings),
        )
        .route(
            "/vendor/stores/{store}/logo",
            post(vendor_store::upload_logo).layer(axum::extract::DefaultBodyLimit::max(
                catalog::media::MAX_UPLOAD_BYTES + 64 * 1024,
            )),
        )
        .route(
            "/vendor/stores/{store}/staff",
            get(vendor_store::staff).post(vendor_store::invite),
        )
        .route(
            "/vendor/stores/{store}/staff/{member}/remove",
            post(vendor_store::remove_member),
        )
        .route(
            "/vendor/invitations/accept",
            get(vendor_store::invitation).post(vendor_store::accept),
        )
        .route(
            "/vendor/stores/{store}/products",
            get(vendor_products::list).post(vendor_products::create),
        )
        .route(
            "/vendor/stores/{store}/products/new",
            get(vendor_products::new_form),
        )
        .route(
            "/vendor/stores/{store}/products/import",
            get(vendor_products::import_form)
                .post(vendor_products::import)
                .layer(axum::extract::DefaultBodyLimit::max(
                    catalog::media::MAX_UPLOAD_BYTES + 64 * 1024,
                )),
        )
        .route(
            "/vendor/stores/{store}/products.csv",
            get(vendor_products::export),
        )
        .route(
            "/vendor/products/{product}",
            get(vendor_products::edit_form).post(vendor_products::update),
        )
        .route(
            "/vendor/products/{product}/images",
            post(vendor_products::add_image).layer(axum::extract::DefaultBodyLimit::max(
                catalog::media::MAX_UPLOAD_BYTES + 64 * 1024,
            )),
        )
        .route(
            "/vendor/products/{product}/stock",
            get(vendor_stock::stock).post(vendor_stock::adjust),
        )
        .route(
            "/vendor/products/{product}/locations",
            post(vendor_stock::add_location),
        )
        .route(
            "/vendor/products/{product}/{action}",
            post(vendor_products::change_status),
        )
        .layer(middleware::from_fn_with_state(
            state.clone(),
            session::session_layer,
        ))
        .route("/robots.txt", get(shop::robots))
        .route("/sitemap.xml", get(shop::sitemap_index))
        .route("/sitemaps/pages.xml", get(shop::sitemap_pages))
        .route("/sitemaps/{file}", get(shop::sitemap_products))
        .route("/assets/htmx.min.js", get(htmx))
        .route("/assets/app.css", get(css))
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
