//! Where bundle files live: a local directory by default, any S3-compatible
//! store (AWS, MinIO, Ceph, R2…) through the `object_store` crate when
//! `--blob-url s3://bucket/prefix` is set.
//!
//! Files are addressed by content (`sha256/ab/<hash>.zip`), so a retried or
//! duplicated upload writes nothing new and a key never changes meaning.
//! `object_store` writes atomically on every backend (the local one writes a
//! temporary file and renames it), so a crash never leaves half a bundle
//! under a real key.
//!
//! On S3 the credentials need `s3:GetObject`, `s3:PutObject` and
//! `s3:ListBucket` on the bucket: without `ListBucket` S3 answers 403 instead
//! of 404 for a missing key, which the content-addressed write relies on, and
//! readiness lists the prefix.

use std::{path::Path as FsPath, sync::Arc, time::Duration};

use bytes::Bytes;
use object_store::{
    ObjectStore, ObjectStoreExt as _, PutPayload, local::LocalFileSystem, path::Path,
};

/// How long [`Blobs::ping`] waits for the store. `object_store` retries a
/// refused connection with backoff for minutes; a readiness probe must
/// answer long before that.
pub const PING_TIMEOUT: Duration = Duration::from_secs(5);

/// Opening or using the blob store failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlobError {
    /// The configured URL is not a store this server can open.
    #[error("cannot open blob store `{url}`: {reason}")]
    Open {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// A read, write or probe failed.
    #[error("blob store {store}: {source}")]
    Io {
        /// Which store ([`Blobs::describe`]).
        store: String,
        /// What `object_store` reported.
        #[source]
        source: object_store::Error,
    },
    /// The store did not answer a readiness probe in time.
    #[error("blob store {store} did not answer within {} s", after.as_secs())]
    Timeout {
        /// Which store ([`Blobs::describe`]).
        store: String,
        /// How long the probe waited.
        after: Duration,
    },
}

impl BlobError {
    /// Whether this is "no blob under that key".
    #[must_use]
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            Self::Io {
                source: object_store::Error::NotFound { .. },
                ..
            }
        )
    }
}

/// The bundle blob store.
#[derive(Debug, Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
    describe: String,
}

impl Blobs {
    /// Blobs in a local directory (created if missing).
    ///
    /// # Errors
    /// [`BlobError::Open`] when the directory cannot be created.
    pub fn local(dir: &FsPath) -> Result<Self, BlobError> {
        let open = |reason: String| BlobError::Open {
            url: dir.display().to_string(),
            reason,
        };
        fs_err::create_dir_all(dir).map_err(|e| open(e.to_string()))?;
        let store = LocalFileSystem::new_with_prefix(dir)
            .map_err(|e| open(e.to_string()))?
            // A stored incident must never point at a file a power cut lost.
            .with_fsync(true);
        Ok(Self {
            store: Arc::new(store),
            prefix: Path::default(),
            describe: format!("local directory {}", dir.display()),
        })
    }

    /// Blobs at `url`: `s3://bucket/prefix` (credentials, region and
    /// endpoint from the usual `AWS_*` environment variables, e.g.
    /// `AWS_ENDPOINT=http://127.0.0.1:9000` and `AWS_ALLOW_HTTP=true` for
    /// MinIO) or `file:///dir`.
    ///
    /// # Errors
    /// [`BlobError::Open`] naming the URL and the reason.
    pub fn from_url(raw: &str) -> Result<Self, BlobError> {
        let options = std::env::vars().filter(|(k, _)| k.starts_with("AWS_"));
        Self::from_url_with(raw, options)
    }

