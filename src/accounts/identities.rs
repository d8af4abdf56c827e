//! What another provider's word means for authd's accounts: the linking rules.
//!
//! - An identity linked already signs its account in.
//! - A signed-in person may link an identity to her own account.
//! - Otherwise the provider's email decides, and only a verified one: no account has it → a
//!   new account (no password; the person may set one by reset), with any pending sign-up of
//!   that address dropped, so whoever started it gains nothing; an account has it → **not**
//!   linked until the person proves that account, by its password or by a link mailed to it
//!   and opened in the same browser. An unverified email, one outside the provider's allowed
//!   domains, or a provider that may not create accounts, ends with a page saying why.
//! - Linking and unlinking tell the account's address; the last way to sign in (no password,
//!   no passkey, no other identity) cannot be unlinked.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::{AccountError, LoginOutcome};
use crate::config::UpstreamProvider;
use crate::domain::{EmailAddress, Method, Methods, Role};
use crate::i18n::{Lang, Text};
use crate::signin::upstream::{Asserted, Intent, Return};
use crate::signin::{self, ClientMeta, Proof};
use crate::state::AppState;
use crate::storage::identities::{self as store, Unlinked};
use crate::storage::one_time_tokens::{
    self, PURPOSE_LINK_IDENTITY, PURPOSE_LINK_IDENTITY_EMAIL, PURPOSE_UPSTREAM_LOGIN,
};
use crate::storage::users::{self, UserKey};
use crate::storage::{IdentityRow, OneTimeTokenRow, UserRow};
use crate::t;
use crate::tokens::{OpaqueToken, TokenHash};

/// How long a person has to prove the account an identity would join.
pub const LINK_TTL: chrono::Duration = chrono::Duration::minutes(30);
/// How long a frontend has to exchange its one-time code.
pub const LOGIN_CODE_TTL: chrono::Duration = chrono::Duration::minutes(2);
const SEAL_LABEL: &str = "identity to link";

/// What a provider's answer leads to.
pub enum Resolved {
    /// Sign this account in with these methods.
    SignIn { user: UserRow, methods: Methods },
    /// The identity now belongs to the signed-in person's account; go `back`.
    Linked { user: UserRow, back: String },
    /// An account has the provider's verified address: its person proves it first (the
    /// token names the pending link, for this browser only).
    Prove { token: OpaqueToken },
}

/// A link waiting for its proof, as kept (sealed) in its token.
#[derive(Serialize, Deserialize)]
struct PendingLink {
    asserted: Asserted,
    /// The hash of the browser id of the browser that may finish it.
    browser: String,
    back: Return,
}

/// The upstream methods that count beside `fed`: only a multi-factor answer adds to what a
/// provider's single sign-in is (one factor).
fn methods_of(asserted: &Asserted) -> Methods {
    let reported = Methods::new(asserted.methods.iter().copied());
    if reported.level() >= crate::domain::Level::Multi {
        Methods::new(reported.iter().chain([Method::Fed]))
    } else {
        Methods::new([Method::Fed])
    }
}

fn provider_named<'a>(state: &'a AppState, id: &str) -> Option<&'a UpstreamProvider> {
    state.config.upstream.iter().find(|p| p.id == id)
}

/// The provider's email, when it may vouch for it: verified, a valid address, in the
/// provider's allowed domains.
fn vouched_email(provider: &UpstreamProvider, asserted: &Asserted) -> Result<EmailAddress, Text> {
    let email = asserted
        .email
        .as_deref()
        .filter(|_| asserted.email_verified)
        .and_then(|e| EmailAddress::parse(e).ok())
        .ok_or_else(|| {
            Text::new(t!("upstream-no-verified-email")).arg("provider", &provider.name)
        })?;
    domain_allowed(provider, &email)?;
    Ok(email)
}

