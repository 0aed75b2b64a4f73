//! RFC 8705 §3: a certificate-bound token over a real TLS connection whose acceptor puts the
//! client's certificate in each request's extensions, as a service's own listener would.

use std::sync::Arc;

use axum::{Extension, Router};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use rustls::server::WebPkiClientVerifier;
use serde_json::json;
use tessera_verify::ClientCertificate;

use crate::issuer::{TestIssuer, sha256_b64};
use crate::support::{answer, protected_router};

/// A certificate (PEM and DER) and its key (PEM).
struct Leaf {
    pem: String,
    der: Vec<u8>,
    key: String,
}

struct Ca {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl Ca {
    fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "test CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Self {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    fn leaf(&self, name: &str, purpose: ExtendedKeyUsagePurpose) -> Leaf {
        let mut params = CertificateParams::new(vec![name.to_owned()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![purpose];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf {
            pem: cert.pem(),
            der: cert.der().to_vec(),
            key: key.serialize_pem(),
        }
    }

    fn client(&self, name: &str) -> reqwest::Client {
        let leaf = self.leaf(name, ExtendedKeyUsagePurpose::ClientAuth);
        self.http(Some(leaf))
    }

    fn http(&self, identity: Option<Leaf>) -> reqwest::Client {
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .add_root_certificate(reqwest::Certificate::from_pem(self.pem.as_bytes()).unwrap());
        if let Some(leaf) = identity {
            let pem = format!("{}{}", leaf.key, leaf.pem);
            builder = builder.identity(reqwest::Identity::from_pem(pem.as_bytes()).unwrap());
        }
        builder.build().unwrap()
    }
}

/// Serves `router` over TLS on an ephemeral port; client certificates from `ca` are asked for
/// but optional, and a presented one reaches requests as a `ClientCertificate` extension.
async fn serve_tls(ca: &Ca, router: Router) -> String {
    let server = ca.leaf("127.0.0.1", ExtendedKeyUsagePurpose::ServerAuth);
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca.pem.as_bytes()).unwrap())
        .unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let client_verifier =
        WebPkiClientVerifier::builder_with_provider(roots.into(), provider.clone())
            .allow_unauthenticated()
            .build()
            .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(client_verifier)
        .with_single_cert(
            vec![CertificateDer::from(server.der)],
            PrivateKeyDer::from_pem_slice(server.key.as_bytes()).unwrap(),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("https://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, router) = (acceptor.clone(), router.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let presented = tls.get_ref().1.peer_certificates().and_then(|c| c.first());
                let router = match presented {
                    Some(cert) => router.layer(Extension(ClientCertificate::new(cert.to_vec()))),
                    None => router,
                };
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), TowerToHyperService::new(router))
                    .await;
            });
        }
    });
    base
}

#[tokio::test]
async fn a_certificate_bound_token_needs_its_certificate() {
    let issuer = TestIssuer::start().await;
    let verifier = issuer.verifier().build().unwrap();
    let ca = Ca::new();
    let service = serve_tls(&ca, protected_router(&verifier)).await;
    let url = format!("{service}/read");

    let holder = ca.leaf("service-a", ExtendedKeyUsagePurpose::ClientAuth);
    let token = issuer.access_token(Some(json!({"x5t#S256": sha256_b64(&holder.der)})));
    let get = |http: reqwest::Client| {
        let (url, token) = (url.clone(), token.clone());
        async move { answer(http.get(&url).bearer_auth(&token).send().await.unwrap()).await }
    };

    let thumbprint = sha256_b64(&holder.der);
    let (status, _, body) = get(ca.http(Some(holder))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["client_id"], "service-a");
    assert_eq!(body["x5t"], thumbprint);

    // Stolen: replayed over a connection with another certificate, or with none.
    let (status, challenge, _) = get(ca.client("thief")).await;
    assert_eq!(status, 401);
    assert!(
        challenge.contains("bound to another client certificate"),
        "{challenge}"
    );
    let (status, challenge, _) = get(ca.http(None)).await;
    assert_eq!(status, 401);
    assert!(
        challenge.contains("needs the client certificate"),
        "{challenge}"
    );

    // A token without cnf does not care about the connection.
    let plain = issuer.access_token(None);
    let response = ca
        .client("anyone")
        .get(&url)
        .bearer_auth(&plain)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}
