//! `nqp serve`: bind, serve the router, shut down gracefully on Ctrl-C / SIGTERM.
//!
//! Owns: the tokio runtime, logging set-up and the listening socket. Must not: define routes
//! (that is `build_router`) or compute anything.

use std::path::Path;

use anyhow::Context;
use tracing_subscriber::EnvFilter;

use super::build_router;
use super::state::AppState;

/// Environment variable holding the admin token to use when the store has none yet.
pub const ADMIN_TOKEN_ENV: &str = "NQP_ADMIN_TOKEN";

pub fn run(addr: &str, data_dir: &Path, upload_limit: usize) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,tower_http=info")),
        )
        .init();
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create data dir {}", data_dir.display()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let store = crate::store::Store::open(data_dir)
            .with_context(|| format!("opening the data store in {}", data_dir.display()))?;
        let from_env = std::env::var(ADMIN_TOKEN_ENV)
            .ok()
            .filter(|t| !t.is_empty());
        if let Some(token) = store.ensure_admin_token(from_env.as_deref())? {
            // Shown once, as Jupyter does: only its hash is stored.
            println!("nqp: admin access token (shown once; sign in on /datasets): {token}");
        }
        let state = tokio::task::block_in_place(|| AppState::with_store(store, upload_limit))
            .context("loading the datasets")?;
        // Compute the default view before accepting requests so the first visitor waits for nothing.
        state
            .tables(&crate::method::MethodSpec::default())
            .await
            .context("computing the default index")?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        tracing::info!("nqp dashboard on http://{}", listener.local_addr()?);
        axum::serve(listener, build_router(state))
            .with_graceful_shutdown(shutdown_signal())
            .await
            .context("server error")
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