fn domain_allowed(provider: &UpstreamProvider, email: &EmailAddress) -> Result<(), Text> {
    let Some(domains) = &provider.email_domains else {
        return Ok(());
    };
    let normalized = email.normalized();
    let domain = normalized.rsplit_once('@').map_or("", |(_, d)| d);
    if domains.iter().any(|d| d == domain) {
        Ok(())
    } else {
        Err(Text::new(t!("upstream-domain-not-allowed"))
            .arg("provider", &provider.name)
            .arg("domain", domain))
    }
}

/// Applies the linking rules to what `provider` asserted, for the browser whose id hashes to
/// `browser`. A refusal is `AccountError::NotAllowed`-like: `Err(Refused(message))`.
pub async fn resolve(
    state: &AppState,
    provider: &UpstreamProvider,
    asserted: Asserted,
    intent: Intent,
    browser: &TokenHash,
) -> Result<Resolved, Refusal> {
    let now = state.clock.now_naive();
    let known = store::find(&state.db, &provider.id, &asserted.subject).await?;
    match (known, intent) {
        (Some((identity, user)), Intent::SignIn(_)) => {
            if !user.is_active {
                return Err(Refusal::Said(t!("upstream-account-disabled").into()));
            }
            store::touch(
                &state.db,
                &identity.id,
                asserted.email.as_deref(),
                asserted.email_verified,
                now,
            )
            .await?;
            Ok(Resolved::SignIn {
                methods: methods_of(&asserted),
                user,
            })
        }
        (Some((_, user)), Intent::Link { user_id, back }) => {
            if user.id == user_id {
                Ok(Resolved::Linked { user, back })
            } else {
                Err(Refusal::Said(
                    Text::new(t!("upstream-linked-elsewhere")).arg("provider", &provider.name),
                ))
            }
        }
        (None, Intent::Link { user_id, back }) => {
            if let Some(email) = asserted
                .email
                .as_deref()
                .and_then(|e| EmailAddress::parse(e).ok())
            {
                domain_allowed(provider, &email).map_err(Refusal::Said)?;
            }
            let user = users::find_user(&state.db, UserKey::Id(&user_id))
                .await?
                .ok_or_else(|| Refusal::Said(t!("upstream-sign-in-ended").into()))?;
            link(state, provider, &user, &asserted).await?;
            Ok(Resolved::Linked { user, back })
        }
        (None, Intent::SignIn(back)) => {
            let email = vouched_email(provider, &asserted).map_err(Refusal::Said)?;
            let existing = users::find_user(&state.db, UserKey::Email(&email.normalized())).await?;
            if existing.is_some() {
                let token = hold_link(state, &asserted, browser, back).await?;
                return Ok(Resolved::Prove { token });
            }
            if !provider.allow_signup {
                return Err(Refusal::Said(
                    Text::new(t!("upstream-no-account"))
                        .arg("email", email.as_str())
                        .arg("provider", &provider.name),
                ));
            }
            let user = create_account(state, &asserted, &email).await?;
            Ok(Resolved::SignIn {
                methods: methods_of(&asserted),
                user,
            })
        }
    }
}

/// Why a provider's answer leads nowhere: said to the person, or a fault.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("{}", .0.in_(Lang::En))]
    Said(Text),
    /// The password offered to prove the account is not its password (its page asks again).
    #[error("that password is not right")]
    WrongPassword,
    #[error(transparent)]
    Failed(#[from] AccountError),
}

impl From<crate::storage::StorageError> for Refusal {
    fn from(e: crate::storage::StorageError) -> Self {
        Refusal::Failed(e.into())
    }
}

