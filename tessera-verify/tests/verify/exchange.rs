//! RFC 8693 §2.1 from the client side: the request's shape (seen by a recording endpoint), the
//! parsed answer, and a real Tessera's refusal (it does not do token exchange yet).

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use serde_json::json;
use tessera::model::SigningAlg;
use tessera_verify::{ExchangeError, ExchangeRequest, TokenExchange};

use crate::support::Tessera;

type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// A token endpoint that records the Authorization header and the form, and issues a token.
async fn recording_endpoint(seen: Seen) -> String {
    async fn token(
        State(seen): State<Seen>,
        headers: HeaderMap,
        body: String,
    ) -> axum::Json<serde_json::Value> {
        let mut seen = seen.lock().unwrap();
        let authorization = headers["authorization"].to_str().unwrap().to_owned();
        seen.push(("authorization".into(), authorization));
        seen.extend(url::form_urlencoded::parse(body.as_bytes()).into_owned());
        axum::Json(json!({
            "access_token": "new-token",
            "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
            "token_type": "Bearer",
            "expires_in": 60,
            "scope": "read",
        }))
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/token", listener.local_addr().unwrap());
    let router = Router::new().route("/token", post(token)).with_state(seen);
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

#[tokio::test]
async fn the_exchange_request_has_the_rfc_8693_shape() {
    let seen = Seen::default();
    let endpoint = recording_endpoint(seen.clone()).await;
    let exchange = TokenExchange::new(reqwest::Client::new(), endpoint, "service a", "s3cr:t");
    let request = ExchangeRequest {
        audience: vec!["service-b".into()],
        resource: vec!["https://b.test".into()],
        scope: Some("read".into()),
    };
    let issued = exchange.exchange("incoming-token", &request).await.unwrap();
    assert_eq!(issued.access_token, "new-token");
    assert_eq!(issued.expires_in, Some(60));
    let seen = seen.lock().unwrap().clone();
    let expect = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    assert_eq!(
        seen,
        [
            // RFC 6749 §2.3.1: id and secret form-urlencoded, then Basic.
            expect("authorization", "Basic c2VydmljZSthOnMzY3IlM0F0"),
            expect(
                "grant_type",
                "urn:ietf:params:oauth:grant-type:token-exchange"
            ),
            expect("subject_token", "incoming-token"),
            expect(
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:access_token"
            ),
            expect("audience", "service-b"),
            expect("resource", "https://b.test"),
            expect("scope", "read"),
        ]
    );
}

/// A real Tessera authenticates the client and answers `unsupported_grant_type`, which
/// arrives as a clear error naming it.
#[tokio::test]
async fn tessera_without_token_exchange_says_so_clearly() {
    let tessera = Tessera::start().await;
    let client = tessera
        .client_for("https://orders.test", SigningAlg::ES256)
        .await;
    let subject = tessera.token(&client, None).await;
    let exchange = TokenExchange::new(
        reqwest::Client::new(),
        format!("{}/token", tessera.issuer),
        &client.client.client_id.0,
        client.secret.as_deref().unwrap(),
    );
    let request = ExchangeRequest {
        audience: vec!["https://orders.test".into()],
        ..ExchangeRequest::default()
    };
    let error = exchange.exchange(&subject, &request).await.unwrap_err();
    match &error {
        ExchangeError::Refused { status, error, .. } => {
            assert_eq!((*status, error.as_str()), (400, "unsupported_grant_type"));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(
        error
            .to_string()
            .contains("refused the token exchange (400): unsupported_grant_type")
    );

    // A wrong secret is told apart: invalid_client, 401.
    let wrong = TokenExchange::new(
        reqwest::Client::new(),
        format!("{}/token", tessera.issuer),
        &client.client.client_id.0,
        "wrong",
    );
    let error = wrong.exchange(&subject, &request).await.unwrap_err();
    assert!(
        matches!(error, ExchangeError::Refused { status: 401, ref error, .. } if error == "invalid_client"),
        "{error}"
    );
}
