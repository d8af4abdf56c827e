//! The authorization endpoint's decision (OIDC Core 3.1.2): from the request, the browser's
//! sign-in and the remembered consent, what happens next. [`decide`] computes it without any
//! I/O, so every combination is tested in-process; [`decision`] gathers its inputs; the HTTP
//! side only renders the answer (`http/authorize`).

use chrono::{NaiveDateTime, TimeDelta};

use super::grants::authorization_code::ResponseMode;
use super::grants::authorization_code::{AuthorizeError, AuthorizeParams, PendingAuthorization};
use crate::accounts;
use crate::domain::Level;
use crate::signin::{BrowserSignIn, SignIn};
use crate::state::AppState;

/// What happens next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// The person signs in (again): the sign-in page, saying why.
    SignIn(Reason),
    /// The person is asked to allow the client.
    Consent,
    /// A code under the browser's sign-in goes back to the client.
    Approve,
    /// The client or the policy needs a second factor the person has not set up: the account
    /// page, to set one up and come back.
    Enroll,
    /// An error goes back to the client (OIDC Core 3.1.2.6, RFC 6749 section 4.1.2.1).
    Refuse {
        error: &'static str,
        description: &'static str,
    },
}

/// Why the person must sign in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The browser holds no sign-in.
    NotSignedIn,
    /// `prompt=login` (or `select_account`).
    Asked,
    /// The sign-in is older than `max_age`.
    TooOld,
    /// `id_token_hint` names someone else.
    OtherUser,
    /// `acr_values` asks for more than the sign-in proved.
    Level,
}

/// Whether the user has allowed the client what it asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Consent {
    /// A first-party client: authd's own, nobody is asked.
    NotNeeded,
    /// Allowed before, every scope asked.
    Given,
    Missing,
}

/// What the request asks of the sign-in (OIDC Core 3.1.2.1), parsed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Asked {
    /// `prompt=none`: no page may be shown.
    pub none: bool,
    /// `prompt=login` or `select_account` (one account per browser: choosing is signing in).
    pub login: bool,
    /// `prompt=consent`: ask even where it would be skipped.
    pub consent: bool,
    /// `max_age`: the sign-in may be at most this old (`None` past any representable age).
    pub max_age: Option<TimeDelta>,
    /// `acr_values` that authd knows, in the order asked.
    pub acr_values: Vec<Level>,
    /// The `sub` of a valid `id_token_hint` issued to this client.
    pub hint_sub: Option<String>,
    /// `login_hint`: only fills in the sign-in form; never changes the decision.
    pub login_hint: Option<String>,
}

/// The browser's sign-in as the decision sees it.
#[derive(Clone, Copy, Debug)]
pub struct Browser<'a> {
    pub sign_in: &'a SignIn,
    /// Made by this very request's sign-in form: it answers `prompt=login` and `max_age`.
    pub fresh: bool,
}

impl Asked {
    /// The prompt and the sign-in's limits; `Err` is the `invalid_request` description.
    pub fn parse(params: &AuthorizeParams) -> Result<Self, &'static str> {
        let words: Vec<&str> = params
            .get("prompt")
            .map(|p| p.split_whitespace().collect())
            .unwrap_or_default();
        if words
            .iter()
            .any(|w| !matches!(*w, "none" | "login" | "consent" | "select_account"))
        {
            return Err("prompt holds an unknown value");
        }
        let none = words.contains(&"none");
        if none && words.len() > 1 {
            return Err("prompt=none cannot be combined with other values");
        }
        let max_age = match params.get("max_age") {
            Some(raw) => {
                let secs = raw
                    .parse::<i64>()
                    .ok()
                    .filter(|n| *n >= 0)
                    .or_else(|| raw.bytes().all(|b| b.is_ascii_digit()).then_some(i64::MAX))
                    .ok_or("max_age must be a number of seconds")?;
                // Past what a duration holds, no sign-in is too old.
                TimeDelta::try_seconds(secs)
            }
            None => None,
        };
        Ok(Self {
            none,
            login: words.contains(&"login") || words.contains(&"select_account"),
            consent: words.contains(&"consent"),
            max_age,
            acr_values: params
                .get("acr_values")
                .map(|v| v.split_whitespace().filter_map(Level::parse).collect())
                .unwrap_or_default(),
            hint_sub: None,
            login_hint: params
                .get("login_hint")
                .filter(|h| h.len() <= 320)
                .map(str::to_owned),
        })
    }

    /// The least level asked for that a sign-in here can reach (`reach`), if any: `acr_values`
    /// are voluntary (OIDC Core 5.5.1.1), so a level beyond reach is not insisted on, and the
    /// ID token's `acr` says what was met.
    fn wanted_level(&self, reach: Level) -> Option<Level> {
        self.acr_values
            .iter()
            .copied()
            .filter(|l| *l <= reach)
            .min()
    }
}