async fn create_account(
    state: &AppState,
    asserted: &Asserted,
    email: &EmailAddress,
) -> Result<UserRow, Refusal> {
    let now = state.clock.now_naive();
    let name = asserted
        .name
        .as_deref()
        .map(|n| {
            n.chars()
                .filter(|c| !c.is_control())
                .take(100)
                .collect::<String>()
        })
        .filter(|n| !n.trim().is_empty());
    let user = UserRow {
        id: crate::domain::UserId::new().to_string(),
        email: Some(email.as_str().to_owned()),
        email_normalized: Some(email.normalized()),
        pending_email: None,
        username: None,
        full_name: name,
        first_name: None,
        last_name: None,
        phone: None,
        password_hash: None,
        role: Role::Customer.as_str().to_owned(),
        is_email_verified: true,
        is_active: true,
        is_anonymous: false,
        created_at: now,
        updated_at: now,
        last_login_at: None,
    };
    let identity = identity_row(&user.id, asserted, now);
    match store::create_account(&state.db, &user, &identity).await? {
        Some(user) => Ok(user),
        None => Err(Refusal::Said(t!("upstream-just-made").into())),
    }
}

fn identity_row(user_id: &str, asserted: &Asserted, now: chrono::NaiveDateTime) -> IdentityRow {
    IdentityRow {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: user_id.to_owned(),
        provider: asserted.provider.clone(),
        subject: asserted.subject.clone(),
        email: asserted.email.clone(),
        email_verified: asserted.email_verified,
        created_at: now,
        last_used_at: Some(now),
    }
}

/// Links the identity to `user` and tells the account's address.
async fn link(
    state: &AppState,
    provider: &UpstreamProvider,
    user: &UserRow,
    asserted: &Asserted,
) -> Result<(), Refusal> {
    let row = identity_row(&user.id, asserted, state.clock.now_naive());
    if !store::link(&state.db, &row).await? {
        return Err(Refusal::Said(
            Text::new(t!("upstream-linked-elsewhere")).arg("provider", &provider.name),
        ));
    }
    signin::factors::notice(
        state,
        user,
        Text::new(t!("email-identity-linked-subject")).arg("provider", &provider.name),
        match asserted.email.as_deref() {
            Some(email) => Text::new(t!("email-identity-linked-intro-email"))
                .arg("provider", &provider.name)
                .arg("email", email),
            None => Text::new(t!("email-identity-linked-intro")).arg("provider", &provider.name),
        },
    )
    .await
    .map_err(AccountError::from)?;
    Ok(())
}

async fn hold_link(
    state: &AppState,
    asserted: &Asserted,
    browser: &TokenHash,
    back: Return,
) -> Result<OpaqueToken, Refusal> {
    let pending = PendingLink {
        asserted: asserted.clone(),
        browser: browser.as_str().to_owned(),
        back,
    };
    let token = OpaqueToken::generate();
    let user = users::find_user(
        &state.db,
        UserKey::Email(
            &EmailAddress::parse(asserted.email.as_deref().unwrap_or_default())
                .map_err(|e| AccountError::Unexpected(anyhow::anyhow!("{e}")))?
                .normalized(),
        ),
    )
    .await?
    .ok_or_else(|| Refusal::Said(t!("upstream-no-such-account").into()))?;
    store_link(state, &token, PURPOSE_LINK_IDENTITY, &user.id, &pending).await?;
    Ok(token)
}

async fn store_link(
    state: &AppState,
    token: &OpaqueToken,
    purpose: &str,
    user_id: &str,
    pending: &PendingLink,
) -> Result<(), AccountError> {
    let sealed = state
        .sealer
        .seal(
            SEAL_LABEL,
            &serde_json::to_vec(pending).map_err(anyhow::Error::from)?,
        )
        .map_err(|e| anyhow::anyhow!("sealing a pending link: {e}"))?;
    let now = state.clock.now_naive();
    one_time_tokens::insert_one_time_token(
        &state.db,
        &OneTimeTokenRow {
            token_hash: token.hash().as_str().to_owned(),
            purpose: purpose.to_owned(),
            subject: user_id.to_owned(),
            created_at: now,
            expires_at: now + LINK_TTL,
            consumed_at: None,
            payload: Some(URL_SAFE_NO_PAD.encode(sealed)),
        },
    )
    .await?;
    Ok(())
}

fn open_link(state: &AppState, row: &OneTimeTokenRow) -> Option<PendingLink> {
    let sealed = URL_SAFE_NO_PAD.decode(row.payload.as_deref()?).ok()?;
    serde_json::from_slice(&state.sealer.open(SEAL_LABEL, &sealed).ok()?).ok()
}

