//! Second factors as proofs: an authenticator app's code (RFC 6238 TOTP: SHA-1, 6 digits,
//! 30 s steps, a step of drift either way) and recovery codes (ten single-use codes, stored
//! hashed). A code is checked against the account's guess budget like a password, and a TOTP
//! code is taken once: its time step is recorded with one conditional write, so neither a
//! replay nor an earlier step's code passes, on any instance.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::Rng as _;
use sha2::Digest as _;
use subtle::ConstantTimeEq as _;
use totp_rs::{Algorithm, TOTP};

use super::SignInError;
use super::guard::{self, Account, Budget, Guesser};
use crate::domain::Method;
use crate::i18n::Text;
use crate::state::AppState;
use crate::storage::{FactorRow, factors};
use crate::t;

pub const TOTP: &str = "totp";
pub const PASSKEY: &str = "passkey";
const DIGITS: usize = 6;
const STEP_SECS: u64 = 30;
/// Steps of clock drift allowed either way.
const DRIFT_STEPS: i64 = 1;
/// Recovery codes per set.
pub const RECOVERY_CODES: usize = 10;
/// Letters and digits that cannot be misread for each other.
const CODE_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// A new TOTP secret: 160 random bits (RFC 4226's recommendation).
pub fn new_totp_secret() -> Vec<u8> {
    let mut secret = vec![0u8; 20];
    rand::rngs::OsRng.fill(&mut secret[..]);
    secret
}

/// The TOTP of `secret` for `account` at `issuer` (for the enrolment's `otpauth://` URI).
pub fn totp(secret: Vec<u8>, issuer: &str, account: &str) -> anyhow::Result<TOTP> {
    let clean = |s: &str| s.replace(':', " ");
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        0,
        STEP_SECS,
        secret,
        Some(clean(issuer)),
        clean(account),
    )
    .map_err(|e| anyhow::anyhow!("a TOTP: {e}"))
}

/// The code as typed, if it can be a TOTP code: six ASCII digits (spaces allowed between).
pub fn totp_code(typed: &str) -> Option<String> {
    let code: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    (code.len() == DIGITS && code.bytes().all(|b| b.is_ascii_digit())).then_some(code)
}

/// The time step a code was made for, within the drift around `now_secs`.
pub fn matching_step(secret: &[u8], code: &str, now_secs: i64) -> Option<i64> {
    let totp = totp(secret.to_vec(), "authd", "x").ok()?;
    let now_step = now_secs.div_euclid(STEP_SECS as i64);
    let mut found = None;
    // Every candidate is compared, in constant time, whichever matches.
    for step in now_step - DRIFT_STEPS..=now_step + DRIFT_STEPS {
        let made = totp.generate((step.max(0) as u64) * STEP_SECS);
        if bool::from(made.as_bytes().ct_eq(code.as_bytes())) {
            found = Some(step);
        }
    }
    found
}

/// A TOTP secret sealed for storage, bound to its factor.
pub fn seal_secret(state: &AppState, factor_id: &str, secret: &[u8]) -> anyhow::Result<String> {
    let sealed = state.sealer.seal(&format!("totp:{factor_id}"), secret)?;
    Ok(STANDARD.encode(sealed))
}

fn open_secret(state: &AppState, factor: &FactorRow) -> Option<Vec<u8>> {
    let sealed = STANDARD.decode(factor.secret.as_deref()?).ok()?;
    state
        .sealer
        .open(&format!("totp:{}", factor.id), &sealed)
        .ok()
}

/// Ten new recovery codes, as shown once (`abcde-fghjk`), and the hashes that are stored.
pub fn new_recovery_codes() -> (Vec<String>, Vec<String>) {
    let mut rng = rand::rngs::OsRng;
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| {
            let chars: String = (0..10)
                .map(|_| CODE_ALPHABET[rng.gen_range(0..CODE_ALPHABET.len())] as char)
                .collect();
            format!("{}-{}", &chars[..5], &chars[5..])
        })
        .collect();
    let hashes = codes.iter().map(|c| recovery_hash(c)).collect();
    (codes, hashes)
}

