//! Sign-in: the one home of "who proved what, when". A verified proof (a password today; later
//! a code, a passkey, another provider) becomes an authentication record (`SignIn`: user,
//! `auth_time`, `amr`, `acr`) through `complete`, the one writer of records (for a browser,
//! [`complete_in_browser`]; for a client's session, [`complete_in_session`]). Every session
//! opens under a record: through `complete`, or, for a code granted under a browser's sign-in,
//! [`open_session_under`]; both end in `session::open`, the one place that writes a session.
//!
//! A record may be partial (`due` factors not yet proved, kept in the database so any
//! instance can take the next step); a partial record opens nothing.

pub mod browser;
pub mod factors;
pub mod guard;
pub mod passkeys;
mod password;
mod session;
pub mod upstream;

use chrono::NaiveDateTime;

pub use browser::{BrowserSignIn, Step};
pub use password::{LoginIdentifier, verify_credentials};
pub use session::{ClientMeta, DpopBinding, Issued, SessionGrant, issue, sign_access_token};

use crate::domain::{Level, Method, Methods};
use crate::state::AppState;
use crate::storage::sign_ins::Record;
use crate::storage::{SignInRow, StorageError, UserRow};
use crate::tokens::OpaqueToken;

/// A sign-in as flows see it: who, when, how, at what level.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignIn {
    pub id: String,
    pub user_id: String,
    /// When the person last proved who they are for this sign-in (exact, not whole seconds).
    pub auth_time: NaiveDateTime,
    pub methods: Methods,
    pub level: Level,
}

impl From<&SignInRow> for SignIn {
    fn from(row: &SignInRow) -> Self {
        let methods = Methods::parse(&row.amr);
        Self {
            id: row.id.clone(),
            user_id: row.user_id.clone(),
            auth_time: row.auth_time,
            // A level written by a newer version and unknown here counts for what the methods
            // alone are worth.
            level: Level::parse(&row.acr).unwrap_or_else(|| methods.level()),
            methods,
        }
    }
}

impl SignIn {
    /// `auth_time` as the ID token carries it: seconds since the epoch.
    pub fn auth_time_secs(&self) -> i64 {
        self.auth_time.and_utc().timestamp()
    }
}

/// What a person proved, and when: the input of [`complete`].
pub struct Proof {
    user: UserRow,
    methods: Methods,
    at: NaiveDateTime,
}

impl Proof {
    /// Whom it proves.
    pub fn user(&self) -> &UserRow {
        &self.user
    }

    /// What was proved.
    pub fn methods(&self) -> &Methods {
        &self.methods
    }

    /// The user's password was checked (see [`verify_credentials`]) at `at`.
    pub fn password(user: UserRow, at: NaiveDateTime) -> Self {
        Self {
            user,
            methods: Methods::new([Method::Pwd]),
            at,
        }
    }

    /// What an earlier sign-in of `user` proved, when: a step-up builds on it.
    pub fn of_sign_in(user: UserRow, sign_in: &SignIn) -> Self {
        Self {
            user,
            methods: sign_in.methods.clone(),
            at: sign_in.auth_time,
        }
    }

    /// A passkey of `user` (verified by its authenticator) was proved at `at`, with no name
    /// typed first.
    pub fn passkey(user: UserRow, at: NaiveDateTime) -> Self {
        Self {
            user,
            methods: Methods::new(passkeys::METHODS),
            at,
        }
    }

    /// Another provider vouched for `user` (`fed`, with what it proved when it says so, and
    /// what the person proved here besides, such as the password that linked it) at `at`.
    pub fn federated(user: UserRow, methods: Methods, at: NaiveDateTime) -> Self {
        Self {
            user,
            methods: Methods::new(methods.iter().chain([Method::Fed])),
            at,
        }
    }