/// Where the mailed link `token` leads once it links (for its page's form target), if it is
/// one.
pub async fn mailed_link_back(state: &AppState, token: &str) -> Option<Return> {
    let token = OpaqueToken::from_presented(token)?;
    let row =
        one_time_tokens::find_one_time_token(&state.db, &token.hash(), PURPOSE_LINK_IDENTITY_EMAIL)
            .await
            .ok()??;
    Some(open_link(state, &row)?.back)
}

/// A link waiting for its proof, as its page shows it.
pub struct LinkToProve {
    /// Where the person goes once it is proved.
    pub back: Return,
    pub email: String,
    pub provider: String,
    /// Whether the account has a password to prove it with.
    pub has_password: bool,
}

/// The live pending link `token` names, if it belongs to `browser`, with the account it would
/// join: the one lookup behind the prove page and both proofs.
async fn pending_link(
    state: &AppState,
    token: &str,
    browser: &TokenHash,
) -> Result<Option<(OpaqueToken, PendingLink, UserRow)>, AccountError> {
    let Some(token) = OpaqueToken::from_presented(token) else {
        return Ok(None);
    };
    let row = one_time_tokens::find_one_time_token(&state.db, &token.hash(), PURPOSE_LINK_IDENTITY)
        .await?
        .filter(|r| r.consumed_at.is_none() && r.expires_at > state.clock.now_naive());
    let Some(row) = row else { return Ok(None) };
    let Some(pending) = open_link(state, &row).filter(|p| p.browser == browser.as_str()) else {
        return Ok(None);
    };
    let user = users::find_user(&state.db, UserKey::Id(&row.subject)).await?;
    Ok(user.map(|user| (token, pending, user)))
}

/// The pending link `token` names, for this browser, unused and unexpired.
pub async fn link_to_prove(
    state: &AppState,
    token: &str,
    browser: &TokenHash,
) -> Result<Option<LinkToProve>, AccountError> {
    let Some((_, pending, user)) = pending_link(state, token, browser).await? else {
        return Ok(None);
    };
    Ok(Some(LinkToProve {
        back: pending.back.clone(),
        email: user.email.clone().unwrap_or_default(),
        provider: provider_named(state, &pending.asserted.provider)
            .map(|p| p.name.clone())
            .unwrap_or_default(),
        has_password: user.password_hash.is_some(),
    }))
}

/// What a proved link gives: the account, what was proved, and where to go.
pub struct Proved {
    pub user: UserRow,
    pub methods: Methods,
    pub back: Return,
}

/// Proves the account a pending link would join by its password (counted like any password
/// guess), in the browser that holds the link; links, and signs in with both.
pub async fn prove_by_password(
    state: &AppState,
    token: &str,
    password: &str,
    browser: &TokenHash,
    ip: Option<&str>,
) -> Result<Proved, Refusal> {
    let expired = || Refusal::Said(t!("link-expired").into());
    let (presented, pending, user) = pending_link(state, token, browser)
        .await?
        .ok_or_else(expired)?;
    let identifier = user
        .email
        .as_deref()
        .and_then(|e| EmailAddress::parse(e).ok())
        .map(signin::LoginIdentifier::Email);
    signin::verify_credentials(state, identifier, password, ip)
        .await
        .map_err(|e| match e {
            signin::SignInError::InvalidCredentials => Refusal::WrongPassword,
            other => Refusal::Failed(other.into()),
        })?;
    finish_link(
        state,
        &presented.hash(),
        PURPOSE_LINK_IDENTITY,
        user,
        pending,
        Method::Pwd,
    )
    .await
}

