//! RFC 8705 §3: certificate-bound access tokens.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The DER-encoded end-entity certificate the client presented in the TLS handshake of the
/// connection a request came on.
///
/// The verifier does not terminate TLS: the service's TLS acceptor (rustls, after a handshake
/// that asked for a client certificate) inserts this value into the extensions of every request
/// of that connection, e.g. with `axum::Extension(ClientCertificate::new(der))` on the
/// per-connection service. A token whose `cnf` carries `x5t#S256` is accepted only when this
/// extension is present and its SHA-256 thumbprint matches (RFC 8705 §3.1). The crate's tests
/// (`tests/mtls.rs`) show a complete acceptor.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCertificate(Arc<[u8]>);

impl ClientCertificate {
    pub fn new(der: impl Into<Vec<u8>>) -> Self {
        Self(der.into().into())
    }

    /// The DER bytes of the certificate.
    pub fn der(&self) -> &[u8] {
        &self.0
    }

    /// RFC 8705 §3.1: `x5t#S256`, the base64url SHA-256 digest of the DER certificate.
    pub fn thumbprint(&self) -> String {
        URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            &self.0,
        ))
    }
}

impl std::fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ClientCertificate")
            .field(&self.thumbprint())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4648 §10 style vector: SHA-256 of "abc", base64url without padding.
    #[test]
    fn thumbprint_is_base64url_sha256_of_the_der() {
        assert_eq!(
            ClientCertificate::new(b"abc".to_vec()).thumbprint(),
            "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
        );
    }
}
