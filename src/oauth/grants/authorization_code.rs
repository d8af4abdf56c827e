//! The authorization_code grant with PKCE (RFC 6749 section 4.1, RFC 7636), both legs: the
//! authorization request (validated by oxide-auth's authorization state machine, answered in
//! the request's response mode) and the code's redemption at the token endpoint (oxide-auth's
//! access-token state machine over authd's codes, clients and sessions).

use crate::accounts::AccountError;
use crate::oauth::OAuthError;
use crate::oauth::client::{Client, ClientType, GrantType};
use crate::oauth::grants::asked::Asked;
use crate::oauth::oxide::{
    self, Authorization, CodeRequest, Endpoint, IssueFor, Minted, Redemption, Refused,
};
use crate::oauth::wire::{ClientAuth, Minting, Params, TokenResponse, respond};
use crate::signin::{ClientMeta, SignIn};
use crate::state::AppState;
use crate::storage::codes;
use crate::tokens::OpaqueToken;

/// Why an authorization request cannot go on.
#[derive(Debug)]
pub enum AuthorizeError {
    /// Shown to the user on authd's own page: the client or redirect URI could not be trusted,
    /// so nothing is sent to it (RFC 6749 section 4.1.2.1).
    Page(String),
    /// Sent back to the client's verified redirect URI (`error`, `state`), in the request's
    /// response mode.
    Redirect(ClientRedirect),
    Server(anyhow::Error),
}

/// How the answer reaches the redirect URI (OAuth 2.0 Multiple Response Types, Form Post
/// Response Mode).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ResponseMode {
    /// In the query: the default for `response_type=code`.
    #[default]
    Query,
    /// In the fragment: never sent to the client's server in a request line or a log.
    Fragment,
    /// POSTed by the browser as a form: nothing in any URL.
    FormPost,
}

impl ResponseMode {
    /// The request's `response_mode`; `None` for one authd does not know.
    pub fn of(params: &AuthorizeParams) -> Option<Self> {
        match params.get("response_mode") {
            None | Some("query") => Some(Self::Query),
            Some("fragment") => Some(Self::Fragment),
            Some("form_post") => Some(Self::FormPost),
            Some(_) => None,
        }
    }
}

/// An answer for the client: the redirect URI with the response parameters in its query,
/// and how to deliver them.
#[derive(Clone, Debug)]
pub struct ClientRedirect {
    pub url: String,
    pub mode: ResponseMode,
}

/// A flow's failure, its cause kept whole (an unreachable database still reads as one).
impl From<AccountError> for AuthorizeError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Unexpected(cause) => AuthorizeError::Server(cause),
            other => AuthorizeError::Server(anyhow::Error::new(other)),
        }
    }
}

impl From<crate::signin::SignInError> for AuthorizeError {
    fn from(e: crate::signin::SignInError) -> Self {
        AuthorizeError::from(AccountError::from(e))
    }
}

/// The query of an authorization request, each parameter at most once.
pub struct AuthorizeParams(Params);

impl AuthorizeParams {
    pub fn parse(query: &str) -> Result<Self, AuthorizeError> {
        Params::parse(query.as_bytes()).map(Self).map_err(|e| {
            AuthorizeError::Page(format!(
                "The sign-in link is damaged ({}).",
                e.description()
            ))
        })
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key)
    }

    /// The request as one query string, to carry through the sign-in and consent forms.
    pub fn to_query(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.0.iter())
            .finish()
    }
}

/// An authorization request oxide-auth found valid, waiting for the user to sign in and agree.
pub struct PendingAuthorization {
    endpoint: Endpoint,
    pending: Authorization,
    pub client: Client,
    pub scope: String,
    /// The registered redirect URI the answer will go to.
    pub redirect_uri: String,
    pub response_mode: ResponseMode,
}

fn redirect_of(refused: Refused, mode: ResponseMode) -> AuthorizeError {
    match refused {
        Refused::Redirect(url) => AuthorizeError::Redirect(ClientRedirect {
            url: url.to_string(),
            mode,
        }),
        Refused::Unverified => AuthorizeError::Page(
            "The application's sign-in link is not set up correctly: the address it asks \
                 to return to is not registered."
                .into(),
        ),
        Refused::Primitive => {
            AuthorizeError::Server(anyhow::anyhow!("authorization primitive failed"))
        }
    }
}

/// Validates an authorization request (client, exact redirect URI, response type, scope, PKCE)
/// through oxide-auth's authorization state machine.
pub async fn start_authorization(
    state: &AppState,
    params: &AuthorizeParams,
) -> Result<PendingAuthorization, AuthorizeError> {
    let mut endpoint = Endpoint::new(state, IssueFor::Client);
    let client_id = params.get("client_id").ok_or_else(|| {
        AuthorizeError::Page(
            "The sign-in link does not say which application it is for (no client_id).".into(),
        )
    })?;
    let client = endpoint
        .registrar
        .registered(client_id)
        .await
        .map_err(AuthorizeError::Server)?
        .ok_or_else(|| {
            AuthorizeError::Page(
                "The sign-in link names an application that is not registered here.".into(),
            )
        })?;
    if !client.allows(GrantType::AuthorizationCode) {
        return Err(AuthorizeError::Page(
            "This application is not allowed to sign people in through this page.".into(),
        ));
    }
    if params.get("redirect_uri").is_none() && client.redirect_uris.len() > 1 {
        return Err(AuthorizeError::Page(
            "The sign-in link does not say where to return (no redirect_uri), and this \
             application has several addresses."
                .into(),
        ));
    }
    endpoint.record_pkce.require_pkce = client.client_type == ClientType::Public;
    // An unknown mode is refused (by the caller) in the default one.
    let response_mode = ResponseMode::of(params).unwrap_or_default();
    endpoint.authorizer.redirect_uri_given = params.get("redirect_uri").is_some();
    let pending = oxide::authorize(&mut endpoint, &params.0)
        .await
        .map_err(|e| redirect_of(e, response_mode))?;
    Ok(PendingAuthorization {
        endpoint,
        scope: pending.scope.clone(),
        redirect_uri: pending.redirect_uri.clone(),
        pending,
        client,
        response_mode,
    })
}

