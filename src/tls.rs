//! Native TLS with rustls: the certificate chain and key come from PEM files that are re-read
//! when they change on disk (renewal without restart), and client certificates can be verified
//! against a configured CA (mutual TLS between services).
//!
//! Every connection carries an `Arc<axum_server::tls::TlsInfo>` request extension with the
//! client's certificate chain (DER), for certificate-bound tokens (RFC 8705) later.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum_server::tls_rustls::RustlsConfig;
use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ServerConfig, WebPkiClientVerifier};

use crate::config::{ClientAuth, TlsConfig};

/// RFC 6797: one year, this host only (`includeSubDomains` would bind every sibling service).
pub const HSTS: &str = "max-age=31536000";

/// A TLS setting that cannot be used, named as the environment variable that sets it.
#[derive(Debug, thiserror::Error)]
#[error("{setting}: {message}")]
pub struct TlsError {
    pub setting: &'static str,
    pub message: String,
}

fn error(setting: &'static str, message: impl Into<String>) -> TlsError {
    TlsError {
        setting,
        message: message.into(),
    }
}

const CERT: &str = "TESSERA_TLS__CERT_FILE";
const KEY: &str = "TESSERA_TLS__KEY_FILE";
const CA: &str = "TESSERA_TLS__CLIENT_CA_FILE";

/// The PEM files as read at one moment. Certificates are built from exactly these bytes, so a
/// file replaced while it is being read can never mix with what was checked.
struct Pem {
    cert: Vec<u8>,
    key: Vec<u8>,
    ca: Option<Vec<u8>>,
}

impl Pem {
    fn read(cert: &Path, key: &Path, ca: Option<&Path>) -> Result<Self, TlsError> {
        Ok(Self {
            cert: read(CERT, cert)?,
            key: read(KEY, key)?,
            ca: ca.map(|path| read(CA, path)).transpose()?,
        })
    }

    /// SHA-256 over the three files: what the watcher compares (contents, not modification
    /// times, which coarse clocks, `cp -p` and restored backups make unreliable), without
    /// keeping a second copy of the private key around.
    fn fingerprint(&self) -> Vec<u8> {
        let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        for part in [Some(&self.cert), Some(&self.key), self.ca.as_ref()] {
            let part = part.map_or(&[][..], Vec::as_slice);
            ctx.update(&(part.len() as u64).to_be_bytes());
            ctx.update(part);
        }
        ctx.finish().as_ref().to_vec()
    }
}

fn read(setting: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    // fs::read follows symlinks: Kubernetes renews a mounted secret by swapping a link.
    std::fs::read(path).map_err(|e| error(setting, format!("cannot read {}: {e}", path.display())))
}

fn certificates(
    setting: &'static str,
    path: &Path,
    pem: &[u8],
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| error(setting, format!("{}: not valid PEM ({e})", path.display())))?;
    if certs.is_empty() {
        return Err(error(
            setting,
            format!("{} holds no CERTIFICATE block", path.display()),
        ));
    }
    Ok(certs)
}

fn private_key(path: &Path, pem: &[u8]) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| {
        error(
            KEY,
            format!(
                "{}: no PKCS#8, PKCS#1 or SEC1 private key in PEM ({e})",
                path.display()
            ),
        )
    })
}

fn client_verifier(
    auth: ClientAuth,
    path: &Path,
    pem: &[u8],
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn rustls::server::danger::ClientCertVerifier>, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in certificates(CA, path, pem)? {
        roots
            .add(cert)
            .map_err(|e| error(CA, format!("{}: {e}", path.display())))?;
    }
    let builder = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
    let builder = match auth {
        ClientAuth::Optional => builder.allow_unauthenticated(),
        ClientAuth::Required => builder,
    };
    builder
        .build()
        .map_err(|e| error(CA, format!("{}: {e}", path.display())))
}

