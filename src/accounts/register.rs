//! Sign-up: a pending registration and an emailed link; the user exists once it is followed.

use chrono::Duration;

use super::links::{VERIFICATION_TTL_HOURS, verification_link};
use super::password::send_reset_link;
use super::{AccountError, TokenResponse};
use crate::domain::{EmailAddress, FullName, Password, PersonName, PhoneNumber, UserId, Username};
use crate::mail::Email;
use crate::signin::{self, BrowserSignIn, ClientMeta, Proof};
use crate::state::AppState;
use crate::storage::one_time_tokens::{self, PURPOSE_VERIFY_EMAIL};
use crate::storage::registrations::{self, VerifyOutcome};
use crate::storage::users::UserKey;
use crate::storage::{OneTimeTokenRow, PendingRegistrationRow, StorageError, UserRow, users};
use crate::tokens::{OpaqueToken, TokenHash};

/// A sign-up request, already parsed into valid domain values.
#[derive(Debug)]
pub struct NewRegistration {
    pub email: EmailAddress,
    pub password: Password,
    pub username: Option<Username>,
    pub full_name: Option<FullName>,
    pub first_name: Option<PersonName>,
    pub last_name: Option<PersonName>,
    pub phone: Option<PhoneNumber>,
    /// The anonymous user this sign-up upgrades, keeping its id.
    pub anonymous_id: Option<UserId>,
    /// Where the verification page sends the person on: an authorization request on authd
    /// (`/oauth/authorize?...`), from the hosted sign-up page.
    pub continue_to: Option<String>,
}

/// The browser of a hosted sign-up (or of a followed link): its id's hash, and the sign-in it
/// holds now. The browser a sign-up was made in is signed in, at once when verification is
/// off, else when it follows the emailed link.
pub struct SignUpBrowser<'a> {
    pub id: TokenHash,
    pub current: Option<&'a BrowserSignIn>,
}

pub enum RegisterOutcome {
    /// A verification link is on its way.
    Pending {
        registration_id: String,
        email: String,
    },
    /// Verification is off: the user exists and is signed in.
    SignedIn(Box<TokenResponse>),
    /// Verification is off, and the sign-up came from the hosted page: its browser is signed in.
    SignedInBrowser(Box<BrowserSignIn>),
}

fn verification_token(
    registration_id: &str,
    now: chrono::NaiveDateTime,
) -> (OpaqueToken, OneTimeTokenRow) {
    super::one_time_token(
        PURPOSE_VERIFY_EMAIL,
        registration_id,
        now,
        Duration::hours(VERIFICATION_TTL_HOURS),
    )
}

/// Whether `to` is an authorization request on authd itself: the only place a verification
/// page sends anyone on to (never an open redirect).
pub fn is_authorize_path(to: &str) -> bool {
    to.starts_with("/oauth/authorize?") && !to.contains(['\\', '\r', '\n'])
}

/// The verification link, carrying the authorization request the sign-up started from (only
/// ever a path on `/oauth/authorize`, so the link cannot send anyone elsewhere).
fn continuing_link(state: &AppState, token: &OpaqueToken, continue_to: Option<&str>) -> String {
    super::links::with_continue(verification_link(state, token), continue_to)
}

/// The live, uncontested pending sign-up of the same address that this one repeats with the
/// same password: the same person again (the first email not seen, say), not a contest.
async fn retry_of(
    state: &AppState,
    row: &PendingRegistrationRow,
    password: &str,
) -> Result<Option<String>, AccountError> {
    let Some(live) =
        registrations::find_pending_registration_by_email(&state.db, &row.email_normalized)
            .await?
            .filter(|p| p.expires_at > row.created_at && !p.contested)
    else {
        return Ok(None);
    };
    let same = state
        .hasher
        .verify(password, Some(&live.password_hash))
        .await?;
    Ok(same.then_some(live.id))
}

