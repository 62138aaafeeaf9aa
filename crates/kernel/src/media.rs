//! Where uploaded media live: a local directory by default (`MEDIA_DIR`), or an
//! S3-compatible bucket when `MEDIA_S3_BUCKET` is set (AWS S3, MinIO, R2… through
//! `object_store`). Names are content-addressed by the caller, so an object never
//! changes once written.

use std::path::PathBuf;
use std::sync::Arc;

use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::Config;

#[async_trait::async_trait]
pub trait MediaStore: Send + Sync {
    /// Stores `bytes` under `name` unless it is already there.
    async fn put(&self, name: &str, bytes: Vec<u8>) -> std::io::Result<()>;
    async fn get(&self, name: &str) -> std::io::Result<Option<Vec<u8>>>;
    async fn exists(&self, name: &str) -> std::io::Result<bool>;
}

/// Only plain file names: no separators, no dot-files, so a name can never leave its
/// directory or bucket prefix.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

fn bad_name() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, "bad media name")
}

/// The store the configuration names.
pub fn from_config(config: &Config) -> anyhow::Result<Arc<dyn MediaStore>> {
    Ok(match &config.media_s3 {
        Some(s3) => Arc::new(Bucket::s3(s3)?),
        None => Arc::new(LocalDir::new(&config.media_dir)),
    })
}

/// An S3-compatible bucket.
pub struct Bucket {
    store: Arc<dyn ObjectStore>,
}

impl Bucket {
    /// Credentials come from the configuration, else from `AWS_ACCESS_KEY_ID` /
    /// `AWS_SECRET_ACCESS_KEY` (or the other standard AWS variables and instance roles),
    /// as every S3 tool reads them.
    pub fn s3(s3: &crate::config::S3Config) -> anyhow::Result<Self> {
        let mut builder = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(&s3.bucket)
            .with_region(&s3.region);
        if let (Some(id), Some(secret)) = (&s3.access_key_id, &s3.secret_access_key) {
            builder = builder
                .with_access_key_id(id)
                .with_secret_access_key(&secret.0);
        }
        if let Some(endpoint) = &s3.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        Ok(Self {
            store: Arc::new(builder.build()?),
        })
    }

    fn path(name: &str) -> Option<object_store::path::Path> {
        valid_name(name).then(|| object_store::path::Path::from(name))
    }
}

fn io_error(e: object_store::Error) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

#[async_trait::async_trait]
impl MediaStore for Bucket {
    async fn put(&self, name: &str, bytes: Vec<u8>) -> std::io::Result<()> {
        let path = Self::path(name).ok_or_else(bad_name)?;
        // Object stores write whole objects atomically; the same name is the same bytes.
        self.store
            .put(&path, PutPayload::from(bytes))
            .await
            .map(|_| ())
            .map_err(io_error)
    }

    async fn get(&self, name: &str) -> std::io::Result<Option<Vec<u8>>> {
        let Some(path) = Self::path(name) else {
            return Ok(None);
        };
        match self.store.get(&path).await {
            Ok(found) => Ok(Some(found.bytes().await.map_err(io_error)?.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(io_error(e)),
        }
    }

    async fn exists(&self, name: &str) -> std::io::Result<bool> {
        let Some(path) = Self::path(name) else {
            return Ok(false);
        };
        match self.store.head(&path).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(io_error(e)),
        }
    }
}

pub struct LocalDir {
    root: PathBuf,
}

impl LocalDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn path(&self, name: &str) -> Option<PathBuf> {
        valid_name(name).then(|| self.root.join(name))
    }
}

#[async_trait::async_trait]
impl MediaStore for LocalDir {
    async fn put(&self, name: &str, bytes: Vec<u8>) -> std::io::Result<()> {
        let path = self.path(name).ok_or_else(bad_name)?;
        if tokio::fs::try_exists(&path).await? {
            return Ok(());
        }
        tokio::fs::create_dir_all(&self.root).await?;
        // Write then rename, so a reader never sees half a file.
        let tmp = self
            .root
            .join(format!(".{name}.{}", uuid::Uuid::now_v7().simple()));
        tokio::fs::write(&tmp, bytes).await?;
        tokio::fs::rename(&tmp, &path).await
    }

    async fn get(&self, name: &str) -> std::io::Result<Option<Vec<u8>>> {
        let Some(path) = self.path(name) else {
            return Ok(None);
        };
        match tokio::fs::read(path).await {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn exists(&self, name: &str) -> std::io::Result<bool> {
        match self.path(name) {
            Some(path) => tokio::fs::try_exists(path).await,
            None => Ok(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stores_reads_and_refuses_escaping_names() {
        let dir =
            std::env::temp_dir().join(format!("emporium-media-{}", uuid::Uuid::now_v7().simple()));
        let store = LocalDir::new(&dir);
        store.put("abc-160.webp", b"x".to_vec()).await.unwrap();
        assert_eq!(
            store.get("abc-160.webp").await.unwrap().as_deref(),
            Some(&b"x"[..])
        );
        assert_eq!(store.get("missing.webp").await.unwrap(), None);
        assert!(store.exists("abc-160.webp").await.unwrap());
        assert!(!store.exists("../abc-160.webp").await.unwrap());
        assert!(store.put("../evil", b"x".to_vec()).await.is_err());
        assert_eq!(store.get("../etc/passwd").await.unwrap(), None);
        assert_eq!(store.get(".hidden").await.unwrap(), None);
        let _ = tokio::fs::remove_dir_all(dir).await;
    }
}
