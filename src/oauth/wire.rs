//! The OAuth wire types shared by the token endpoint's dispatcher and its grants: request
//! parameters, client authentication as presented, the token request by grant, and the token
//! response (RFC 6749 sections 3.2, 4 and 5.1; OIDC Core 3.1.3.3).

use std::collections::BTreeMap;

use serde::Serialize;

use super::OAuthError;
use super::client::{Client, GrantType};
use crate::signin::Issued;
use crate::state::AppState;
use crate::tokens::jwt::{self, IdTokenClaims};

/// Parameters of a token or authorization request, each present at most once (RFC 6749
/// section 3.1 and 3.2).
pub struct Params(BTreeMap<String, String>);

impl Params {
    pub fn parse(body: &[u8]) -> Result<Self, OAuthError> {
        let mut map = BTreeMap::new();
        for (k, v) in url::form_urlencoded::parse(body) {
            if v.chars().any(|c| c == '\0') {
                return Err(OAuthError::InvalidRequest(format!(
                    "parameter {k} holds a NUL character"
                )));
            }
            if map.insert(k.clone().into_owned(), v.into_owned()).is_some() {
                return Err(OAuthError::InvalidRequest(format!(
                    "parameter {k} is repeated"
                )));
            }
        }
        Ok(Self(map))
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    fn require(&self, key: &str) -> Result<&str, OAuthError> {
        self.get(key)
            .ok_or_else(|| OAuthError::InvalidRequest(format!("{key} is required")))
    }
}

/// How the client identified itself: HTTP Basic (`client_secret_basic`), body parameters
/// (`client_secret_post`), or `client_id` alone (public clients).
#[derive(Debug, Clone)]
pub struct ClientAuth {
    pub client_id: String,
    pub secret: Option<String>,
    pub basic: bool,
}

impl ClientAuth {
    /// Reads the credentials; using both methods at once is an error (RFC 6749 section 2.3).
    pub fn from_request(
        params: &Params,
        basic: Option<(String, String)>,
    ) -> Result<Option<Self>, OAuthError> {
        match (basic, params.get("client_id"), params.get("client_secret")) {
            (Some(_), _, Some(_)) => Err(OAuthError::InvalidRequest(
                "use one client authentication method".into(),
            )),
            (Some((id, secret)), body_id, None) => {
                if body_id.is_some_and(|b| b != id) {
                    return Err(OAuthError::InvalidRequest(
                        "client_id does not match the Authorization header".into(),
                    ));
                }
                Ok(Some(Self {
                    client_id: id,
                    secret: Some(secret).filter(|s| !s.is_empty()),
                    basic: true,
                }))
            }
            (None, Some(id), secret) => Ok(Some(Self {
                client_id: id.to_owned(),
                secret: secret.map(str::to_owned),
                basic: false,
            })),
            (None, None, Some(_)) => Err(OAuthError::InvalidRequest(
                "client_secret without client_id".into(),
            )),
            (None, None, None) => Ok(None),
        }
    }
}

/// A token request, by grant.
pub enum TokenRequest {
    Password {
        username: String,
        password: String,
        scope: Option<String>,
    },
    RefreshToken {
        refresh_token: String,
        scope: Option<String>,
        /// Required when the session was opened with one.
        device_id: Option<String>,
    },
    ClientCredentials {
        scope: Option<String>,
    },
    AuthorizationCode {
        code: String,
        redirect_uri: Option<String>,
        code_verifier: Option<String>,
    },
}

impl TokenRequest {
    pub fn parse(params: &Params) -> Result<Self, OAuthError> {
        let scope = params.get("scope").map(str::to_owned);
        match params.require("grant_type")? {
            "password" => Ok(TokenRequest::Password {
                username: params.require("username")?.to_owned(),
                password: params.require("password")?.to_owned(),
                scope,
            }),
            "refresh_token" => Ok(TokenRequest::RefreshToken {
                refresh_token: params.require("refresh_token")?.to_owned(),
                scope,
                device_id: params.get("device_id").map(str::to_owned),
            }),
            "client_credentials" => Ok(TokenRequest::ClientCredentials { scope }),
            "authorization_code" => Ok(TokenRequest::AuthorizationCode {
                code: params.require("code")?.to_owned(),
                redirect_uri: params.get("redirect_uri").map(str::to_owned),
                code_verifier: params.get("code_verifier").map(str::to_owned),
            }),
            other => Err(OAuthError::UnsupportedGrantType(format!(
                "grant_type {other} is not supported"
            ))),
        }
    }
}

/// The successful answer (RFC 6749 section 5.1, OIDC Core 3.1.3.3).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = OAuthTokenResponse, examples(json!({
    "access_token": "eyJhbGciOiJSUzI1NiIsImtpZCI6Ii4uLiJ9...",
    "token_type": "Bearer",
    "expires_in": 900,
    "refresh_token": "<refresh token>",
    "scope": "openid profile email",
    "id_token": "eyJhbGciOiJSUzI1NiIsImtpZCI6Ii4uLiJ9..."
})))]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

/// How a session's tokens came about, for whether a refresh token goes with them.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Minting {
    /// A code: a refresh token when the client may use it and, for a third-party client, when
    /// `offline_access` was granted (the consent page said "stay signed in"; OIDC Core 11).
    Code,
    /// The password grant: the user handed the client the password itself.
    Password,
    /// A rotation: the client holds a refresh token already and gets its successor, whatever
    /// scope it narrowed this access token to.
    Rotated,
}

/// Shapes a user session's tokens as the token endpoint answers: an ID token when `openid` was
/// granted, and the refresh token as `minting` says.
pub fn respond(
    state: &AppState,
    client: &Client,
    issued: Issued,
    nonce: Option<String>,
    minting: Minting,
) -> Result<TokenResponse, OAuthError> {
    let scopes: Vec<&str> = issued.session.scope.split_whitespace().collect();
    let id_token = if scopes.contains(&"openid") {
        let now = state.clock.now().timestamp();
        let claims = IdTokenClaims {
            iss: state.config.issuer.clone(),
            sub: issued.user.id.clone(),
            aud: client.id.clone(),
            exp: now + issued.expires_in as i64,
            iat: now,
            auth_time: issued.sign_in.auth_time_secs(),
            acr: issued.sign_in.level.as_str().to_owned(),
            amr: issued
                .sign_in
                .methods
                .values()
                .into_iter()
                .map(str::to_owned)
                .collect(),
            nonce,
            at_hash: jwt::at_hash(&issued.access_token),
            email: scopes
                .contains(&"email")
                .then(|| issued.user.email.clone())
                .flatten(),
            email_verified: scopes
                .contains(&"email")
                .then_some(issued.user.is_email_verified),
            name: scopes
                .contains(&"profile")
                .then(|| issued.user.full_name.clone())
                .flatten(),
            sid: Some(issued.session.id.clone()),
        };
        Some(
            jwt::sign_id_token(&state.keys, &claims, client.id_token_alg)
                .map_err(|e| OAuthError::ServerError(e.into()))?,
        )
    } else {
        None
    };
    Ok(TokenResponse {
        scope: issued.session.scope.clone(),
        refresh_token: (client.allows(GrantType::RefreshToken)
            && (minting != Minting::Code
                || client.first_party
                || scopes.contains(&"offline_access")))
        .then(|| issued.refresh_token.expose().to_owned()),
        access_token: issued.access_token,
        token_type: "Bearer",
        expires_in: issued.expires_in,
        id_token,
    })
}
