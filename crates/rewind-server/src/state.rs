//! What every handler shares.

use std::{path::PathBuf, sync::Arc};

use rewind_bundle::Limits;
use rewind_store::Store;

use crate::{Error, ServerConfig};

/// Shared handler state: storage, where bundles live, and input limits.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Arc<dyn Store>,
    bundle_dir: PathBuf,
    limits: Limits,
}

impl AppState {
    /// Creates the state directory, opens (and migrates) the database.
    ///
    /// # Errors
    /// [`Error::StateDir`] or [`Error::Store`].
    pub async fn open(config: &ServerConfig) -> Result<Self, Error> {
        let bundle_dir = config.bundle_dir();
        fs_err::create_dir_all(&bundle_dir).map_err(Error::StateDir)?;
        let store = rewind_store::open(&config.database_url()).await?;
        Ok(Self::new(store, bundle_dir, config.max_bundle_bytes))
    }

    /// State over an already-open store (tests use this).
    #[must_use]
    pub fn new(store: Arc<dyn Store>, bundle_dir: PathBuf, max_bundle_bytes: u64) -> Self {
        let limits = Limits {
            max_bundle_bytes,
            ..Limits::default()
        };
        Self {
            inner: Arc::new(Inner {
                store,
                bundle_dir,
                limits,
            }),
        }
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// Where bundle files are kept.
    #[must_use]
    pub fn bundle_dir(&self) -> &std::path::Path {
        &self.inner.bundle_dir
    }

    /// Limits applied to uploaded bundles.
    #[must_use]
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// Largest request body the HTTP layer reads: the bundle limit. Longer
    /// bodies are cut off unread and answered with `bundle_too_large`.
    pub(crate) fn max_body_bytes(&self) -> usize {
        usize::try_from(self.inner.limits.max_bundle_bytes).unwrap_or(usize::MAX)
    }
}