/// Mails the account a pending link would join a link that proves it (opened in this same
/// browser). At most 5 an hour per address, like every email.
pub async fn prove_by_email(
    state: &AppState,
    token: &str,
    browser: &TokenHash,
) -> Result<(), Refusal> {
    let expired = || Refusal::Said(t!("link-expired").into());
    let (_, pending, user) = pending_link(state, token, browser)
        .await?
        .ok_or_else(expired)?;
    let Some(address) = user.email.clone() else {
        return Err(expired());
    };
    if !super::mail_allowed(state, "link_identity", &address).await? {
        return Ok(());
    }
    let mailed = OpaqueToken::generate();
    store_link(
        state,
        &mailed,
        PURPOSE_LINK_IDENTITY_EMAIL,
        &user.id,
        &pending,
    )
    .await?;
    let provider = provider_named(state, &pending.asserted.provider)
        .map(|p| p.name.clone())
        .unwrap_or_default();
    let link = format!(
        "{}/account/link/confirm?token={}",
        state.config.public_url,
        mailed.expose()
    );
    let lang = crate::i18n::current(state.config.default_locale);
    let email = crate::mail::Email::link_identity(lang, &provider, link);
    state
        .mailer
        .queue(&state.db, &address, &email, state.clock.now_naive())
        .await
        .map_err(AccountError::from)?;
    Ok(())
}

/// The mailed link, opened in the browser that asked: links, and signs in.
pub async fn prove_by_mailed_link(
    state: &AppState,
    token: &str,
    browser: &TokenHash,
) -> Result<Proved, Refusal> {
    let expired = || Refusal::Said(t!("link-mailed-expired").into());
    let presented = OpaqueToken::from_presented(token).ok_or_else(expired)?;
    let row = one_time_tokens::find_one_time_token(
        &state.db,
        &presented.hash(),
        PURPOSE_LINK_IDENTITY_EMAIL,
    )
    .await?
    .filter(|r| r.consumed_at.is_none() && r.expires_at > state.clock.now_naive())
    .ok_or_else(expired)?;
    let pending = open_link(state, &row)
        .filter(|p| p.browser == browser.as_str())
        .ok_or_else(expired)?;
    let user = users::find_user(&state.db, UserKey::Id(&row.subject))
        .await?
        .ok_or_else(expired)?;
    finish_link(
        state,
        &presented.hash(),
        PURPOSE_LINK_IDENTITY_EMAIL,
        user,
        pending,
        Method::Fed,
    )
    .await
}

async fn finish_link(
    state: &AppState,
    hash: &TokenHash,
    purpose: &str,
    user: UserRow,
    pending: PendingLink,
    proved: Method,
) -> Result<Proved, Refusal> {
    let taken = one_time_tokens::take(&state.db, hash, purpose, state.clock.now_naive()).await?;
    if taken.is_none() {
        return Err(Refusal::Said(t!("link-used").into()));
    }
    if !user.is_active {
        return Err(Refusal::Said(t!("upstream-account-disabled").into()));
    }
    let provider = provider_named(state, &pending.asserted.provider)
        .ok_or_else(|| Refusal::Said(t!("upstream-provider-gone").into()))?;
    link(state, provider, &user, &pending.asserted).await?;
    let methods = Methods::new(methods_of(&pending.asserted).iter().chain([proved]));
    Ok(Proved {
        user,
        methods,
        back: pending.back,
    })
}

/// A one-time code for a frontend that started a sign-in through a provider: it exchanges the
/// code for the login's answer (`POST /api/auth/upstream/exchange`).
pub async fn login_code(
    state: &AppState,
    user: &UserRow,
    methods: &Methods,
) -> Result<OpaqueToken, AccountError> {
    let code = OpaqueToken::generate();
    let now = state.clock.now_naive();
    one_time_tokens::insert_one_time_token(
        &state.db,
        &OneTimeTokenRow {
            token_hash: code.hash().as_str().to_owned(),
            purpose: PURPOSE_UPSTREAM_LOGIN.to_owned(),
            subject: user.id.clone(),
            created_at: now,
            expires_at: now + LOGIN_CODE_TTL,
            consumed_at: None,
            payload: Some(methods.to_string()),
        },
    )
    .await?;
    Ok(code)
}

