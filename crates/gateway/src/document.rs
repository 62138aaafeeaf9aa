//! `/openapi.json` at the edge: each service documents only its own operations, so
//! the gateway fetches every upstream's document (from one replica, through its
//! breaker) and merges them into the one document of the public API, kept for a minute.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::proxy::Proxy;
use crate::routes::Routes;

/// How long a merged document is served before the services are asked again.
const KEEP_FOR: Duration = Duration::from_secs(60);
/// The largest document taken from one service.
const MAX_DOCUMENT: usize = 8 * 1024 * 1024;

#[derive(Default)]
pub struct Documents {
    merged: Mutex<Option<(Instant, Arc<Value>)>>,
}

impl Documents {
    /// The merged document; `None` when no upstream answered with one.
    pub async fn merged(&self, proxy: &Proxy, routes: &Routes) -> Option<Arc<Value>> {
        // Held while fetching, on purpose: when the document expires, one request
        // asks the services and the others wait for its answer instead of asking too.
        let mut merged = self.merged.lock().await;
        if let Some((at, doc)) = merged.as_ref()
            && at.elapsed() < KEEP_FOR
        {
            return Some(doc.clone());
        }
        let mut doc: Option<Value> = None;
        let mut names: Vec<&str> = routes.upstreams().map(|u| u.name.as_str()).collect();
        names.sort_unstable();
        for upstream in names.into_iter().filter_map(|n| routes.upstream(n)) {
            let bytes = match proxy
                .get_bytes(
                    upstream,
                    "/openapi.json",
                    Duration::from_secs(5),
                    MAX_DOCUMENT,
                )
                .await
            {
                Ok(bytes) => bytes,
                Err(e) => {
                    tracing::warn!(upstream = %upstream.name, error = %e, "no API document");
                    continue;
                }
            };
            let Ok(theirs) = serde_json::from_slice::<Value>(&bytes) else {
                continue;
            };
            match doc.as_mut() {
                None => doc = Some(theirs),
                Some(ours) => merge(ours, theirs),
            }
        }
        let doc = Arc::new(doc?);
        *merged = Some((Instant::now(), doc.clone()));
        Some(doc)
    }
}

/// Adds what `theirs` documents and `ours` does not: paths, component schemas (and
/// the other component kinds), tags. What both have is kept as ours.
fn merge(ours: &mut Value, theirs: Value) {
    let Value::Object(theirs) = theirs else {
        return;
    };
    for (key, value) in theirs {
        match key.as_str() {
            "paths" => add_missing(ours, &["paths"], value),
            "components" => {
                if let Value::Object(kinds) = value {
                    for (kind, entries) in kinds {
                        add_missing(ours, &["components", &kind], entries);
                    }
                }
            }
            "tags" => {
                let list = entry(ours, &["tags"], Value::Array(Vec::new()));
                if let (Some(Value::Array(list)), Value::Array(more)) = (list, value) {
                    for tag in more {
                        if !list.iter().any(|t| t.get("name") == tag.get("name")) {
                            list.push(tag);
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// The value at `path`, made (as `default`, objects on the way) when missing; `None`
/// when something on the way is not an object.
fn entry<'a>(doc: &'a mut Value, path: &[&str], default: Value) -> Option<&'a mut Value> {
    let Some((first, rest)) = path.split_first() else {
        return Some(doc);
    };
    let next = doc
        .as_object_mut()?
        .entry((*first).to_owned())
        .or_insert_with(|| {
            if rest.is_empty() {
                default.clone()
            } else {
                Value::Object(Map::new())
            }
        });
    entry(next, rest, default)
}

fn add_missing(doc: &mut Value, path: &[&str], more: Value) {
    let Value::Object(more) = more else {
        return;
    };
    if let Some(Value::Object(map)) = entry(doc, path, Value::Object(Map::new())) {
        for (name, value) in more {
            map.entry(name).or_insert(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn documents_merge_without_losing_or_doubling_anything() {
        let mut ours = json!({
            "openapi": "3.1.0", "info": { "title": "Emporium" },
            "paths": { "/api/v1/catalog/products": { "get": {} } },
            "components": { "schemas": { "Problem": { "type": "object" } } },
            "tags": [{ "name": "catalog" }]
        });
        merge(
            &mut ours,
            json!({
                "openapi": "3.1.0", "info": { "title": "other" },
                "paths": { "/api/v1/orders": { "get": {} }, "/api/v1/catalog/products": { "post": {} } },
                "components": {
                    "schemas": { "Problem": { "type": "object" }, "OrderView": {} },
                    "securitySchemes": { "bearer": {} }
                },
                "tags": [{ "name": "catalog" }, { "name": "orders" }]
            }),
        );
        assert_eq!(ours["info"]["title"], "Emporium");
        assert_eq!(ours["paths"].as_object().unwrap().len(), 2);
        assert!(ours["paths"]["/api/v1/catalog/products"]["get"].is_object());
        assert!(ours["components"]["schemas"]["OrderView"].is_object());
        assert!(ours["components"]["securitySchemes"]["bearer"].is_object());
        assert_eq!(ours["tags"].as_array().unwrap().len(), 2);
    }
}