/// The files TLS is served from (present only when TLS is on).
#[derive(Clone)]
struct Files {
    cert: PathBuf,
    key: PathBuf,
    ca: Option<PathBuf>,
    auth: ClientAuth,
}

impl Files {
    fn of(settings: &TlsConfig) -> Option<Self> {
        Some(Self {
            cert: settings.cert_file.clone()?,
            key: settings.key_file.clone()?,
            ca: settings.client_ca_file.clone(),
            auth: settings.client_auth,
        })
    }

    fn read(&self) -> Result<Pem, TlsError> {
        Pem::read(&self.cert, &self.key, self.ca.as_deref())
    }

    /// The server configuration for these bytes. The key must match the leaf certificate.
    /// aws-lc-rs is passed explicitly, so the process default provider plays no part here.
    fn build(&self, pem: &Pem) -> Result<Arc<ServerConfig>, TlsError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let chain = certificates(CERT, &self.cert, &pem.cert)?;
        let key = private_key(&self.key, &pem.key)?;
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| error(CERT, e.to_string()))?;
        let builder = match (&self.ca, &pem.ca) {
            (Some(path), Some(ca)) => {
                builder.with_client_cert_verifier(client_verifier(self.auth, path, ca, &provider)?)
            }
            _ => builder.with_no_client_auth(),
        };
        let mut config = builder.with_single_cert(chain, key).map_err(|e| {
            error(
                KEY,
                format!(
                    "{} does not fit the certificate in {}: {e}",
                    self.key.display(),
                    self.cert.display()
                ),
            )
        })?;
        // axum-server speaks both; clients choose.
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// Reads the files and builds the server configuration (None when TLS is off).
pub fn server_config(settings: &TlsConfig) -> Result<Option<Arc<ServerConfig>>, TlsError> {
    Files::of(settings)
        .map(|files| files.build(&files.read()?))
        .transpose()
}

/// A loaded TLS configuration that [`Tls::watch`] keeps current.
#[derive(Clone)]
pub struct Tls {
    pub rustls: RustlsConfig,
    files: Files,
    period: Duration,
    fingerprint: Vec<u8>,
}

impl Tls {
    /// Loads the configured files; None when TLS is off. Errors name the setting.
    pub fn load(settings: &TlsConfig) -> Result<Option<Self>, TlsError> {
        let Some(files) = Files::of(settings) else {
            return Ok(None);
        };
        let pem = files.read()?;
        let config = files.build(&pem)?;
        Ok(Some(Self {
            rustls: RustlsConfig::from_config(config),
            period: Duration::from_secs(u64::from(settings.reload_seconds)),
            fingerprint: pem.fingerprint(),
            files,
        }))
    }

    /// Every `reload_seconds`, re-reads the files and swaps in a new configuration when their
    /// contents changed. Unusable new files are logged once and the previous certificate stays
    /// in service; a renewal written file by file (key first, say) is picked up once whole.
    /// Established connections keep the configuration they started with.
    pub async fn watch(self) {
        let Self {
            rustls,
            files,
            period,
            fingerprint,
        } = self;
        // The last state seen: the fingerprint of readable files, or why they were not.
        let mut seen: Result<Vec<u8>, String> = Ok(fingerprint);
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            let reader = files.clone();
            let Ok(read) = tokio::task::spawn_blocking(move || reader.read()).await else {
                continue;
            };
            let now = read
                .as_ref()
                .map(Pem::fingerprint)
                .map_err(|e| e.to_string());
            if now == seen {
                continue;
            }
            seen = now;
            match read.and_then(|pem| files.build(&pem)) {
                Ok(config) => {
                    rustls.reload_from_config(config);
                    tracing::info!("reloaded the TLS certificate, key and client CA");
                }
                Err(e) => tracing::error!(
                    error = %e,
                    "the TLS files changed but cannot be used; still serving the previous \
                     certificate"
                ),
            }
        }
    }
}

/// Adds `Strict-Transport-Security` to every response served over TLS.
pub async fn hsts(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static(HSTS),
    );
    response
}
