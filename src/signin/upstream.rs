//! Sign-in through another provider ("Continue with ..."): an OpenID Connect provider (the
//! code flow with PKCE and a nonce, the ID token verified against its JWKS by `openidconnect`)
//! or GitHub (OAuth 2.0, then its user and verified-email API). What comes back is what the
//! provider asserted ([`Asserted`]); what that means for authd's accounts is
//! `accounts::identities`' business.
//!
//! The round trip's state never sits in an instance's memory: `start` keeps it (the nonce and
//! PKCE verifier sealed under the instance secret, the browser it belongs to, where to go
//! after) in a single-use row named by the `state` parameter, for 10 minutes; `finish` takes it
//! once, on any instance, and only for the browser that started it. Discovery documents are
//! cached per instance for an hour (not state: any instance may fetch its own). Every call to
//! a provider is bounded (5 s to connect, 10 s in all) and follows no redirect.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use secrecy::ExposeSecret as _;
use serde::{Deserialize, Serialize};

use crate::config::{UpstreamKind, UpstreamProvider};
use crate::domain::Method;
use crate::state::AppState;
use crate::storage::OneTimeTokenRow;
use crate::storage::one_time_tokens;
use crate::tokens::{OpaqueToken, TokenHash};

/// How long a round trip to the provider may take.
pub const ROUND_TRIP_TTL: chrono::Duration = chrono::Duration::minutes(10);
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);
const SEAL_LABEL: &str = "upstream round trip";

/// Where the person goes once the provider answered.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum Return {
    /// Back to the authorization request (its query).
    Authorize(String),
    /// An account page of authd's (a path).
    Account(String),
    /// A registered frontend's page (the JSON API's start), with a one-time code.
    Frontend(String),
}

/// Why the round trip was made.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum Intent {
    SignIn(Return),
    /// A signed-in person links another identity to her account, then goes `back`.
    Link {
        user_id: String,
        back: String,
    },
}

/// The round trip as kept between `start` and `finish`.
#[derive(Serialize, Deserialize)]
struct RoundTrip {
    provider: String,
    nonce: String,
    verifier: String,
    /// The hash of the browser id cookie of the browser that started it.
    browser: String,
    intent: Intent,
}

/// What a provider asserted about the person.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Asserted {
    pub provider: String,
    pub subject: String,
    /// As the provider gave it (not yet checked as an address).
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    /// The provider's own `amr` values that authd knows, besides `fed`.
    pub methods: Vec<Method>,
}

/// The callback's query.
#[derive(Debug, Default, Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("no such provider")]
    UnknownProvider,
    /// The provider cannot be reached, is too slow, or answers nonsense.
    #[error("the provider is unavailable: {0}")]
    Unavailable(String),
    /// The round trip is unknown, spent or expired.
    #[error("the sign-in with the provider expired or was used")]
    Expired,
    /// The round trip belongs to another browser.
    #[error("the sign-in with the provider was started in another browser")]
    OtherBrowser,
    /// The provider answered with an error (the person declined, say).
    #[error("the provider refused: {0}")]
    Refused(String),
    /// The provider's answer does not verify (issuer, audience, nonce, signature, expiry).
    #[error("the provider's answer is not valid: {0}")]
    Invalid(String),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// A round trip that did not end in an identity: why, and what it was for when that is known
/// (a frontend's round trip is answered at the frontend).
#[derive(Debug)]
pub struct Failed {
    pub error: UpstreamError,
    pub intent: Option<Intent>,
}

impl UpstreamError {
    /// The `upstream_error` a frontend hears (OAuth's error words, RFC 6749 §4.1.2.1).
    pub fn code(&self) -> &'static str {
        match self {
            UpstreamError::Unavailable(_) => "temporarily_unavailable",
            UpstreamError::Refused(_) => "access_denied",
            UpstreamError::Expired | UpstreamError::OtherBrowser => "invalid_request",
            UpstreamError::Invalid(_) => "invalid_response",
            UpstreamError::UnknownProvider | UpstreamError::Unexpected(_) => "server_error",
        }
    }
}

impl From<crate::storage::StorageError> for UpstreamError {
    fn from(e: crate::storage::StorageError) -> Self {
        UpstreamError::Unexpected(e.into())
    }
}