/// The anonymous user a registration upgrades, if `id` is one.
async fn anonymous_user(state: &AppState, id: &str) -> Result<Option<UserRow>, AccountError> {
    Ok(users::find_user(&state.db, UserKey::Id(id))
        .await?
        .filter(|u| u.is_anonymous))
}

pub async fn register(
    state: &AppState,
    reg: NewRegistration,
    meta: ClientMeta,
    browser: Option<SignUpBrowser<'_>>,
) -> Result<RegisterOutcome, AccountError> {
    let anonymous = match reg.anonymous_id {
        Some(id) => anonymous_user(state, &id.to_string()).await?,
        None => None,
    };
    let email_normalized = reg.email.normalized();
    if let Some(field) = users::find_taken_identifier(
        &state.db,
        &email_normalized,
        reg.username.as_ref().map(Username::as_str),
        reg.phone.as_ref().map(PhoneNumber::as_str),
        anonymous.as_ref().map(|u| u.id.as_str()),
    )
    .await?
    {
        return Err(AccountError::in_use(field));
    }

    let password_hash = state.hasher.hash(&reg.password).await?;
    let now = state.clock.now_naive();
    let full_name = reg
        .full_name
        .or_else(|| FullName::join(reg.first_name.as_ref(), reg.last_name.as_ref()));
    let row = PendingRegistrationRow {
        // The id the user will have once verified (an anonymous user keeps its own).
        id: anonymous
            .as_ref()
            .map_or_else(|| UserId::new().to_string(), |u| u.id.clone()),
        email: reg.email.as_str().to_owned(),
        email_normalized,
        password_hash,
        username: reg.username.map(|u| u.as_str().to_owned()),
        full_name: full_name.map(FullName::into_inner),
        first_name: reg.first_name.map(PersonName::into_inner),
        last_name: reg.last_name.map(PersonName::into_inner),
        phone: reg.phone.map(|p| p.as_str().to_owned()),
        anonymous_user_id: anonymous.map(|u| u.id),
        created_at: now,
        expires_at: now + Duration::hours(VERIFICATION_TTL_HOURS),
        contested: false,
        browser_hash: browser.as_ref().map(|b| b.id.as_str().to_owned()),
    };
    let (token, token_row) = verification_token(&row.id, now);
    let verify = state.config.require_email_verification;
    // The email is recorded in the same transaction as the registration: both or neither. An
    // address signed up over and over gets only so many emails (see `mail_allowed`).
    let mail = if verify && super::mail_allowed(state, "verify", &row.email_normalized).await? {
        let email = Email::verify_email(
            crate::i18n::current(state.config.default_locale),
            continuing_link(state, &token, reg.continue_to.as_deref()),
        );
        Some(state.mailer.outbox_row(&row.email, &email, now))
    } else {
        None
    };
    let retry_of = if verify {
        retry_of(state, &row, reg.password.expose()).await?
    } else {
        None
    };
    // Without email verification there is no link to prove the address, so nothing to contest.
    registrations::replace_pending_registration(
        &state.db,
        &row,
        &token_row,
        verify,
        retry_of.as_deref(),
        mail.as_ref(),
    )
    .await?;

    if verify {
        state.mailer.wake();
        Ok(RegisterOutcome::Pending {
            registration_id: row.id,
            email: row.email,
        })
    } else {
        // A registration of the same address made meanwhile replaced this one (and took the
        // address, or is about to): the address is in use, as it would be a moment later.
        let verified = match complete_registration(state, &token, false).await {
            Err(AccountError::InvalidToken) => return Err(AccountError::in_use("email")),
            other => other?,
        };
        // The password was proved by the sign-up itself, a moment ago.
        let proof = Proof::password(verified.user, now);
        if let Some(browser) = browser {
            let signed_in =
                signin::complete_in_browser(state, proof, &meta, browser.current).await?;
            return Ok(RegisterOutcome::SignedInBrowser(Box::new(signed_in)));
        }
        let issued =
            signin::complete_in_session(state, proof, super::first_party_grant(), meta).await?;
        Ok(RegisterOutcome::SignedIn(Box::new(issued.into())))
    }
}