    /// Blobs at `url` with explicit `object_store` options instead of the
    /// environment: `aws_endpoint`, `aws_allow_http`, `aws_region`,
    /// `aws_access_key_id`, `aws_secret_access_key`… (case-insensitive, so
    /// `AWS_ENDPOINT` works too; unknown keys are ignored).
    ///
    /// # Errors
    /// [`BlobError::Open`] naming the URL and the reason.
    pub fn from_url_with(
        raw: &str,
        options: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, BlobError> {
        let open = |reason: String| BlobError::Open {
            url: raw.to_owned(),
            reason,
        };
        let url = url::Url::parse(raw).map_err(|e| open(e.to_string()))?;
        if url.scheme() == "file" {
            let dir = url
                .to_file_path()
                .map_err(|()| open("not a local path".into()))?;
            return Self::local(&dir);
        }
        if !matches!(url.scheme(), "s3" | "s3a") {
            // object_store also opens memory://, http:// and others; none of
            // them keeps bundles the way a server needs (memory:// would lose
            // every bundle on restart), so only S3 is accepted.
            return Err(open(format!(
                "the `{}` scheme is not supported: use s3://bucket/prefix (with AWS_* \
                 variables) or file:///dir",
                url.scheme()
            )));
        }
        let options = options
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v));
        let (store, prefix) = object_store::parse_url_opts(&url, options).map_err(|e| {
            open(format!(
                "{e} (supported: s3://bucket/prefix with AWS_* variables, or file:///dir)"
            ))
        })?;
        Ok(Self {
            store: Arc::from(store),
            prefix,
            describe: url.to_string(),
        })
    }

    /// Where a bundle with this SHA-256 is kept.
    #[must_use]
    pub fn key_for(sha256: &str) -> String {
        let fan = sha256.get(..2).unwrap_or("00");
        format!("sha256/{fan}/{sha256}.zip")
    }

    fn path(&self, key: &str) -> Path {
        key.split('/')
            .fold(self.prefix.clone(), |p, part| p.clone().join(part))
    }

    fn io(&self, source: object_store::Error) -> BlobError {
        BlobError::Io {
            store: self.describe.clone(),
            source,
        }
    }

    /// Stores `bytes` under `key` unless something is there already (keys
    /// are content hashes, so what is there is these bytes).
    ///
    /// # Errors
    /// [`BlobError::Io`].
    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<(), BlobError> {
        let path = self.path(key);
        match self.store.head(&path).await {
            Ok(_) => return Ok(()),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(self.io(e)),
        }
        self.store
            .put(&path, PutPayload::from_bytes(bytes))
            .await
            .map_err(|e| self.io(e))?;
        Ok(())
    }

    /// Reads the blob under `key`.
    ///
    /// # Errors
    /// [`BlobError::Io`] ([`BlobError::is_not_found`] when it is missing).
    pub async fn get(&self, key: &str) -> Result<Bytes, BlobError> {
        let found = self
            .store
            .get(&self.path(key))
            .await
            .map_err(|e| self.io(e))?;
        found.bytes().await.map_err(|e| self.io(e))
    }

    /// Checks the store answers (for `/readyz`), within [`PING_TIMEOUT`].
    ///
    /// Lists the prefix (one level) rather than asking for one key: S3
    /// answers 404 both for a missing key and for a missing bucket, so a
    /// probe by key would call a misspelt bucket ready.
    ///
    /// # Errors
    /// [`BlobError::Io`], or [`BlobError::Timeout`] when it does not answer.
    pub async fn ping(&self) -> Result<(), BlobError> {
        let prefix = (!self.prefix.as_ref().is_empty()).then_some(&self.prefix);
        match tokio::time::timeout(PING_TIMEOUT, self.store.list_with_delimiter(prefix)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(self.io(e)),
            Err(_) => Err(BlobError::Timeout {
                store: self.describe.clone(),
                after: PING_TIMEOUT,
            }),
        }
    }

    /// Where the blobs are, for logs.
    #[must_use]
    pub fn describe(&self) -> &str {
        &self.describe
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stores_by_content_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::local(dir.path()).unwrap();
        let sha = "ab".repeat(32);
        let key = Blobs::key_for(&sha);
        assert_eq!(key, format!("sha256/ab/{sha}.zip"));
        blobs.put(&key, Bytes::from_static(b"one")).await.unwrap();
        // Same key again: kept as it was (content addressing).
        blobs.put(&key, Bytes::from_static(b"two")).await.unwrap();
        assert_eq!(blobs.get(&key).await.unwrap(), Bytes::from_static(b"one"));
        assert!(
            dir.path()
                .join("sha256/ab")
                .join(format!("{sha}.zip"))
                .is_file()
        );
        let missing = blobs.get("sha256/00/missing.zip").await.unwrap_err();
        assert!(missing.is_not_found(), "{missing}");
        blobs.ping().await.unwrap();
    }

    #[test]
    fn unknown_schemes_are_refused_with_the_supported_ones() {
        for url in ["ftp://x/y", "memory://", "http://example.com/b"] {
            let err = Blobs::from_url(url).unwrap_err().to_string();
            assert!(err.contains("s3://bucket/prefix"), "{url}: {err}");
        }
    }
}