impl PendingAuthorization {
    /// The user agreed: a code for them, in the redirect back to the client.
    pub async fn approve(mut self, sign_in: &SignIn) -> Result<ClientRedirect, AuthorizeError> {
        self.endpoint.authorizer.sign_in_id = Some(sign_in.id.clone());
        let mode = self.response_mode;
        match self
            .pending
            .approve(&mut self.endpoint, &sign_in.user_id)
            .await
        {
            Ok(url) => Ok(ClientRedirect {
                url: url.to_string(),
                mode,
            }),
            Err(e) => Err(redirect_of(e, mode)),
        }
    }

    /// An OAuth error back to the client (OIDC Core 3.1.2.6: `login_required`,
    /// `consent_required`, ...), with the request's `state`.
    pub fn error(&self, error: &str, description: &str, state: Option<&str>) -> AuthorizeError {
        let Ok(mut url) = url::Url::parse(&self.redirect_uri) else {
            return AuthorizeError::Page("The application's return address is not usable.".into());
        };
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("error", error);
            query.append_pair("error_description", description);
            if let Some(state) = state {
                query.append_pair("state", state);
            }
        }
        AuthorizeError::Redirect(ClientRedirect {
            url: url.to_string(),
            mode: self.response_mode,
        })
    }

    /// The user declined: `access_denied` back to the client.
    pub fn deny(self) -> AuthorizeError {
        let mode = self.response_mode;
        match self.pending.deny() {
            Ok(url) => AuthorizeError::Redirect(ClientRedirect {
                url: url.to_string(),
                mode,
            }),
            Err(e) => redirect_of(e, mode),
        }
    }
}

/// The authorization_code grant (RFC 6749 section 4.1.3 with RFC 7636 PKCE) through
/// oxide-auth's access-token state machine: the code is redeemed once, by its client, with its
/// redirect URI and verifier, and opens a session for its user.
pub async fn grant(
    state: &AppState,
    auth: ClientAuth,
    code: &str,
    redirect_uri: Option<&str>,
    code_verifier: Option<&str>,
    mut meta: ClientMeta,
    asked: Asked<'_>,
) -> Result<TokenResponse, OAuthError> {
    // Who asks is established before anything about the client is said.
    let client = crate::oauth::client_auth::authenticate(state, &auth).await?;
    meta.dpop = crate::oauth::grants::asked::binding(&client, asked.key)?;
    // A `resource` here must be the one the authorization request named (RFC 8707 section 2.2).
    if let Some(resource) = asked.resource {
        let granted = match OpaqueToken::from_presented(code) {
            Some(token) => codes::find_code(&state.db, &token.hash())
                .await?
                .and_then(|row| row.resource),
            None => None,
        };
        if granted.as_deref() != Some(resource.identifier.as_str()) {
            return Err(OAuthError::InvalidTarget(
                "resource is not the one the authorization request named".into(),
            ));
        }
    }
    let mut endpoint = Endpoint::new(state, IssueFor::CodeOwner(meta));
    endpoint.redeems = "authorization code";
    if !client.allows(GrantType::AuthorizationCode) {
        return Err(OAuthError::UnauthorizedClient(
            "this client may not use the authorization_code grant".into(),
        ));
    }
    endpoint.registrar.knows(&client);
    // The token request repeats `redirect_uri` only when the authorization request named it
    // (RFC 6749 section 4.1.3); otherwise the code's own stands in.
    let stored;
    // Compared with the code's in canonical form, as the authorization request's was.
    let canonical = redirect_uri.map(crate::oauth::client::canonical_uri);
    let redirect_uri = match canonical.as_deref() {
        Some(uri) => Some(uri),
        None => match OpaqueToken::from_presented(code) {
            Some(token) => match codes::find_code(&state.db, &token.hash()).await? {
                Some(row) if !row.redirect_uri_given => {
                    stored = row.redirect_uri;
                    Some(stored.as_str())
                }
                Some(_) => {
                    return Err(OAuthError::InvalidRequest(
                        "redirect_uri is required: the authorization request named one".into(),
                    ));
                }
                None => None,
            },
            None => None,
        },
    };
    endpoint.authorizer.redeeming = Some(Redemption {
        client_id: auth.client_id.clone(),
        redirect_uri: redirect_uri.map(str::to_owned),
        code_verifier: code_verifier.map(str::to_owned),
    });
    let request = CodeRequest {
        code,
        client_id: &auth.client_id,
        secret: auth.secret.as_deref().filter(|s| !s.is_empty()),
        redirect_uri,
        code_verifier,
    };
    let Minted::Code { issued, nonce } =
        oxide::redeem_code(&mut endpoint, &request, auth.basic).await?
    else {
        return Err(OAuthError::ServerError(anyhow::anyhow!(
            "the code minted something other than a session"
        )));
    };
    respond(state, &client, *issued, nonce, Minting::Code)
}
