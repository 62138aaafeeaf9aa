//! What the gateway's tests share.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;

use gateway::GatewayConfig;

/// A gateway with `settings` on a port of its own; returns its base URL.
pub async fn gateway(settings: GatewayConfig) -> String {
    let app = gateway::router(settings).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    base
}
