use axum::{Router, routing::get};
use tessera_verify::{RequireToken, RequiredScopes, Scoped, VerifiedToken, Verifier};

/// The scope creating an order needs, on top of the router's `orders:read`.
struct WriteOrders;
impl RequiredScopes for WriteOrders {
    const SCOPES: &'static [&'static str] = &["orders:write"];
}

async fn list(token: VerifiedToken) -> String {
    format!("the orders of {} (client {})", token.sub, token.client_id)
}

async fn create(token: Scoped<WriteOrders>) -> String {
    format!("an order created by {}", token.sub)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The issuer exactly as Tessera's discovery document names it; the audience is this
    // service's resource identifier (`tessera resources create https://orders.example.com`).
    let issuer = std::env::var("TESSERA_ISSUER").unwrap_or("http://127.0.0.1:8080".into());
    let verifier = Verifier::builder(issuer, "https://orders.example.com").build()?;
    let app = Router::new()
        .route("/orders", get(list).post(create))
        .route_layer(RequireToken::new(verifier).scopes(&["orders:read"]));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    axum::serve(listener, app).await?;
    Ok(())
}
