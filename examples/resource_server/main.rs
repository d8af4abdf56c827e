//! A small resource server that trusts authd's access tokens without calling authd per request.
//!
//!     AUTHD_ISSUER=http://127.0.0.1:8080 cargo run --example resource_server
//!     curl -H "authorization: Bearer $AT" http://127.0.0.1:8090/hello

// The integration tests include this module too, and use all of it.
#[allow(dead_code)]
mod verifier;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let issuer = std::env::var("AUTHD_ISSUER").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    // authd's access tokens name the issuer as their audience.
    let verifier = verifier::JwksVerifier::new(&issuer, &issuer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8090").await?;
    println!(
        "resource server on http://{} trusting {issuer}",
        listener.local_addr()?
    );
    axum::serve(listener, verifier::router(verifier)).await?;
    Ok(())
}