/// What following a verification link did.
pub struct Verified {
    pub user: UserRow,
    /// The address was signed up for more than once, so no password was kept: a reset link is
    /// on its way to the address (see `storage::registrations`).
    pub password_required: bool,
    /// The browser and time of the hosted sign-up, as a hash of its cookie (see
    /// [`NewRegistration::browser`]).
    signed_up_in: Option<(String, chrono::NaiveDateTime)>,
}

impl Verified {
    pub(super) fn email_change(user: UserRow) -> Self {
        Self {
            user,
            password_required: false,
            signed_up_in: None,
        }
    }

    /// Whether `browser` is the one the sign-up was made in; if so, it is signed in: the
    /// sign-up proved the password there, the link the mailbox.
    pub(super) async fn sign_in_browser(
        &self,
        state: &AppState,
        browser: &SignUpBrowser<'_>,
        meta: &ClientMeta,
    ) -> Result<Option<BrowserSignIn>, AccountError> {
        let Some((hash, signed_up_at)) = &self.signed_up_in else {
            return Ok(None);
        };
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            hash.as_bytes(),
            browser.id.as_str().as_bytes(),
        )) {
            return Ok(None);
        }
        let proof = Proof::password(self.user.clone(), *signed_up_at);
        Ok(Some(
            signin::complete_in_browser(state, proof, meta, browser.current).await?,
        ))
    }
}

pub(super) async fn complete_registration(
    state: &AppState,
    token: &OpaqueToken,
    email_verified: bool,
) -> Result<Verified, AccountError> {
    let hash = token.hash();
    // A derived username can be taken by a concurrent verification on another instance
    // between our read and our insert; the transaction rolls back whole, so try again.
    let mut attempts = 0;
    loop {
        attempts += 1;
        match registrations::verify_registration(
            &state.db,
            &hash,
            state.clock.now_naive(),
            email_verified,
        )
        .await
        {
            Ok(VerifyOutcome::Verified {
                user,
                password_required,
                signed_up_in,
            }) => {
                if password_required {
                    send_reset_link(state, &user, None).await?;
                }
                return Ok(Verified {
                    user: *user,
                    password_required,
                    signed_up_in,
                });
            }
            Ok(VerifyOutcome::AlreadyVerified) => return Err(AccountError::AlreadyVerified),
            Ok(VerifyOutcome::Invalid) => return Err(AccountError::InvalidToken),
            Err(StorageError::Conflict("username")) if attempts < 3 => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Sends a fresh link to a pending registration. Answers the same whether or not the address
/// is known; the lookup, write and email happen in the background, so timing tells nothing
/// either.
pub async fn resend_verification(
    state: &AppState,
    email: &EmailAddress,
    continue_to: Option<&str>,
) -> Result<(), AccountError> {
    let (state, email) = (state.clone(), email.clone());
    let continue_to = continue_to.map(str::to_owned);
    // The request's language, read before the work leaves the request.
    let lang = crate::i18n::current(state.config.default_locale);
    super::off_request("re-sending a verification email", async move {
        let Some(reg) =
            registrations::find_pending_registration_by_email(&state.db, &email.normalized())
                .await?
        else {
            return Ok(());
        };
        if !super::mail_allowed(&state, "verify", &reg.email_normalized).await? {
            return Ok(());
        }
        let now = state.clock.now_naive();
        let (token, row) = verification_token(&reg.id, now);
        one_time_tokens::replace_one_time_token(&state.db, &row).await?;
        // From a client's sign-in page, the new link leads back to its request too.
        let email = Email::verify_email(
            lang,
            continuing_link(&state, &token, continue_to.as_deref()),
        );
        state
            .mailer
            .queue(&state.db, &reg.email, &email, now)
            .await?;
        Ok(())
    });
    Ok(())
}
