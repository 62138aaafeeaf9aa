//! Read caches: Redis when `REDIS_URL` is set (shared by every replica), an in-process
//! moka cache otherwise. A cache is only ever an optimisation: a failing Redis is a
//! miss, never an error for the caller.

use std::sync::Arc;
use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use tokio::sync::OnceCell;

#[async_trait::async_trait]
pub trait Cache: Send + Sync {
    async fn get(&self, key: &str) -> Option<Arc<[u8]>>;
    async fn put(&self, key: &str, value: Arc<[u8]>);
    async fn delete(&self, key: &str);
    /// A counter that invalidation bumps. Readers take it *before* reading the source
    /// and store under a key that includes it, so a read that raced an invalidation
    /// lands under an old generation that nobody asks for again.
    async fn generation(&self, key: &str) -> u64;
    async fn bump(&self, key: &str);
    /// Whether the cache answers (for `/ready`).
    async fn is_ready(&self) -> bool;
    fn name(&self) -> &'static str;
}

/// Counts one lookup of the read cache `cache` (a fixed name per use: `product_detail`,
/// `listing`, `search_results`) as a hit or a miss.
pub fn record_lookup(cache: &'static str, hit: bool) {
    let result = if hit { "hit" } else { "miss" };
    metrics::counter!("cache_requests_total", "cache" => cache, "result" => result).increment(1);
}

pub struct LocalCache {
    inner: moka::future::Cache<String, Arc<[u8]>>,
    generations: moka::future::Cache<String, Arc<std::sync::atomic::AtomicU64>>,
}

impl LocalCache {
    /// Bounded by total bytes (64 MiB) and by age.
    pub fn new(ttl: Duration) -> Self {
        Self {
            inner: moka::future::Cache::builder()
                .weigher(|k: &String, v: &Arc<[u8]>| {
                    u32::try_from(k.len() + v.len()).unwrap_or(u32::MAX)
                })
                .max_capacity(64 * 1024 * 1024)
                .time_to_live(ttl)
                .build(),
            // Outlives every entry it guards by far, so a forgotten counter never
            // brings back an entry stored under an old generation.
            generations: moka::future::Cache::builder()
                .max_capacity(1_000_000)
                .time_to_idle(ttl * 10 + Duration::from_secs(60))
                .build(),
        }
    }
}

#[async_trait::async_trait]
impl Cache for LocalCache {
    async fn get(&self, key: &str) -> Option<Arc<[u8]>> {
        self.inner.get(key).await
    }

    async fn put(&self, key: &str, value: Arc<[u8]>) {
        self.inner.insert(key.to_owned(), value).await;
    }

    async fn delete(&self, key: &str) {
        self.inner.invalidate(key).await;
    }

    async fn generation(&self, key: &str) -> u64 {
        self.generations
            .get(key)
            .await
            .map_or(0, |g| g.load(std::sync::atomic::Ordering::SeqCst))
    }

    async fn bump(&self, key: &str) {
        self.generations
            .get_with(key.to_owned(), async {
                Arc::new(std::sync::atomic::AtomicU64::new(0))
            })
            .await
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    async fn is_ready(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "memory"
    }
}

/// `ConnectionManager` reconnects by itself (a plain multiplexed connection does not).
pub struct RedisCache {
    client: redis::Client,
    conn: OnceCell<ConnectionManager>,
    prefix: String,
    ttl_secs: u64,
}

impl RedisCache {
    pub fn new(url: &str, prefix: &str, ttl: Duration) -> Result<Self, redis::RedisError> {
        Ok(Self {
            client: redis::Client::open(url)?,
            conn: OnceCell::new(),
            prefix: format!("{prefix}:"),
            ttl_secs: ttl.as_secs().max(1),
        })
    }

    async fn conn(&self) -> Option<ConnectionManager> {
        let connect = || async {
            tokio::time::timeout(
                Duration::from_secs(2),
                ConnectionManager::new(self.client.clone()),
            )
            .await
            .map_err(|_| "timed out".to_owned())?
            .map_err(|e| e.to_string())
        };
        match self.conn.get_or_try_init(connect).await {
            Ok(c) => Some(c.clone()),
            Err(e) => {
                tracing::warn!(error = %e, "Redis unreachable; serving without cache");
                None
            }
        }
    }
}

#[async_trait::async_trait]
impl Cache for RedisCache {
    async fn get(&self, key: &str) -> Option<Arc<[u8]>> {
        let mut c = self.conn().await?;
        match c
            .get::<_, Option<Vec<u8>>>(format!("{}{key}", self.prefix))
            .await
        {
            Ok(v) => v.map(Arc::from),
            Err(e) => {
                tracing::warn!(error = %e, "Redis get failed");
                None
            }
        }
    }

    async fn put(&self, key: &str, value: Arc<[u8]>) {
        let Some(mut c) = self.conn().await else {
            return;
        };
        let r: redis::RedisResult<()> = c
            .set_ex(
                format!("{}{key}", self.prefix),
                value.as_ref(),
                self.ttl_secs,
            )
            .await;
        if let Err(e) = r {
            tracing::warn!(error = %e, "Redis set failed");
        }
    }

    async fn delete(&self, key: &str) {
        let Some(mut c) = self.conn().await else {
            return;
        };
        let r: redis::RedisResult<()> = c.del(format!("{}{key}", self.prefix)).await;
        if let Err(e) = r {
            tracing::warn!(error = %e, "Redis delete failed");
        }
    }

    async fn generation(&self, key: &str) -> u64 {
        let Some(mut c) = self.conn().await else {
            return 0;
        };
        c.get::<_, Option<u64>>(format!("{}{key}", self.prefix))
            .await
            .ok()
            .flatten()
            .unwrap_or(0)
    }

    async fn bump(&self, key: &str) {
        let Some(mut c) = self.conn().await else {
            return;
        };
        let full = format!("{}{key}", self.prefix);
        let r: redis::RedisResult<()> = redis::pipe()
            .incr(&full, 1)
            .ignore()
            .expire(&full, 86_400)
            .ignore()
            .query_async(&mut c)
            .await;
        if let Err(e) = r {
            tracing::warn!(error = %e, "Redis bump failed");
        }
    }

    async fn is_ready(&self) -> bool {
        let Some(mut c) = self.conn().await else {
            return false;
        };
        redis::cmd("PING")
            .query_async::<String>(&mut c)
            .await
            .is_ok()
    }

    fn name(&self) -> &'static str {
        "redis"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_cache_stores_and_forgets() {
        let c = LocalCache::new(Duration::from_secs(60));
        assert!(c.get("k").await.is_none());
        c.put("k", Arc::from(&b"v"[..])).await;
        assert_eq!(c.get("k").await.as_deref(), Some(&b"v"[..]));
        c.delete("k").await;
        assert!(c.get("k").await.is_none());
        assert_eq!(c.generation("g").await, 0);
        c.bump("g").await;
        c.bump("g").await;
        assert_eq!(c.generation("g").await, 2);
    }
}