const LOGIN_REQUIRED: &str = "login_required";

/// The levels of assurance in play: the highest this person can reach here (a second factor
/// only with one set up), and the least the client (`--require-mfa`) or the policy
/// (`AUTHD_REQUIRE_MFA_FOR`) insists on, whatever the request says.
#[derive(Clone, Copy, Debug)]
pub struct Levels {
    pub reach: Level,
    pub required: Level,
}

impl Levels {
    /// Nothing insisted on beyond a sign-in.
    pub fn within(reach: Level) -> Self {
        Self {
            reach,
            required: Level::Single,
        }
    }
}

/// The decision: see the module's documentation.
pub fn decide(
    asked: &Asked,
    browser: Option<Browser<'_>>,
    consent: Consent,
    levels: Levels,
    now: NaiveDateTime,
) -> Decision {
    let sign_in_again = |reason: Reason| {
        if asked.none {
            Decision::Refuse {
                error: LOGIN_REQUIRED,
                description: match reason {
                    Reason::NotSignedIn => "The user is not signed in",
                    Reason::OtherUser => "The user id_token_hint names is not signed in",
                    _ => "The user must sign in again",
                },
            }
        } else {
            Decision::SignIn(reason)
        }
    };
    let Some(Browser { sign_in, fresh }) = browser else {
        return sign_in_again(Reason::NotSignedIn);
    };
    if asked
        .hint_sub
        .as_ref()
        .is_some_and(|sub| *sub != sign_in.user_id)
    {
        return if fresh {
            // The person chose another account than the client expected: the client decides.
            Decision::Refuse {
                error: LOGIN_REQUIRED,
                description: "The user who signed in is not the one id_token_hint names",
            }
        } else {
            sign_in_again(Reason::OtherUser)
        };
    }
    // Insisted on, and out of reach: a factor must be set up first (no page with prompt=none).
    if levels.required > levels.reach && sign_in.level < levels.required {
        return if asked.none {
            Decision::Refuse {
                error: "interaction_required",
                description: "The user must set up a second factor first",
            }
        } else {
            Decision::Enroll
        };
    }
    if !fresh {
        if asked.login {
            return sign_in_again(Reason::Asked);
        }
        // Exact elapsed time: a sign-in 0.1 s old is older than max_age=0.
        if asked
            .max_age
            .is_some_and(|max| now - sign_in.auth_time > max)
        {
            return sign_in_again(Reason::TooOld);
        }
        let wanted = asked
            .wanted_level(levels.reach)
            .map_or(levels.required, |w| w.max(levels.required));
        if sign_in.level < wanted {
            return sign_in_again(Reason::Level);
        }
    }
    match consent {
        Consent::NotNeeded | Consent::Given if !asked.consent => Decision::Approve,
        _ if asked.none => Decision::Refuse {
            error: "consent_required",
            description: "The user has not allowed this application yet",
        },
        _ => Decision::Consent,
    }
}

/// Request features authd does not offer, answered as OIDC Core 6 and OAuth 2.0 Multiple
/// Response Types say, rather than silently ignored.
fn unsupported(params: &AuthorizeParams) -> Option<(&'static str, &'static str)> {
    if params.get("request").is_some() {
        return Some(("request_not_supported", "Request objects are not supported"));
    }
    if params.get("request_uri").is_some() {
        return Some(("request_uri_not_supported", "request_uri is not supported"));
    }
    match ResponseMode::of(params) {
        Some(_) => None,
        None => Some((
            "invalid_request",
            "response_mode must be query, fragment or form_post",
        )),
    }
}

