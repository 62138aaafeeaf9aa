//! The HTTP/1 server `emporium serve` runs: `axum::serve` with the limits of the
//! server itself set well above the application's, so that an oversized request head
//! reaches the application, which refuses it with problem+json
//! (`kernel::http::middleware::limit_request_head`) instead of the server answering a
//! bodiless 414 or 431.
//!
//! What the server still answers itself, with no body, before the application sees the
//! request: a head that is not HTTP at all (a malformed request line or header: 400),
//! a request target of 64 KiB or more (414, hyper's fixed ceiling), more than
//! `MAX_HEADER_FIELDS` header fields or a head over `MAX_HEAD_BYTES` (431). hyper
//! writes those answers itself and offers no hook to shape them.

use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

/// Header fields the server parses before refusing a request itself (the application
/// refuses more than `kernel::http::middleware::MAX_HEADER_FIELDS`, 100).
pub const MAX_HEADER_FIELDS: usize = 512;
/// The largest request head (request line and headers) the server buffers before
/// refusing it itself (the application refuses much less: 8 KiB of target, 32 KiB of
/// headers).
pub const MAX_HEAD_BYTES: usize = 512 * 1024;

/// Serves `router` on `listener` until `shutdown` resolves, then waits for the open
/// connections to finish their requests. Each request carries the peer's
/// `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.max_headers(MAX_HEADER_FIELDS)
        .max_buf_size(MAX_HEAD_BYTES);
    // Connections hold a receiver each; `closed` resolves once they all finished.
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            let router = router.clone();
            async move { router.oneshot(req).await }
        });
        let conn = http.serve_connection(TokioIo::new(stream), service);
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let mut conn = pin!(conn);
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, %peer, "connection ended with an error");
                    }
                    return;
                }
                _ = stop.wait_for(|stop| *stop) => conn.as_mut().graceful_shutdown(),
            }
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
            drop(stop);
        });
    }
    drop(listener);
    drop(stop_rx);
    let _ = stop_tx.send(true);
    stop_tx.closed().await;
    Ok(())
}