/// The providers' HTTP client and each instance's cache of their discovery documents.
pub struct Upstream {
    http: reqwest::Client,
    discovered: tokio::sync::Mutex<HashMap<String, (Instant, CoreProviderMetadata)>>,
}

impl Default for Upstream {
    fn default() -> Self {
        Self::new()
    }
}

impl Upstream {
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .user_agent("authd")
            .build()
            .expect("an HTTP client");
        Self {
            http,
            discovered: Default::default(),
        }
    }

    async fn metadata(
        &self,
        issuer: &str,
        fresh: bool,
    ) -> Result<CoreProviderMetadata, UpstreamError> {
        let mut cache = self.discovered.lock().await;
        if !fresh
            && let Some((at, metadata)) = cache.get(issuer)
            && at.elapsed() < DISCOVERY_TTL
        {
            return Ok(metadata.clone());
        }
        let url = IssuerUrl::new(issuer.to_owned()).map_err(|e| anyhow::anyhow!("{e}"))?;
        let metadata = CoreProviderMetadata::discover_async(url, &self.http)
            .await
            .map_err(|e| UpstreamError::Unavailable(format!("discovery: {}", chain(&e))))?;
        cache.insert(issuer.to_owned(), (Instant::now(), metadata.clone()));
        Ok(metadata)
    }

    /// Starts a round trip to `provider` for the browser whose id hashes to `browser`: the
    /// address to send it to.
    pub async fn start(
        &self,
        state: &AppState,
        provider: &UpstreamProvider,
        browser: &TokenHash,
        intent: Intent,
    ) -> Result<String, UpstreamError> {
        let round = OpaqueToken::generate();
        let nonce = OpaqueToken::generate().expose().to_owned();
        let verifier = PkceCodeVerifier::new(OpaqueToken::generate().expose().to_owned());
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&verifier);
        let redirect = redirect_uri(state, provider);
        let url = match &provider.kind {
            UpstreamKind::Oidc { issuer } => {
                let metadata = self.metadata(issuer, false).await?;
                let client = oidc_client(provider, metadata, &redirect)?;
                let (state_value, nonce_value) = (round.expose().to_owned(), nonce.clone());
                let mut request = client.authorize_url(
                    CoreAuthenticationFlow::AuthorizationCode,
                    move || CsrfToken::new(state_value),
                    move || Nonce::new(nonce_value),
                );
                for scope in &provider.scopes {
                    request = request.add_scope(Scope::new(scope.clone()));
                }
                request.set_pkce_challenge(challenge).url().0
            }
            UpstreamKind::GitHub { web, .. } => {
                let mut url = url::Url::parse(&format!("{web}/login/oauth/authorize"))
                    .map_err(anyhow::Error::from)?;
                url.query_pairs_mut()
                    .append_pair("client_id", &provider.client_id)
                    .append_pair("redirect_uri", &redirect)
                    .append_pair("scope", &provider.scopes.join(" "))
                    .append_pair("state", round.expose())
                    .append_pair("code_challenge", challenge.as_str())
                    .append_pair("code_challenge_method", "S256")
                    .append_pair("allow_signup", "false");
                url
            }
        };
        let kept = RoundTrip {
            provider: provider.id.clone(),
            nonce,
            verifier: verifier.secret().clone(),
            browser: browser.as_str().to_owned(),
            intent,
        };
        let sealed = state
            .sealer
            .seal(
                SEAL_LABEL,
                &serde_json::to_vec(&kept).map_err(anyhow::Error::from)?,
            )
            .map_err(|e| anyhow::anyhow!("sealing a round trip: {e}"))?;
        let now = state.clock.now_naive();
        one_time_tokens::insert_one_time_token(
            &state.db,
            &OneTimeTokenRow {
                token_hash: round.hash().as_str().to_owned(),
                purpose: one_time_tokens::PURPOSE_UPSTREAM.to_owned(),
                subject: provider.id.clone(),
                created_at: now,
                expires_at: now + ROUND_TRIP_TTL,
                consumed_at: None,
                payload: Some(URL_SAFE_NO_PAD.encode(sealed)),
            },
        )
        .await?;
        Ok(url.to_string())
    }

    /// Finishes the round trip the callback names: taken once, for the browser that started
    /// it, and checked with the provider. Returns what it asserted and why the trip was made.
    pub async fn finish(
        &self,
        state: &AppState,
        provider: &UpstreamProvider,
        callback: &Callback,
        browser: &TokenHash,
    ) -> Result<(Asserted, Intent), Failed> {
        let failed = |error| Failed {
            error,
            intent: None,
        };
        let presented = callback
            .state
            .as_deref()
            .and_then(OpaqueToken::from_presented)
            .ok_or(failed(UpstreamError::Expired))?;
        let row = one_time_tokens::take(
            &state.db,
            &presented.hash(),
            one_time_tokens::PURPOSE_UPSTREAM,
            state.clock.now_naive(),
        )
        .await
        .map_err(|e| failed(e.into()))?
        .ok_or(failed(UpstreamError::Expired))?;
        let kept: RoundTrip = row
            .payload
            .as_deref()
            .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
            .and_then(|s| state.sealer.open(SEAL_LABEL, &s).ok())
            .and_then(|plain| serde_json::from_slice(&plain).ok())
            .ok_or(failed(UpstreamError::Expired))?;
        if kept.provider != provider.id {
            return Err(failed(UpstreamError::Expired));
        }
        // From here on the round trip is known: a frontend hears how it ended.
        let intent = kept.intent.clone();
        let failed = |error| Failed {
            error,
            intent: Some(intent.clone()),
        };
        if kept.browser != browser.as_str() {
            return Err(failed(UpstreamError::OtherBrowser));
        }
        if let Some(error) = &callback.error {
            let said = callback.error_description.as_deref().unwrap_or(error);
            return Err(failed(UpstreamError::Refused(
                said.chars().take(200).collect(),
            )));
        }
        let code = callback
            .code
            .as_deref()
            .filter(|c| !c.is_empty() && c.len() <= 2048)
            .ok_or_else(|| failed(UpstreamError::Invalid("no code".into())))?;
        let verifier = PkceCodeVerifier::new(kept.verifier.clone());
        let asserted = match &provider.kind {
            UpstreamKind::Oidc { issuer } => {
                self.oidc_identity(state, provider, issuer, code, verifier, &kept.nonce)
                    .await
            }
            UpstreamKind::GitHub { web, api } => {
                self.github_identity(state, provider, web, api, code, verifier)
                    .await
            }
        };
        match asserted {
            Ok(asserted) => Ok((asserted, kept.intent)),
            Err(e) => Err(failed(e)),
        }
    }

    async fn oidc_identity(
        &self,
        state: &AppState,
        provider: &UpstreamProvider,
        issuer: &str,
        code: &str,
        verifier: PkceCodeVerifier,
        nonce: &str,
    ) -> Result<Asserted, UpstreamError> {
        let redirect = redirect_uri(state, provider);
        let metadata = self.metadata(issuer, false).await?;
        let client = oidc_client(provider, metadata, &redirect)?;
        let tokens = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| UpstreamError::Unavailable(format!("no token endpoint: {e}")))?
            .set_pkce_verifier(verifier)
            .request_async(&self.http)
            .await
            .map_err(|e| match &e {
                openidconnect::RequestTokenError::ServerResponse(r) => {
                    UpstreamError::Refused(r.error().to_string())
                }
                _ => UpstreamError::Unavailable(format!("token: {}", chain(&e))),
            })?;
        let id_token = tokens
            .id_token()
            .ok_or_else(|| UpstreamError::Invalid("no ID token".into()))?;
        let nonce = Nonce::new(nonce.to_owned());
        let claims = match id_token.claims(&client.id_token_verifier(), &nonce) {
            Ok(claims) => claims.clone(),
            // The provider may have rotated its keys since discovery: fetch them once more.
            Err(openidconnect::ClaimsVerificationError::SignatureVerification(_)) => {
                let fresh = self.metadata(issuer, true).await?;
                let client = oidc_client(provider, fresh, &redirect)?;
                id_token
                    .claims(&client.id_token_verifier(), &nonce)
                    .map_err(|e| UpstreamError::Invalid(e.to_string()))?
                    .clone()
            }
            Err(e) => return Err(UpstreamError::Invalid(e.to_string())),
        };
        let mut asserted = Asserted {
            provider: provider.id.clone(),
            subject: claims.subject().as_str().to_owned(),
            email: claims.email().map(|e| e.as_str().to_owned()),
            email_verified: claims.email_verified().unwrap_or(false),
            name: claims
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().to_owned()),
            methods: claims
                .auth_method_refs()
                .map(|amr| {
                    amr.iter()
                        .filter_map(|m| Method::parse(m.as_str()))
                        .collect()
                })
                .unwrap_or_default(),
        };
        // Providers that keep the ID token small give the email at userinfo.
        if asserted.email.is_none()
            && let Ok(request) = client.user_info(
                tokens.access_token().clone(),
                Some(claims.subject().clone()),
            )
        {
            let info: Result<openidconnect::core::CoreUserInfoClaims, _> =
                request.request_async(&self.http).await;
            match info {
                Ok(info) => {
                    asserted.email = info.email().map(|e| e.as_str().to_owned());
                    asserted.email_verified = info.email_verified().unwrap_or(false);
                    if asserted.name.is_none() {
                        asserted.name = info
                            .name()
                            .and_then(|n| n.get(None))
                            .map(|n| n.as_str().to_owned());
                    }
                }
                Err(e) => {
                    tracing::warn!(provider = %provider.id, error = %chain(&e), "userinfo failed")
                }
            }
        }
        Ok(asserted)
    }

    async fn github_identity(
        &self,
        state: &AppState,
        provider: &UpstreamProvider,
        web: &str,
        api: &str,
        code: &str,
        verifier: PkceCodeVerifier,
    ) -> Result<Asserted, UpstreamError> {
        let unavailable = |what: &str, e: reqwest::Error| {
            UpstreamError::Unavailable(format!("{what}: {}", chain(&e)))
        };
        let token: GitHubToken = self
            .http
            .post(format!("{web}/login/oauth/access_token"))
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&[
                ("client_id", provider.client_id.as_str()),
                ("client_secret", provider.client_secret.expose_secret()),
                ("code", code),
                ("redirect_uri", &redirect_uri(state, provider)),
                ("code_verifier", verifier.secret()),
            ])
            .send()
            .await
            .map_err(|e| unavailable("token", e))?
            .json()
            .await
            .map_err(|e| unavailable("token", e))?;
        let access = match token {
            GitHubToken {
                access_token: Some(t),
                ..
            } => t,
            GitHubToken { error, .. } => {
                return Err(UpstreamError::Refused(
                    error.unwrap_or_else(|| "no access token".into()),
                ));
            }
        };
        let get = |path: &str| {
            self.http
                .get(format!("{api}{path}"))
                .bearer_auth(&access)
                .header(reqwest::header::ACCEPT, "application/vnd.github+json")
                .send()
        };
        let user: GitHubUser = get("/user")
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| unavailable("user", e))?
            .json()
            .await
            .map_err(|e| unavailable("user", e))?;
        let emails: Vec<GitHubEmail> = get("/user/emails")
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| unavailable("emails", e))?
            .json()
            .await
            .map_err(|e| unavailable("emails", e))?;
        // The primary address if verified, else none: GitHub lets anyone add an address.
        let primary = emails.into_iter().find(|e| e.primary && e.verified);
        Ok(Asserted {
            provider: provider.id.clone(),
            subject: user.id.to_string(),
            email_verified: primary.is_some(),
            email: primary.map(|e| e.email),
            name: user.name.filter(|n| !n.is_empty()).or(Some(user.login)),
            methods: Vec::new(),
        })
    }
}

#[derive(Deserialize)]
struct GitHubToken {
    access_token: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct GitHubUser {
    id: u64,
    login: String,
    name: Option<String>,
}

#[derive(Deserialize)]
struct GitHubEmail {
    email: String,
    primary: bool,
    verified: bool,
}

/// authd's redirect URI at the provider: `{issuer}/oauth/upstream/{id}/callback`.
pub fn redirect_uri(state: &AppState, provider: &UpstreamProvider) -> String {
    format!(
        "{}/oauth/upstream/{}/callback",
        state.config.issuer, provider.id
    )
}

fn oidc_client(
    provider: &UpstreamProvider,
    metadata: CoreProviderMetadata,
    redirect: &str,
) -> Result<
    CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
    UpstreamError,
> {
    Ok(CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(provider.client_id.clone()),
        Some(ClientSecret::new(
            provider.client_secret.expose_secret().to_owned(),
        )),
    )
    .set_redirect_uri(RedirectUrl::new(redirect.to_owned()).map_err(anyhow::Error::from)?))
}

/// An error and its causes on one line (reqwest hides the reason in its sources).
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
