//! A bare axum "hello world" on the same runtime, as the baseline for
//! `bench/http.sh`: the ratio of its requests per second to `/health` on Emporium is
//! the cost of our middleware stack.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let bind = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8090".to_owned());
    let app = axum::Router::new().route(
        "/health",
        axum::routing::get(|| async { axum::Json(serde_json::json!({ "status": "ok" })) }),
    );
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