    /// An anonymous user, just made: nothing is proved but holding the session.
    pub fn anonymous(user: UserRow, at: NaiveDateTime) -> Self {
        Self {
            user,
            methods: Methods::none(),
            at,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("Invalid credentials")]
    InvalidCredentials,
    #[error("Email not verified")]
    EmailNotVerified,
    #[error("Account disabled")]
    AccountDisabled,
    /// Too many wrong passwords for this account (see `guard`).
    #[error("Too many attempts, please try again later")]
    TooManyAttempts { retry_after_secs: u64 },
    /// A second factor's code that is wrong, used already, or of another time.
    #[error("Invalid code")]
    InvalidCode,
    /// A second step whose challenge is unknown, spent or expired.
    #[error("Invalid or expired challenge")]
    InvalidChallenge,
    /// A passkey's answer that proves nothing: another account's or site's credential, a
    /// signature that does not verify, a counter gone back (a cloned authenticator).
    #[error("The passkey was not accepted")]
    PasskeyRefused,
    /// A passkey sign-in's options that expired or were used already.
    #[error("The passkey request expired")]
    PasskeyExpired,
    /// Passkeys are off: authd's pages are not at an address browsers offer WebAuthn to.
    #[error("Passkeys are not available here")]
    PasskeysUnavailable,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<StorageError> for SignInError {
    fn from(e: StorageError) -> Self {
        SignInError::Unexpected(e.into())
    }
}

/// Records what `proof` proved as the sign-in of a browser on authd's own pages, which gets a
/// new cookie. The browser's `current` sign-in, if any: the same person's is renewed (its
/// sessions stay under it, now with this `auth_time`); someone else's ends, with its sessions
/// (one account per browser).
pub async fn complete_in_browser(
    state: &AppState,
    proof: Proof,
    meta: &ClientMeta,
    current: Option<&BrowserSignIn>,
) -> Result<BrowserSignIn, SignInError> {
    let cookie = OpaqueToken::generate();
    let prior = current.map(|c| &c.sign_in);
    let (sign_in, _) = complete(state, &proof, meta, Some(&cookie), None, prior).await?;
    Ok(BrowserSignIn {
        user: proof.user,
        sign_in,
        cookie: Some(cookie),
    })
}

/// Records what `proof` proved as a new sign-in held by a client, through a session of its own
/// (the account API, the password grant), and opens that session.
pub async fn complete_in_session(
    state: &AppState,
    proof: Proof,
    grant: SessionGrant,
    meta: ClientMeta,
) -> Result<Issued, SignInError> {
    let (_, issued) = complete(
        state,
        &proof,
        &meta.clone(),
        None,
        Some((grant, meta)),
        None,
    )
    .await?;
    issued.ok_or_else(|| SignInError::Unexpected(anyhow::anyhow!("no session was opened")))
}

/// The one writer of sign-in records: `proof` as a record (held by the browser with `cookie`,
/// or by the session asked for), written with that session in one transaction. A `prior`
/// sign-in of the same user is renewed in place (its methods joined by the new ones); another
/// user's ends.
async fn complete(
    state: &AppState,
    proof: &Proof,
    meta: &ClientMeta,
    cookie: Option<&OpaqueToken>,
    session: Option<(SessionGrant, ClientMeta)>,
    prior: Option<&SignIn>,
) -> Result<(SignIn, Option<Issued>), SignInError> {
    let now = state.clock.now_naive();
    let renewed = prior.filter(|p| p.user_id == proof.user.id);
    let methods = match renewed {
        Some(p) => Methods::new(p.methods.iter().chain(proof.methods.iter())),
        None => proof.methods.clone(),
    };
    let row = SignInRow {
        id: renewed.map_or_else(|| uuid::Uuid::new_v4().to_string(), |p| p.id.clone()),
        user_id: proof.user.id.clone(),
        token_hash: cookie.map(|c| c.hash().as_str().to_owned()),
        auth_time: proof.at,
        amr: methods.to_string(),
        acr: methods.level().as_str().to_owned(),
        due: None,
        ip: meta.ip.clone(),
        user_agent: meta.user_agent.clone(),
        created_at: now,
        expires_at: now + session::chrono(state.config.session_max_age),
        ended_at: None,
        ceremony: None,
    };
    let sign_in = SignIn::from(&row);
    let record = match prior {
        Some(p) if renewed.is_some() => Record::Renew(&row, &p.id),
        Some(p) => Record::Replace(&row, &p.id),
        None => Record::New(&row),
    };
    let issued = session::open(
        state,
        Some(record),
        &sign_in,
        &proof.user,
        session,
        Some(meta),
    )
    .await?;
    Ok((sign_in, issued))
}

/// Opens a client session under an existing sign-in: a code granted while the browser was
/// signed in, redeemed by the client.
pub async fn open_session_under(
    state: &AppState,
    sign_in: &SignIn,
    user: &UserRow,
    grant: SessionGrant,
    meta: ClientMeta,
) -> Result<Issued, SignInError> {
    session::open(state, None, sign_in, user, Some((grant, meta)), None)
        .await?
        .ok_or_else(|| SignInError::Unexpected(anyhow::anyhow!("no session was opened")))
}

/// The sign-in a session (an access or ID token's `sid`) came from.
pub async fn of_session(state: &AppState, sid: &str) -> Result<Option<SignIn>, SignInError> {
    Ok(crate::storage::sign_ins::sign_in_of_session(&state.db, sid)
        .await?
        .as_ref()
        .map(SignIn::from))
}

/// The live, complete sign-in named `id` (a code's), if it is still one.
pub async fn find_live(state: &AppState, id: &str) -> Result<Option<SignIn>, SignInError> {
    Ok(
        crate::storage::sign_ins::find_live_sign_in(&state.db, id, state.clock.now_naive())
            .await?
            .as_ref()
            .map(SignIn::from),
    )
}

/// How long a sign-in may wait for its second step.
pub const SECOND_STEP_TTL: chrono::Duration = chrono::Duration::minutes(5);

/// A sign-in waiting for its second step: the token that names it (a browser's pending cookie,
/// the JSON API's `challenge`), its user and the factors they may use.
pub struct Pending {
    pub token: OpaqueToken,
    pub user: UserRow,
    pub factors: Vec<crate::storage::FactorRow>,
    /// The options for `navigator.credentials.get` when the user has a passkey.
    pub passkey_options: Option<serde_json::Value>,
}

/// The passkey ceremony a pending sign-in offered: its options (shown again with the page)
/// and webauthn-rs's state.
#[derive(serde::Serialize, serde::Deserialize)]
struct Ceremony {
    options: serde_json::Value,
    state: String,
}

/// The passkey options a pending sign-in offered, if any.
pub fn passkey_options(pending: &SignInRow) -> Option<serde_json::Value> {
    let ceremony: Ceremony = serde_json::from_str(pending.ceremony.as_deref()?).ok()?;
    Some(ceremony.options)
}

/// The user's active factors: a sign-in needs its second step when there is one.
pub async fn active_factors(
    state: &AppState,
    user_id: &str,
) -> Result<Vec<crate::storage::FactorRow>, SignInError> {
    Ok(crate::storage::factors::list_factors(&state.db, user_id)
        .await?
        .into_iter()
        .filter(|f| f.active)
        .collect())
}

/// Records what `proof` proved as a sign-in waiting for its second step (see `Pending`), for
/// [`SECOND_STEP_TTL`]. It opens nothing until `finish_*` completes it, on any instance.
pub async fn begin_second_step(
    state: &AppState,
    proof: Proof,
    factors: Vec<crate::storage::FactorRow>,
    meta: &ClientMeta,
) -> Result<Pending, SignInError> {
    let now = state.clock.now_naive();
    let token = OpaqueToken::generate();
    let mut due: Vec<&str> = factors.iter().map(|f| f.kind.as_str()).collect();
    due.sort_unstable();
    due.dedup();
    let ceremony = match &state.passkeys {
        Some(rp) => rp
            .start_second_step(&factors)?
            .map(|(options, state)| Ceremony { options, state }),
        None => None,
    };
    let row = SignInRow {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: proof.user.id.clone(),
        token_hash: Some(token.hash().as_str().to_owned()),
        auth_time: proof.at,
        amr: proof.methods.to_string(),
        acr: proof.methods.level().as_str().to_owned(),
        due: Some(due.join(" ")),
        ip: meta.ip.clone(),
        user_agent: meta.user_agent.clone(),
        created_at: now,
        expires_at: now + SECOND_STEP_TTL,
        ended_at: None,
        ceremony: ceremony
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(anyhow::Error::from)?,
    };
    crate::storage::sign_ins::open(&state.db, Some(Record::New(&row)), None, None).await?;
    Ok(Pending {
        token,
        user: proof.user,
        factors,
        passkey_options: ceremony.map(|c| c.options),
    })
}

/// The pending sign-in `token` names, with its user: who the second step is for.
pub async fn pending(
    state: &AppState,
    token: &str,
) -> Result<Option<(UserRow, SignInRow)>, SignInError> {
    let Some(token) = OpaqueToken::from_presented(token) else {
        return Ok(None);
    };
    Ok(
        crate::storage::sign_ins::find_pending(&state.db, &token.hash(), state.clock.now_naive())
            .await?,
    )
}

/// A checked second step: the pending record, its user, what was proved, and the completed
/// record to write.
struct Stepped {
    pending: SignInRow,
    hash: crate::tokens::TokenHash,
    user: UserRow,
    proved: factors::Proved,
    done: SignInRow,
}

/// What a second step answers with.
pub enum Answer<'a> {
    /// An authenticator app's code, or a recovery code.
    Code(&'a str),
    /// A passkey's assertion (`navigator.credentials.get`'s answer).
    Passkey(Box<webauthn_rs::prelude::PublicKeyCredential>),
}

impl<'a> Answer<'a> {
    /// A page's second-step form: the `credential` its script filled in (JSON) when a passkey
    /// answered, else the typed `code`. An unreadable credential proves nothing.
    pub fn from_form(code: &'a str, credential: &str) -> Result<Self, SignInError> {
        if credential.trim().is_empty() {
            return Ok(Self::Code(code));
        }
        serde_json::from_str::<serde_json::Value>(credential)
            .ok()
            .as_ref()
            .and_then(passkeys::parse_assertion)
            .map(|a| Self::Passkey(Box::new(a)))
            .ok_or(SignInError::PasskeyRefused)
    }
}

async fn second_step(
    state: &AppState,
    token: &str,
    answer: Answer<'_>,
    meta: &ClientMeta,
) -> Result<Stepped, SignInError> {
    let presented = OpaqueToken::from_presented(token).ok_or(SignInError::InvalidChallenge)?;
    let hash = presented.hash();
    let (user, pending) =
        crate::storage::sign_ins::find_pending(&state.db, &hash, state.clock.now_naive())
            .await?
            .ok_or(SignInError::InvalidChallenge)?;
    let proved = match answer {
        Answer::Code(code) => {
            factors::check_code(state, &user.id, code, meta.ip.as_deref()).await?
        }
        Answer::Passkey(assertion) => {
            let ceremony: Option<Ceremony> = pending
                .ceremony
                .as_deref()
                .and_then(|c| serde_json::from_str(c).ok());
            passkeys::prove_second_step(
                state,
                &user.id,
                ceremony.as_ref().map(|c| c.state.as_str()),
                &assertion,
            )
            .await?;
            factors::Proved::Passkey
        }
    };
    let now = state.clock.now_naive();
    let methods = Methods::new(Methods::parse(&pending.amr).iter().chain(proved.methods()));
    let done = SignInRow {
        token_hash: None,
        auth_time: now,
        amr: methods.to_string(),
        acr: methods.level().as_str().to_owned(),
        due: None,
        ceremony: None,
        created_at: now,
        expires_at: now + session::chrono(state.config.session_max_age),
        ..pending.clone()
    };
    if let factors::Proved::RecoveryCode { left } = proved {
        factors::notice_recovery_code_used(state, &user, left).await?;
    }
    Ok(Stepped {
        pending,
        hash,
        user,
        proved,
        done,
    })
}

/// Completes a second step with `answer` and opens the client's session under the sign-in:
/// the JSON API's `mfa/verify`.
pub async fn finish_in_session(
    state: &AppState,
    challenge: &str,
    answer: Answer<'_>,
    grant: SessionGrant,
    meta: ClientMeta,
) -> Result<(Issued, factors::Proved), SignInError> {
    let stepped = second_step(state, challenge, answer, &meta).await?;
    let sign_in = SignIn::from(&stepped.done);
    let device = session::device_key(&meta);
    let (session, refresh, token) =
        session::rows(state, &stepped.user, &sign_in, grant, meta.clone());
    let completed = crate::storage::sign_ins::complete_pending(
        &state.db,
        &stepped.pending.id,
        &stepped.hash,
        &stepped.done,
        crate::storage::sign_ins::Completion::Own,
        Some((&session, &refresh)),
        device.as_deref(),
    )
    .await?;
    match completed {
        None => return Err(SignInError::InvalidChallenge),
        Some(true) => session::tell_new_device(state, &stepped.user, Some(&meta)).await?,
        Some(false) => {}
    }
    let mut user = stepped.user;
    user.last_login_at = Some(stepped.done.auth_time);
    Ok((
        issue(state, user, session, sign_in, token, None)?,
        stepped.proved,
    ))
}

/// Completes a browser's second step with `answer`: the browser's sign-in, with a new cookie.
/// The browser's `current` sign-in of the same person takes the new proof (a step-up keeps
/// its sessions); someone else's ends.
pub async fn finish_in_browser(
    state: &AppState,
    token: &str,
    answer: Answer<'_>,
    meta: &ClientMeta,
    current: Option<&BrowserSignIn>,
) -> Result<(BrowserSignIn, factors::Proved), SignInError> {
    use crate::storage::sign_ins::Completion;
    let mut stepped = second_step(state, token, answer, meta).await?;
    let cookie = OpaqueToken::generate();
    stepped.done.token_hash = Some(cookie.hash().as_str().to_owned());
    let completion = match current {
        Some(c) if c.user.id == stepped.user.id => {
            // The earlier sign-in's methods count too, and its id stays.
            let methods = Methods::new(
                c.sign_in
                    .methods
                    .iter()
                    .chain(Methods::parse(&stepped.done.amr).iter()),
            );
            stepped.done.amr = methods.to_string();
            stepped.done.acr = methods.level().as_str().to_owned();
            stepped.done.id = c.sign_in.id.clone();
            Completion::Into(&c.sign_in.id)
        }
        Some(c) => Completion::Replacing(&c.sign_in.id),
        None => Completion::Own,
    };
    let completed = crate::storage::sign_ins::complete_pending(
        &state.db,
        &stepped.pending.id,
        &stepped.hash,
        &stepped.done,
        completion,
        None,
        session::device_key(meta).as_deref(),
    )
    .await?;
    match completed {
        None => return Err(SignInError::InvalidChallenge),
        Some(true) => session::tell_new_device(state, &stepped.user, Some(meta)).await?,
        Some(false) => {}
    }
    Ok((
        BrowserSignIn {
            user: stepped.user,
            sign_in: SignIn::from(&stepped.done),
            cookie: Some(cookie),
        },
        stepped.proved,
    ))
}
