//! Revocation (RFC 7009) and introspection (RFC 7662) of the tokens authd issues: JWT access
//! tokens (denied by `jti` until they expire) and opaque refresh tokens (their session ends).

use serde_json::{Value, json};

use super::OAuthError;
use super::client::Client;
use crate::state::AppState;
use crate::storage::{clients, revocations, sessions};
use crate::tokens::OpaqueToken;
use crate::tokens::jwt::{self, Expiry};

fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3
}

/// Revokes `token` if it was issued to `client`. Unknown tokens, and other clients' tokens,
/// are answered the same way, without effect, so the answer tells nothing.
pub async fn revoke(state: &AppState, client: &Client, token: &str) -> Result<(), OAuthError> {
    let now = state.clock.now();
    if looks_like_jwt(token) {
        let claims = jwt::verify_access_token(
            &state.keys,
            token,
            &state.config.issuer,
            // Any audience: a resource server asks about the tokens issued for it too.
            None,
            now,
            Expiry::Ignore,
        );
        if let Ok(claims) = claims
            && claims.client_id == client.id
            && claims.exp > now.timestamp()
        {
            let expires = chrono::DateTime::from_timestamp(claims.exp, 0)
                .unwrap_or(now)
                .naive_utc();
            revocations::revoke_access_token(&state.db, &claims.jti, expires).await?;
        }
        return Ok(());
    }
    if let Some(token) = OpaqueToken::from_presented(token)
        && let Some((_, session)) =
            sessions::find_refresh_token_session(&state.db, &token, now.naive_utc()).await?
        && session.client_id == client.id
    {
        sessions::revoke_session(&state.db, &session.id, now.naive_utc(), None).await?;
    }
    Ok(())
}

/// What `caller` learns about a token: `{"active": false}` unless authd would accept it right
/// now and `caller` may know of it: the client it was issued to, or a client registered as a
/// resource server (`can_introspect`). Others learn nothing (RFC 7662 section 4).
pub async fn introspect(
    state: &AppState,
    caller: &Client,
    token: &str,
) -> Result<Value, OAuthError> {
    let answer = introspect_any(state, token).await?;
    let may_see = caller.can_introspect || answer["client_id"].as_str() == Some(caller.id.as_str());
    if may_see {
        Ok(answer)
    } else {
        Ok(json!({"active": false}))
    }
}

async fn introspect_any(state: &AppState, token: &str) -> Result<Value, OAuthError> {
    let now = state.clock.now();
    let inactive = json!({"active": false});
    if looks_like_jwt(token) {
        let Ok(claims) = jwt::verify_access_token(
            &state.keys,
            token,
            &state.config.issuer,
            // Any audience: a resource server asks about the tokens issued for it too.
            None,
            now,
            Expiry::Enforce,
        ) else {
            return Ok(inactive);
        };
        if revocations::is_revoked(&state.db, &claims.jti).await? {
            return Ok(inactive);
        }
        let live = match &claims.sid {
            Some(sid) => sessions::find_live_session(&state.db, sid, now.naive_utc())
                .await?
                .is_some(),
            // A client's own token lives as long as the client is registered.
            None => clients::find_client(&state.db, &claims.client_id)
                .await?
                .is_some(),
        };
        if !live {
            return Ok(inactive);
        }
        // A DPoP-bound token says so, and to which key (RFC 9449 section 6.2): the resource
        // server checks the request's proof against it.
        let token_type = if claims.cnf.is_some() {
            "DPoP"
        } else {
            "Bearer"
        };
        let mut answer = json!({
            "active": true,
            "token_type": token_type,
            "scope": claims.scope,
            "client_id": claims.client_id,
            "sub": claims.sub,
            "aud": claims.aud,
            "iss": claims.iss,
            "exp": claims.exp,
            "iat": claims.iat,
            "jti": claims.jti,
        });
        if let Some(sid) = claims.sid {
            answer["sid"] = sid.into();
        }
        if let Some(role) = claims.role {
            answer["role"] = role.into();
        }
        if let Some(cnf) = claims.cnf {
            answer["cnf"] = json!({"jkt": cnf.jkt});
        }
        return Ok(answer);
    }
    let Some(token) = OpaqueToken::from_presented(token) else {
        return Ok(inactive);
    };
    match sessions::find_refresh_token_session(&state.db, &token, now.naive_utc()).await? {
        Some((row, session)) if row.retired_at.is_none() && row.expires_at > now.naive_utc() => {
            Ok(json!({
                "active": true,
                "token_type": "refresh_token",
                "scope": session.scope,
                "client_id": session.client_id,
                "sub": session.user_id,
                "iss": state.config.issuer,
                "exp": row.expires_at.and_utc().timestamp(),
                "iat": row.created_at.and_utc().timestamp(),
                "sid": session.id,
            }))
        }
        _ => Ok(inactive),
    }
}