/// A recovery code as typed, in its one form: lower case, without dashes or spaces.
fn recovery_hash(typed: &str) -> String {
    let normal: String = typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let digest = sha2::Sha256::digest(format!("authd recovery code\0{normal}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `typed` can be a recovery code (ten letters and digits of the alphabet).
fn looks_like_recovery_code(typed: &str) -> bool {
    let normal: Vec<u8> = typed
        .bytes()
        .filter(|b| b.is_ascii_alphanumeric())
        .map(|b| b.to_ascii_lowercase())
        .collect();
    normal.len() == 10
        && normal.iter().all(|b| CODE_ALPHABET.contains(b))
        && typed
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b' ')
}

/// What a second factor proved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proved {
    /// An authenticator app's code.
    Totp,
    /// A recovery code; this many remain.
    RecoveryCode { left: i64 },
    /// A passkey, its user verified by the authenticator.
    Passkey,
}

impl Proved {
    pub fn methods(self) -> Vec<Method> {
        match self {
            Self::Passkey => super::passkeys::METHODS.to_vec(),
            Self::Totp | Self::RecoveryCode { .. } => vec![Method::Otp],
        }
    }
}

/// Checks a code (an authenticator app's, or a recovery code) for `user_id`'s active factors.
/// Wrong codes count against the account's guess budget from `ip`, as passwords do.
pub async fn check_code(
    state: &AppState,
    user_id: &str,
    typed: &str,
    ip: Option<&str>,
) -> Result<Proved, SignInError> {
    let guesser = Guesser {
        account: Account::User(user_id),
        ip,
    };
    let budget = guard::attempt(state, &guesser).await?;
    let proved = match totp_code(typed) {
        Some(code) => take_totp(state, user_id, &code).await?,
        None if looks_like_recovery_code(typed) => {
            let now = state.clock.now_naive();
            factors::use_recovery_code(&state.db, user_id, &recovery_hash(typed), now)
                .await?
                .map(|left| Proved::RecoveryCode { left })
        }
        None => None,
    };
    match proved {
        Some(proved) => {
            guard::succeeded(state, &guesser).await?;
            Ok(proved)
        }
        None => {
            guard::failed(state, user_id, "code", ip).await?;
            Err(match budget {
                Budget::LastTry { retry_after_secs } => {
                    SignInError::TooManyAttempts { retry_after_secs }
                }
                Budget::Open => SignInError::InvalidCode,
            })
        }
    }
}

/// The user's active TOTP factor that `code` is for, now, taken once.
async fn take_totp(
    state: &AppState,
    user_id: &str,
    code: &str,
) -> Result<Option<Proved>, SignInError> {
    let now = state.clock.now();
    for factor in factors::list_factors(&state.db, user_id).await? {
        if factor.kind != TOTP || !factor.active {
            continue;
        }
        let Some(secret) = open_secret(state, &factor) else {
            tracing::error!(factor = %factor.id, "a TOTP secret does not open with this AUTHD_SECRET");
            continue;
        };
        if let Some(step) = matching_step(&secret, code, now.timestamp())
            && factors::take_totp_step(&state.db, &factor.id, step, now.naive_utc()).await?
        {
            return Ok(Some(Proved::Totp));
        }
    }
    Ok(None)
}

/// Confirms a pending TOTP factor with its first code: `Some(step)` when the code is right.
pub fn confirms(state: &AppState, factor: &FactorRow, typed: &str) -> Option<i64> {
    let code = totp_code(typed)?;
    let secret = open_secret(state, factor)?;
    matching_step(&secret, &code, state.clock.now().timestamp())
}

/// The factor's secret, for its enrolment page (base32, as authenticator apps take it).
pub fn secret_base32(state: &AppState, factor: &FactorRow) -> Option<String> {
    let secret = open_secret(state, factor)?;
    Some(totp(secret, "authd", "x").ok()?.get_secret_base32())
}

/// Tells the account's address about a security change (a factor added or removed, a recovery
/// code used), queued like every email.
pub async fn notice(
    state: &AppState,
    user: &crate::storage::UserRow,
    subject: impl Into<Text>,
    what: impl Into<Text>,
) -> Result<(), SignInError> {
    let Some(to) = user.email.as_deref() else {
        return Ok(());
    };
    let lang = crate::i18n::current(state.config.default_locale);
    let email = crate::mail::Email::security_notice(lang, subject, what);
    state
        .mailer
        .queue(&state.db, to, &email, state.clock.now_naive())
        .await?;
    Ok(())
}

pub async fn notice_recovery_code_used(
    state: &AppState,
    user: &crate::storage::UserRow,
    left: i64,
) -> Result<(), SignInError> {
    notice(
        state,
        user,
        t!("email-recovery-code-used-subject"),
        Text::new(t!("email-recovery-code-used-intro")).num("left", left as f64),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_their_step_and_its_neighbours_only() {
        let secret = new_totp_secret();
        let t = totp(secret.clone(), "authd", "ann@example.com").unwrap();
        let now = 1_800_000_015_i64;
        let step = now / 30;
        for (offset, expected) in [(0, Some(step)), (-1, Some(step - 1)), (1, Some(step + 1))] {
            let code = t.generate(((step + offset) * 30) as u64);
            assert_eq!(matching_step(&secret, &code, now), expected, "{offset}");
        }
        let far = t.generate(((step + 2) * 30) as u64);
        assert_eq!(matching_step(&secret, &far, now), None);
        assert!(
            t.get_url()
                .starts_with("otpauth://totp/authd:ann%40example.com?secret=")
        );
    }

    #[test]
    fn what_can_be_a_code() {
        assert_eq!(totp_code(" 123 456 ").as_deref(), Some("123456"));
        assert_eq!(totp_code("12345"), None);
        assert_eq!(totp_code("1234567"), None);
        // Unicode digits (Arabic-Indic, full-width) are not ASCII digits.
        assert_eq!(totp_code("١٢٣٤٥٦"), None);
        assert_eq!(totp_code("１２３４５６"), None);
        let (codes, hashes) = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        assert!(codes.iter().all(|c| looks_like_recovery_code(c)));
        assert_eq!(recovery_hash(&codes[0].to_uppercase()), hashes[0]);
        assert_eq!(recovery_hash(&codes[0].replace('-', "")), hashes[0]);
        assert!(
            !looks_like_recovery_code("abcde-fghj0"),
            "0 is not in the alphabet"
        );
    }
}
