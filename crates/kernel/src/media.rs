//! Where uploaded media live. A local directory by default (`MEDIA_DIR`); the trait is
//! the seam for an S3-compatible store. Names are content-addressed by the caller, so
//! an object never changes once written.

use std::path::PathBuf;

#[async_trait::async_trait]
pub trait MediaStore: Send + Sync {
    /// Stores `bytes` under `name` unless it is already there.
    async fn put(&self, name: &str, bytes: Vec<u8>) -> std::io::Result<()>;
    async fn get(&self, name: &str) -> std::io::Result<Option<Vec<u8>>>;
    async fn exists(&self, name: &str) -> std::io::Result<bool>;
}

pub struct LocalDir {
    root: PathBuf,
}

impl LocalDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Only plain file names: no separators, no dot-files, so a name can never leave
    /// the directory.
    fn path(&self, name: &str) -> Option<PathBuf> {
        let ok = !name.is_empty()
            && name.len() <= 128
            && !name.starts_with('.')
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
        ok.then(|| self.root.join(name))
    }
}

#[async_trait::async_trait]
impl MediaStore for LocalDir {
    async fn put(&self, name: &str, bytes: Vec<u8>) -> std::io::Result<()> {
        let path = self.path(name).ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "bad media name")
        })?;
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
