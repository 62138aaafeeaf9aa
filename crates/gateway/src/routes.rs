//! Which upstream answers a path: `/api/v1/<service>/…` that service, `/media/…` the
//! catalog, `/dev/mailbox` notifications, `/payments/simulator/…` (the simulated bank's
//! confirmation page) payments, every other page the web front end.
//! `/internal/…` is for services calling each other inside the cluster and is never
//! routed, however its path is spelled.

use std::collections::HashMap;
use std::time::Duration;

use crate::config::GatewayConfig;
use crate::upstream::Upstream;

pub enum Destination<'a> {
    /// Not routed: answered 404 by the gateway itself.
    Hidden,
    Upstream {
        upstream: &'a Upstream,
        timeout: Duration,
    },
}

pub struct Routes {
    by_name: HashMap<String, Upstream>,
    default_timeout: Duration,
    /// Longest prefix first.
    timeouts: Vec<(String, Duration)>,
}

impl Routes {
    pub fn new(config: &GatewayConfig) -> anyhow::Result<Self> {
        let mut by_name = HashMap::new();
        for (name, urls) in &config.upstreams {
            by_name.insert(
                name.clone(),
                Upstream::parse(name, urls, config.policy.clone())?,
            );
        }
        let mut timeouts = config.route_timeouts.clone();
        timeouts.sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
        Ok(Self {
            by_name,
            default_timeout: config.default_timeout,
            timeouts,
        })
    }

    pub fn upstream(&self, service: &str) -> Option<&Upstream> {
        self.by_name.get(service)
    }

    pub fn upstreams(&self) -> impl Iterator<Item = &Upstream> {
        self.by_name.values()
    }

    pub fn destination(&self, path: &str) -> Destination<'_> {
        let decoded = normalized(path);
        let mut segments = decoded.split('/').filter(|s| !s.is_empty());
        let first = segments.next().unwrap_or_default();
        let service = match first {
            "internal" => return Destination::Hidden,
            "api" => match (segments.next(), segments.next()) {
                (Some("v1"), Some(service)) => service,
                _ => return Destination::Hidden,
            },
            "media" => "catalog",
            "dev" if segments.next() == Some("mailbox") => "notifications",
            "payments" if segments.next() == Some("simulator") => "payments",
            _ => "web",
        };
        match self.by_name.get(service) {
            Some(upstream) => Destination::Upstream {
                upstream,
                timeout: self.timeout(&decoded),
            },
            None => Destination::Hidden,
        }
    }

    fn timeout(&self, path: &str) -> Duration {
        self.timeouts
            .iter()
            .find(|(prefix, _)| path.starts_with(prefix.as_str()))
            .map_or(self.default_timeout, |(_, t)| *t)
    }
}

/// The path as the services will read it, for routing decisions only: percent-escapes
/// decoded and letters lowered, so `/%49nternal/…` or `/Internal/…` cannot slip by.
fn normalized(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = if bytes[i] == b'%' {
            bytes
                .get(i + 1..i + 3)
                .and_then(|hex| std::str::from_utf8(hex).ok())
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        } else {
            None
        };
        match escaped {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes() -> Routes {
        let upstreams = [
            "catalog",
            "web",
            "identity",
            "notifications",
            "orders",
            "search",
            "payments",
        ]
        .iter()
        .map(|s| ((*s).to_owned(), "http://127.0.0.1:1".to_owned()))
        .collect();
        Routes::new(&GatewayConfig::new(upstreams)).unwrap()
    }

    fn to(path: &str) -> Option<(String, u64)> {
        match routes().destination(path) {
            Destination::Hidden => None,
            Destination::Upstream { upstream, timeout } => {
                Some((upstream.name.clone(), timeout.as_secs()))
            }
        }
    }

    #[test]
    fn paths_reach_their_services() {
        assert_eq!(to("/api/v1/catalog/products"), Some(("catalog".into(), 30)));
        assert_eq!(to("/api/v1/orders/checkout"), Some(("orders".into(), 60)));
        assert_eq!(
            to("/api/v1/search/products?q=x"),
            Some(("search".into(), 10))
        );
        assert_eq!(to("/media/abc-480.webp"), Some(("catalog".into(), 30)));
        assert_eq!(to("/dev/mailbox"), Some(("notifications".into(), 30)));
        assert_eq!(
            to("/payments/simulator/confirm/pay_1"),
            Some(("payments".into(), 30))
        );
        assert_eq!(to("/"), Some(("web".into(), 30)));
        assert_eq!(to("/products/mug"), Some(("web".into(), 30)));
        assert_eq!(to("/docs"), Some(("web".into(), 30)));
    }

    #[test]
    fn internal_routes_are_never_reached_however_spelled() {
        for path in [
            "/internal/inventory/reservations",
            "/internal",
            "//internal/x",
            "/Internal/x",
            "/%69nternal/x",
            "/%49NTERNAL/x",
            "/api/v1/nosuch/x",
            "/api/v2/catalog/x",
            "/api",
        ] {
            assert_eq!(to(path), None, "{path}");
        }
    }
}
