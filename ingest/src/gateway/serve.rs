//! Serving: TLS (rustls, ALPN h2 + http/1.1) on every listener unless `plain_http` is
//! set explicitly; HTTP/1.1 and HTTP/2 (gRPC) on one port; graceful shutdown drains the
//! requests in flight.

use super::config::TlsConfig;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "TLS is required: give [tls] cert_file and key_file, or set plain_http = true explicitly"
    )]
    TlsRequired,
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("TLS: {0}")]
    Tls(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// A rustls acceptor from PEM files (certificate chain and private key).
pub fn tls_acceptor(cfg: &TlsConfig) -> Result<TlsAcceptor, ServeError> {
    let read = |p: &std::path::Path| {
        std::fs::read(p).map_err(|source| ServeError::Read {
            path: p.display().to_string(),
            source,
        })
    };
    let certs = rustls_pemfile::certs(&mut read(&cfg.cert_file)?.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ServeError::Tls(format!("certificate: {e}")))?;
    let key = rustls_pemfile::private_key(&mut read(&cfg.key_file)?.as_slice())
        .map_err(|e| ServeError::Tls(format!("private key: {e}")))?
        .ok_or_else(|| ServeError::Tls("no private key in key_file".into()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ServeError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| ServeError::Tls(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (tcp, _) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        continue;
                    }
                };
                let _ = tcp.set_nodelay(true);
                let (app, tls, watcher) = (app.clone(), tls.clone(), graceful.watcher());
                tokio::spawn(async move {
                    match tls {
                        Some(acceptor) => match acceptor.accept(tcp).await {
                            Ok(stream) => connection(stream, app, watcher).await,
                            Err(e) => tracing::debug!(error = %e, "TLS handshake failed"),
                        },
                        None => connection(tcp, app, watcher).await,
                    }
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(Duration::from_secs(10), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after 10 s of draining");
    }
    Ok(())
}

async fn connection<I>(io: I, app: Router, watcher: Watcher)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    let conn =
        builder.serve_connection_with_upgrades(TokioIo::new(io), TowerToHyperService::new(app));
    if let Err(e) = watcher.watch(conn.into_owned()).await {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}
