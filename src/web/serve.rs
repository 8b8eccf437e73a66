//! `nqp serve`: bind, serve the router, shut down gracefully on Ctrl-C / SIGTERM.
//!
//! Owns: the tokio runtime, logging set-up and the listening socket. Must not: define routes
//! (that is `build_router`) or compute anything.

use std::path::Path;

use anyhow::Context;
use tracing_subscriber::EnvFilter;

use super::build_router;
use super::state::AppState;

pub fn run(addr: &str, data_dir: &Path) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,tower_http=info")),
        )
        .init();
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create data dir {}", data_dir.display()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let dataset = crate::service::bundled::dataset().context("loading the bundled dataset")?;
        let state = AppState::new(dataset);
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
