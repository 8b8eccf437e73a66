//! `nqp serve`: bind, accept connections within bounds, shut down gracefully on Ctrl-C / SIGTERM.
//!
//! Owns: the tokio runtime, logging set-up, the listening socket and the connection policy —
//! at most [`ConnLimits::max_connections`] open at once, a deadline for a request's headers
//! that is also the idle limit of a kept-alive connection (hyper's header-read timeout), an
//! idle limit on request bodies, and
//! the client's address on every request (for the sign-in throttle). Also refuses to start with
//! a short `NQP_ADMIN_TOKEN`. Must not: define routes (that is `build_router`) or compute
//! anything.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;
use tower_http::timeout::TimeoutBody;
use tracing_subscriber::EnvFilter;

use super::build_router;
use super::state::{AppState, Config};

/// Environment variable holding the admin token to use when the store has none yet.
pub const ADMIN_TOKEN_ENV: &str = "NQP_ADMIN_TOKEN";
/// Shortest accepted `NQP_ADMIN_TOKEN`: 32 random characters are out of reach of guessing even
/// at the unthrottled rate of a local attacker; generated tokens have 64 hex digits.
pub const ADMIN_TOKEN_MIN_CHARS: usize = 32;

/// Bounds on connections (see SECURITY.md).
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    /// Connections served at once; further clients wait in the listen backlog.
    pub max_connections: usize,
    /// Time a client has to send a request's headers, and to start the next request on a
    /// kept-alive connection; then the connection is closed.
    pub header_read_timeout: Duration,
    /// Time a request body may stall between two chunks (a slow upload that still moves is fine).
    pub body_idle_timeout: Duration,
    /// Time open connections get to finish after a shutdown signal.
    pub shutdown_grace: Duration,
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            max_connections: 512,
            header_read_timeout: Duration::from_secs(15),
            body_idle_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// What `nqp serve` was asked to do.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub addr: String,
    pub data_dir: PathBuf,
    pub config: Config,
}

/// A usable `NQP_ADMIN_TOKEN`, or why not.
pub fn check_admin_token(token: &str) -> anyhow::Result<()> {
    let chars = token.trim().chars().count();
    anyhow::ensure!(
        chars >= ADMIN_TOKEN_MIN_CHARS,
        "{ADMIN_TOKEN_ENV} is {chars} characters long; use at least {ADMIN_TOKEN_MIN_CHARS} random characters \
         (e.g. `openssl rand -hex 32`), or unset it and nqp prints a generated token at the first start"
    );
    Ok(())
}

pub fn run(options: &ServeOptions) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,tower_http=info")),
        )
        .init();
    let from_env = std::env::var(ADMIN_TOKEN_ENV)
        .ok()
        .filter(|t| !t.is_empty());
    if let Some(token) = &from_env {
        check_admin_token(token)?;
    }
    let data_dir = &options.data_dir;
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create data dir {}", data_dir.display()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Computations run on blocking threads: a few at a time bound the CPU and the transient
        // memory of requests for many different methods (polars parallelises inside each).
        .max_blocking_threads(8)
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let store = crate::store::Store::open(data_dir)
            .with_context(|| format!("opening the data store in {}", data_dir.display()))?;
        if let Some(token) = store.ensure_admin_token(from_env.as_deref())? {
            // Shown once, as Jupyter does: only its hash is stored.
            println!("nqp: admin access token (shown once; sign in on /datasets): {token}");
        }
        let config = options.config.clone();
        let state = tokio::task::block_in_place(|| AppState::with_store(store, config))
            .context("loading the datasets")?;
        // Compute the default view before accepting requests so the first visitor waits for nothing.
        state
            .tables(&crate::method::MethodSpec::default())
            .await
            .context("computing the default index")?;
        let listener = TcpListener::bind(&options.addr)
            .await
            .with_context(|| format!("cannot listen on {}", options.addr))?;
        tracing::info!(
            cache_mb = state.config().cache_bytes / (1024 * 1024),
            "nqp dashboard on http://{}",
            listener.local_addr()?
        );
        serve_on(
            listener,
            build_router(state),
            ConnLimits::default(),
            shutdown_signal(),
        )
        .await;
        Ok(())
    })
}

/// Serve `router` on `listener` until `shutdown` completes, then let open connections finish
/// (at most [`ConnLimits::shutdown_grace`]).
pub async fn serve_on(
    listener: TcpListener,
    router: Router,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let (stop, stopped) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let router = router.clone();
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let service = hyper::service::service_fn(move |request| {
                let mut request = request.map(|body| {
                    axum::body::Body::new(TimeoutBody::new(limits.body_idle_timeout, body))
                });
                request
                    .extensions_mut()
                    .insert(ConnectInfo::<SocketAddr>(remote));
                router.clone().oneshot(request)
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout);
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection ended");
                    }
                    return;
                }
                _ = stopped.changed() => connection.as_mut().graceful_shutdown(),
            }
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended during shutdown");
            }
        });
    }
    let _ = stop.send(true);
    // Every connection holds a permit: having them all back means every connection is done.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(limits.shutdown_grace, permits.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the shutdown grace period; closing them");
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_admin_tokens_are_refused_with_the_rule() {
        let err = check_admin_token("secret").unwrap_err().to_string();
        assert!(
            err.contains("NQP_ADMIN_TOKEN is 6 characters long") && err.contains("at least 32"),
            "{err}"
        );
        assert!(check_admin_token(&"a".repeat(31)).is_err());
        assert!(check_admin_token(&"a".repeat(32)).is_ok());
    }
}