/// `resource` (RFC 8707): a registered resource server whose scopes cover the request's (the
/// user scopes aside); the code, and the session it opens, are then for it.
async fn resource_refusal(
    state: &AppState,
    params: &AuthorizeParams,
    pending: &PendingAuthorization,
) -> Result<Option<(&'static str, &'static str)>, AuthorizeError> {
    let Some(identifier) = params.get("resource") else {
        return Ok(None);
    };
    let found = crate::storage::resources::find_resource(&state.db, identifier)
        .await
        .map_err(|e| AuthorizeError::Server(e.into()))?;
    let Some(resource) = found.map(crate::oauth::resource::Resource::from) else {
        return Ok(Some((
            "invalid_target",
            "resource is not a registered resource server",
        )));
    };
    if resource.admits(pending.scope.split_whitespace()).is_err() {
        return Ok(Some((
            "invalid_scope",
            "a requested scope is not one of the resource server's",
        )));
    }
    Ok(None)
}

/// `id_token_hint`: the `sub` of an ID token authd issued to this client; anything else is an
/// invalid request.
fn hinted_sub(
    state: &AppState,
    params: &AuthorizeParams,
    pending: &PendingAuthorization,
) -> Result<Option<String>, &'static str> {
    let Some(hint) = params.get("id_token_hint") else {
        return Ok(None);
    };
    match crate::tokens::jwt::verify_id_token_hint(
        &state.keys,
        hint,
        &state.config.issuer,
        state.clock.now(),
    ) {
        Ok(claims) if claims.aud == pending.client.id => Ok(Some(claims.sub)),
        _ => Err("id_token_hint is not an ID token issued to this client"),
    }
}

/// Gathers the decision's inputs for a validated request and decides. `browser` is the
/// browser's sign-in; `fresh` when this request's own sign-in form made it.
pub async fn decision(
    state: &AppState,
    params: &AuthorizeParams,
    pending: &PendingAuthorization,
    browser: Option<&BrowserSignIn>,
    fresh: bool,
) -> Result<Decision, AuthorizeError> {
    let refuse = |error, description| Ok(Decision::Refuse { error, description });
    if let Some((error, description)) = unsupported(params) {
        return refuse(error, description);
    }
    if let Some((error, description)) = resource_refusal(state, params, pending).await? {
        return refuse(error, description);
    }
    let mut asked = match Asked::parse(params) {
        Ok(asked) => asked,
        Err(why) => return refuse("invalid_request", why),
    };
    asked.hint_sub = match hinted_sub(state, params, pending) {
        Ok(sub) => sub,
        Err(why) => return refuse("invalid_request", why),
    };
    let consent = match browser {
        _ if pending.client.first_party => Consent::NotNeeded,
        Some(b) => {
            let covered =
                accounts::consent::covers(state, &b.user.id, &pending.client.id, &pending.scope)
                    .await
                    .map_err(AuthorizeError::from)?;
            if covered {
                Consent::Given
            } else {
                Consent::Missing
            }
        }
        None => Consent::Missing,
    };
    // A second factor is within reach of a person who has one; the client or the policy may
    // insist on it.
    let reach = match browser {
        Some(b)
            if !crate::signin::active_factors(state, &b.user.id)
                .await
                .map_err(AuthorizeError::from)?
                .is_empty() =>
        {
            Level::Multi
        }
        _ => Level::Single,
    };
    let required = match browser {
        Some(b)
            if pending.client.require_mfa || state.config.require_mfa_for.covers(&b.user.role) =>
        {
            Level::Multi
        }
        _ => Level::Single,
    };
    Ok(decide(
        &asked,
        browser.map(|b| Browser {
            sign_in: &b.sign_in,
            fresh,
        }),
        consent,
        Levels { reach, required },
        state.clock.now_naive(),
    ))
}

#[cfg(test)]
mod tests;