/// `POST /api/auth/upstream/exchange`: the code (once, within 2 minutes) for the login's
/// answer: tokens, or the second step's challenge when the account has a factor.
pub async fn exchange_login_code(
    state: &AppState,
    code: &str,
    meta: ClientMeta,
) -> Result<LoginOutcome, AccountError> {
    let presented = OpaqueToken::from_presented(code).ok_or(AccountError::InvalidToken)?;
    let now = state.clock.now_naive();
    let row = one_time_tokens::take(&state.db, &presented.hash(), PURPOSE_UPSTREAM_LOGIN, now)
        .await?
        .ok_or(AccountError::InvalidToken)?;
    let user = users::find_user(&state.db, UserKey::Id(&row.subject))
        .await?
        .ok_or(AccountError::InvalidToken)?;
    if !user.is_active {
        return Err(AccountError::AccountDisabled);
    }
    let methods = Methods::parse(row.payload.as_deref().unwrap_or("fed"));
    let proof = Proof::federated(user, methods, row.created_at);
    super::login::outcome(state, proof, meta).await
}

/// An identity as the account API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IdentityView {
    pub id: String,
    /// The provider's id in authd's configuration.
    pub provider: String,
    /// "Continue with {provider_name}".
    pub provider_name: String,
    /// The email the provider asserted at the last sign-in.
    pub email: Option<String>,
    /// Whether the provider said it verified that email.
    pub email_verified: bool,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

pub async fn list(state: &AppState, user: &UserRow) -> Result<Vec<IdentityView>, AccountError> {
    Ok(store::list(&state.db, &user.id)
        .await?
        .into_iter()
        .map(|i| IdentityView {
            provider_name: provider_named(state, &i.provider)
                .map(|p| p.name.clone())
                .unwrap_or_else(|| i.provider.clone()),
            id: i.id,
            provider: i.provider,
            email: i.email,
            email_verified: i.email_verified,
            created_at: super::view::rfc3339(i.created_at),
            last_used_at: i.last_used_at.map(super::view::rfc3339),
        })
        .collect())
}

/// Unlinks an identity, unless it is the account's last way to sign in; tells the address.
pub async fn unlink(state: &AppState, user: &UserRow, id: &str) -> Result<(), AccountError> {
    let listed = store::list(&state.db, &user.id).await?;
    let Some(identity) = listed.iter().find(|i| i.id == id) else {
        return Err(AccountError::NotFound("No such identity"));
    };
    match store::unlink(&state.db, &user.id, id, state.clock.now_naive()).await? {
        Unlinked::Done => {}
        Unlinked::NotFound => return Err(AccountError::NotFound("No such identity")),
        Unlinked::LastWayIn => {
            return Err(AccountError::InUse(
                "This is the account's last way to sign in: set a password (forgot password) \
                 or add a passkey first",
            ));
        }
    }
    let name = provider_named(state, &identity.provider)
        .map(|p| p.name.clone())
        .unwrap_or_else(|| identity.provider.clone());
    signin::factors::notice(
        state,
        user,
        Text::new(t!("email-identity-unlinked-subject")).arg("provider", &name),
        Text::new(t!("email-identity-unlinked-intro")).arg("provider", &name),
    )
    .await?;
    Ok(())
}

/// The address a frontend may be sent back to: under `AUTHD_FRONTEND_URL` or an origin of
/// `AUTHD_CORS_ORIGINS`.
pub fn frontend_return(state: &AppState, redirect_to: &str) -> Option<String> {
    let url = url::Url::parse(redirect_to).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.fragment().is_some() {
        return None;
    }
    let origin = url.origin().ascii_serialization();
    let allowed = state
        .config
        .frontend_url
        .iter()
        .chain(state.config.cors_origins.iter())
        .any(|base| {
            url::Url::parse(base).is_ok_and(|b| b.origin().ascii_serialization() == origin)
        });
    allowed.then(|| url.to_string())
}
