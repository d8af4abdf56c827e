//! The rows: every route authd serves, grouped as `/docs` shows them.

use utoipa::openapi::path::HttpMethod;

use super::{Answer, Param, Route, Tag, auth, q, route};
use crate::http::{
    account_pages, account_security, accounts, api_docs, authorize, factors, logout, oauth,
    openapi, pages, upstream, users, wellknown,
};

const AUDIT_QUERY: &[Param] = &[
    q("user_id", false, "the account the events concern"),
    q("client_id", false, "the client"),
    q(
        "kind",
        false,
        "kinds, comma-separated (see the README's Audit events)",
    ),
    q("since", false, "RFC 3339 time, inclusive"),
    q(
        "until",
        false,
        "RFC 3339 time, exclusive (at most 400 days after since)",
    ),
    q("cursor", false, "the previous page's next"),
    q("limit", false, "1 to 200, default 50"),
];
const TOKEN_QUERY: &[Param] = &[q("token", true, "the token from the email")];
const NOTICE_QUERY: &[Param] = &[q("token", true, "the token from the notice")];
const SIGN_UP_QUERY: &[Param] = &[q("oauth_request", false, "the authorization to return to")];
const CONTINUE_QUERY: &[Param] = &[q(
    "continue",
    false,
    "an account page or authorization request to go on to",
)];

const UPSTREAM_START_QUERY: &[Param] = &[
    q("oauth_request", false, "the authorization to return to"),
    q("continue", false, "or an account page to return to"),
];
const FRONTEND_START_QUERY: &[Param] = &[q(
    "redirect_to",
    true,
    "a page under AUTHD_FRONTEND_URL or an AUTHD_CORS_ORIGINS origin; it gets upstream_code (or upstream_error)",
)];
const UPSTREAM_CALLBACK_QUERY: &[Param] = &[
    q("code", false, "from the provider"),
    q("state", true, "the round trip"),
    q("error", false, "the provider's refusal"),
];

const AUTHORIZE_QUERY: &[Param] = &[
    q("response_type", true, "code"),
    q("client_id", true, "the client"),
    q(
        "redirect_uri",
        false,
        "required when the client has several",
    ),
    q("scope", false, "space-separated; openid for an ID token"),
    q("state", false, "returned as given"),
    q("nonce", false, "put in the ID token"),
    q(
        "code_challenge",
        false,
        "PKCE S256 challenge (required for public clients)",
    ),
    q("code_challenge_method", false, "S256"),
    q("prompt", false, "none, login, consent or select_account"),
    q("max_age", false, "seconds a sign-in may be old"),
    q("login_hint", false, "fills in the sign-in form"),
    q(
        "id_token_hint",
        false,
        "an ID token authd issued to this client",
    ),
    q(
        "response_mode",
        false,
        "query (default), fragment or form_post",
    ),
];

const LOGOUT_QUERY: &[Param] = &[
    q("id_token_hint", false, "an ID token authd issued"),
    q("client_id", false, "the client, when no hint"),
    q(
        "post_logout_redirect_uri",
        false,
        "registered for the client",
    ),
    q("state", false, "returned as given"),
];

const ADMIN_LIST_QUERY: &[Param] = &[
    q("q", false, "matches email, username, name or phone"),
    q("page", false, "from 1"),
    q("per_page", false, "1 to 100"),
];

const MESSAGE: Answer = Answer::Json("MessageBody");
const USER: Answer = Answer::Json("UserView");
const TOKENS: Answer = Answer::Json("TokenResponse");

/// Long by nature: one row per route, grouped as `/docs` shows them.
pub fn table() -> Vec<Route> {
    use HttpMethod::{Delete, Get, Patch, Post, Put};
    let mut rows = account_rows();
    rows.extend([
        route(
            Get,
            &[
                "/api/users/me",
                "/api/auth/me",
                "/api/user/profile",
                "/auth/me",
            ],
            accounts::me,
        )
        .tag(Tag::Users)
        .summary("The signed-in user")
        .bearer()
        .ok("200", USER)
        .errors(&["401", "403"]),
        route(Get, &["/api/auth/user", "/auth/user"], accounts::me_wrapped)
            .tag(Tag::Users)
            .summary("The signed-in user, as `{\"user\": ...}`")
            .bearer()
            .ok("200", Answer::Document("{\"user\": UserView}"))
            .errors(&["401", "403"]),
        route(
            Put,
            &["/api/users/me", "/api/user/profile"],
            users::update_me,
        )
        .tag(Tag::Users)
        .summary("Update the profile; a new email stays pending until confirmed (`pending_email`)")
        .bearer()
        .json("ProfileRequest")
        .ok("200", USER)
        .errors(&["400", "401", "403", "409"]),
        route(
            Patch,
            &["/api/users/me", "/api/user/profile"],
            users::update_me,
        )
        .tag(Tag::Users)
        .summary("Update the profile (same as PUT)")
        .bearer()
        .json("ProfileRequest")
        .ok("200", USER)
        .errors(&["400", "401", "403", "409"]),
        route(Delete, &["/api/users/me"], users::delete_me)
            .tag(Tag::Users)
            .summary("Delete the account and everything it owns")
            .bearer()
            .json("DeleteAccountRequest")
            .ok("204", Answer::Other("Deleted"))
            .errors(&["400", "401", "403"]),
        route(
            Post,
            &["/api/users/me/password", "/api/user/change-password"],
            users::change_password,
        )
        .tag(Tag::Users)
        .summary("Change the password; other sessions end")
        .bearer()
        .json("ChangePasswordRequest")
        .ok("200", MESSAGE)
        .errors(&["400", "401", "403"]),
        route(Get, &["/api/users/me/sessions"], users::list_my_sessions)
            .tag(Tag::Users)
            .summary("The user's live sessions (an array of SessionView)")
            .bearer()
            .ok("200", Answer::Json("SessionView"))
            .errors(&["401", "403"]),
        route(
            Delete,
            &["/api/users/me/sessions/{id}"],
            users::end_my_session,
        )
        .tag(Tag::Users)
        .summary("End one of the user's sessions")
        .bearer()
        .ok("204", Answer::Other("Ended"))
        .errors(&["401", "403", "404"]),
        route(Get, &["/api/users/me/activity"], users::my_activity)
            .tag(Tag::Users)
            .summary("The user's sign-ins and security changes of the last 30 days, newest first, in words (an array of ActivityView)")
            .bearer()
            .ok("200", Answer::Json("ActivityView"))
            .errors(&["401", "403"]),
        route(Get, &["/api/users/me/identities"], upstream::list)
            .tag(Tag::Users)
            .summary("The user's identities at upstream providers (an array of IdentityView)")
            .bearer()
            .ok("200", Answer::Json("IdentityView"))
            .errors(&["401", "403"]),
        route(Delete, &["/api/users/me/identities/{id}"], upstream::unlink)
            .tag(Tag::Users)
            .summary("Unlink an identity; 409 when it is the account's last way to sign in")
            .bearer()
            .ok("204", Answer::Other("Unlinked"))
            .errors(&["401", "403", "404", "409"]),
        route(Get, &["/api/users/me/factors"], factors::list)
            .tag(Tag::Users)
            .summary("The user's second factors and how many recovery codes remain")
            .bearer()
            .ok("200", Answer::Json("FactorsView"))
            .errors(&["401", "403"]),
        route(Post, &["/api/users/me/factors"], factors::enrol)
            .tag(Tag::Users)
            .summary("Start enrolling a factor: an authenticator app (its secret and otpauth URI; pending until its first code) or a passkey (PasskeyEnrolment: options for navigator.credentials.create; pending until /verify gets the credential)")
            .bearer()
            .json("NewFactorRequest")
            .ok("201", Answer::Json("TotpEnrolment"))
            .errors(&["400", "401", "403"]),
        route(
            Post,
            &["/api/users/me/factors/{id}/verify"],
            factors::confirm,
        )
        .tag(Tag::Users)
        .summary("Confirm a pending factor with its first code (a passkey: `credential`, what navigator.credentials.create gave); the account's first factor brings its recovery codes, shown once")
        .bearer()
        .json("CodeRequest")
        .ok("200", Answer::Json("Confirmed"))
        .errors(&["400", "401", "403", "404", "409"]),
        route(Patch, &["/api/users/me/factors/{id}"], factors::rename)
            .tag(Tag::Users)
            .summary("Rename a factor")
            .bearer()
            .json("CodeRequest")
            .ok("200", MESSAGE)
            .errors(&["400", "401", "403", "404"]),
        route(Delete, &["/api/users/me/factors/{id}"], factors::remove)
            .tag(Tag::Users)
            .summary("Remove a factor: needs `code`, or a second factor proved in the last 5 minutes")
            .bearer()
            .json("CodeRequest")
            .ok("204", Answer::Other("Removed"))
            .errors(&["400", "401", "403", "404"]),
        route(
            Post,
            &["/api/users/me/factors/recovery-codes"],
            factors::regenerate_recovery_codes,
        )
        .tag(Tag::Users)
        .summary("A new set of ten recovery codes, the old one void: needs `code`, or a recent second factor")
        .bearer()
        .json("CodeRequest")
        .ok("200", Answer::Document("{\"recovery_codes\": [string]}"))
        .errors(&["400", "401", "403"]),
        route(Get, &["/api/users/me/consents"], users::list_my_consents)
            .tag(Tag::Users)
            .summary("The third-party applications the user has allowed, with their scopes (an array of ConsentView)")
            .bearer()
            .ok("200", Answer::Json("ConsentView"))
            .errors(&["401", "403"]),
        route(
            Delete,
            &["/api/users/me/consents/{id}"],
            users::revoke_my_consent,
        )
        .tag(Tag::Users)
        .summary("Withdraw a consent: the application's tokens for the user end")
        .bearer()
        .ok("204", Answer::Other("Withdrawn"))
        .errors(&["401", "403", "404"]),
    ]);
    rows.extend(admin_rows());
    rows.extend(oauth_rows());
    rows.extend(page_rows());
    rows.extend(operation_rows());
    rows
}

fn account_rows() -> Vec<Route> {
    use HttpMethod::{Get, Post};
    vec![
        auth(Post, &["/register"], accounts::register)
            .summary("Sign up: a pending registration and a verification email (with verification off: tokens)")
            .json("RegisterRequest")
            .ok("201", Answer::Either("RegisteredBody", "TokenResponse"))
            .errors(&["400", "409", "429"]),
        auth(Get, &["/verify", "/verify-email-link", "/verify-email"], accounts::verify_link)
            .summary("Follow a verification link; browsers are sent to the frontend when one is configured")
            .query(TOKEN_QUERY)
            .ok("200", MESSAGE)
            .errors(&["400", "409"]),
        auth(Post, &["/verify-email", "/verify"], accounts::verify_post)
            .summary("Verify an email with the token from the link")
            .json("TokenRequest")
            .ok("200", MESSAGE)
            .errors(&["400", "409"]),
        auth(Post, &["/resend-verification"], accounts::resend_verification)
            .summary("Send a new verification link (the same answer for any address)")
            .json("EmailRequest")
            .ok("200", MESSAGE)
            .errors(&["400", "429"]),
        auth(Get, &["/cancel-email-change"], account_pages::cancel_email_change_page)
            .summary("The page behind the notice to the old address: asks before stopping a pending email change")
            .query(NOTICE_QUERY)
            .ok("200", Answer::Html),
        auth(Post, &["/cancel-email-change"], accounts::cancel_email_change)
            .summary("Stop a pending email change with the notice's token; every session ends")
            .json("TokenRequest")
            .ok("200", MESSAGE)
            .errors(&["400", "409"]),
        auth(Post, &["/login"], accounts::login)
            .summary("Log in by email, phone or username (JSON, or form `username=&password=`); an account with a second factor gets a Challenge instead of tokens")
            .json("LoginRequest")
            .ok("200", TOKENS)
            .errors(&["400", "401", "403", "429"]),
        auth(Post, &["/mfa/verify"], factors::verify_second_step)
            .summary("A login's second step: the challenge and a code (authenticator app, or a recovery code) or a passkey's `credential`; the login's tokens")
            .json("MfaVerifyRequest")
            .ok("200", TOKENS)
            .errors(&["400", "401", "429"]),
        auth(Get, &["/upstream"], upstream::providers)
            .summary("The upstream providers a frontend may offer: id, name, start address")
            .ok("200", Answer::Document("[{\"id\", \"name\", \"start\"}]")),
        auth(Get, &["/upstream/{id}/start"], upstream::start_for_frontend)
            .summary("A frontend's \"Continue with ...\" button: on to the provider, back to redirect_to with upstream_code")
            .query(FRONTEND_START_QUERY)
            .ok("303", Answer::Other("To the provider"))
            .errors(&["400", "404", "424"]),
        auth(Post, &["/upstream/exchange"], upstream::exchange)
            .summary("The upstream_code (once, within 2 minutes) for the login's answer: tokens, or the second step's challenge")
            .json("ExchangeRequest")
            .ok("200", TOKENS)
            .errors(&["400", "429"]),
        auth(Post, &["/passkey/options"], factors::passkey_options)
            .summary("Sign in with a passkey, no name typed: options for navigator.credentials.get and their sealed state (403 when passkeys are off)")
            .ok("200", Answer::Json("PasskeySignIn"))
            .errors(&["403", "429"]),
        auth(Post, &["/passkey/login"], factors::passkey_login)
            .summary("The passkey's answer (`credential`) with the options' `state`: the login's tokens, amr hwk+user")
            .json("PasskeyLoginRequest")
            .ok("200", TOKENS)
            .errors(&["400", "401", "403", "429"]),
        auth(Post, &["/refresh"], accounts::refresh)
            .summary("Rotate a refresh token: a new pair; the old refresh token stops working")
            .json("RefreshRequest")
            .ok("200", TOKENS)
            .errors(&["400", "401", "403"]),
        auth(Post, &["/logout"], accounts::logout)
            .summary("End one session (by refresh token, or the Bearer token's session)")
            .json("LogoutRequest")
            .ok("200", MESSAGE)
            .errors(&["400"]),
        auth(Post, &["/logout-all"], accounts::logout_all)
            .summary("End every session of the user")
            .bearer()
            .ok("200", MESSAGE)
            .errors(&["401", "403"]),
        auth(Post, &["/forgot-password", "/forgot"], accounts::forgot_password)
            .summary("Email a password-reset link (the same answer for any address)")
            .json("EmailRequest")
            .ok("200", MESSAGE)
            .errors(&["400", "429"]),
        auth(Get, &["/reset-password"], account_pages::reset_password_page)
            .summary("The password-reset page the email links to when no frontend is configured")
            .query(TOKEN_QUERY)
            .ok("200", Answer::Html),
        auth(Post, &["/reset-password", "/reset"], accounts::reset_password)
            .summary("Set a new password from a reset link; every session ends")
            .json("ResetPasswordRequest")
            .ok("200", MESSAGE)
            .errors(&["400", "429"]),
        auth(Post, &["/anonymous"], accounts::create_anonymous)
            .summary("Create an anonymous user and sign it in")
            .json("AnonymousRequest")
            .ok("201", TOKENS)
            .errors(&["400", "429"]),
    ]
}

fn admin_rows() -> Vec<Route> {
    use HttpMethod::{Delete, Get, Patch};
    let admin = |row: Route| row.tag(Tag::Admin).bearer();
    vec![
        admin(route(
            Delete,
            &["/api/admin/users/{id}/factors"],
            factors::admin_reset,
        ))
        .summary("Remove every second factor and recovery code of an account; its sessions end")
        .ok("200", MESSAGE)
        .errors(&["401", "403", "404"]),
        admin(route(Get, &["/api/admin/audit"], users::admin_audit))
            .summary("Audit events, newest first: sign-ins and failures, sign-ups, password, email, factor, identity and consent changes, sessions ended (and why: a reused refresh token is theft), deletions, admin and command-line actions")
            .query(AUDIT_QUERY)
            .ok("200", Answer::Json("AuditPage"))
            .errors(&["400", "401", "403"]),
        admin(route(Get, &["/api/admin/users"], users::admin_list_users))
            .summary("Users, newest first, filtered by `q`")
            .query(ADMIN_LIST_QUERY)
            .ok("200", Answer::Json("UserPageBody"))
            .errors(&["400", "401", "403"]),
        admin(route(
            Get,
            &["/api/admin/users/{id}"],
            users::admin_get_user,
        ))
        .summary("One user")
        .ok("200", USER)
        .errors(&["401", "403", "404"]),
        admin(route(
            Patch,
            &["/api/admin/users/{id}"],
            users::admin_update_user,
        ))
        .summary("Change a user's role, activity or profile; deactivation ends their sessions")
        .json("AdminUserRequest")
        .ok("200", USER)
        .errors(&["400", "401", "403", "404"]),
        admin(route(
            Delete,
            &["/api/admin/users/{id}"],
            users::admin_delete_user,
        ))
        .summary("Delete a user")
        .ok("204", Answer::Other("Deleted"))
        .errors(&["401", "403", "404"]),
        admin(route(
            Delete,
            &["/api/admin/users/{id}/sessions"],
            users::admin_revoke_sessions,
        ))
        .summary("End every session of a user")
        .ok("204", Answer::Other("Ended"))
        .errors(&["401", "403", "404"]),
    ]
}

fn oauth_rows() -> Vec<Route> {
    use HttpMethod::{Get, Post};
    let oauth = |row: Route| row.tag(Tag::OAuth);
    const CLIENT_FIELDS: &str = "token!, token_type_hint, client_id, client_secret";
    vec![
        oauth(route(Get, &["/oauth/authorize"], authorize::authorize_get))
            .summary("Start an authorization: the sign-in or consent page, or a redirect back to the client")
            .query(AUTHORIZE_QUERY)
            .ok("200", Answer::Html)
            .errors(&["400"]),
        oauth(route(Get, &["/oauth/upstream/{id}/start"], upstream::start_page))
            .summary("A sign-in page's \"Continue with ...\" button: on to the provider")
            .query(UPSTREAM_START_QUERY)
            .ok("303", Answer::Other("To the provider"))
            .errors(&["404", "424"]),
        oauth(route(Get, &["/oauth/upstream/{id}/callback"], upstream::callback))
            .summary("The provider's answer: signs in, asks for the account's proof or second factor, or says why not")
            .query(UPSTREAM_CALLBACK_QUERY)
            .ok("303", Answer::Other("On, signed in"))
            .errors(&["400", "403", "404", "424"]),
        oauth(route(Post, &["/oauth/authorize"], authorize::authorize_post))
            .summary("The sign-in and consent forms of the authorize page")
            .form("oauth_request, csrf, action (login, approve or deny), username, password")
            .ok("303", Answer::Other("Redirect to the client or back to the page"))
            .errors(&["400", "401", "403"]),
        oauth(route(Post, &["/oauth/token"], oauth::token))
            .summary("The token endpoint: authorization_code, refresh_token, client_credentials, password")
            .client()
            .form("grant_type!, code, redirect_uri, code_verifier, refresh_token, username, password, scope, client_id, client_secret")
            .ok("200", Answer::Json("OAuthTokenResponse"))
            .errors(&["400", "401", "429"]),
        oauth(route(Post, &["/oauth/revoke"], oauth::revoke))
            .summary("Revoke a refresh or access token (RFC 7009); unknown tokens also answer 200")
            .client()
            .form(CLIENT_FIELDS)
            .ok("200", Answer::Other("Revoked"))
            .errors(&["400", "401"]),
        oauth(route(Post, &["/oauth/introspect"], oauth::introspect))
            .summary("Introspect a token (RFC 7662), for the client it was issued to")
            .client()
            .form(CLIENT_FIELDS)
            .ok("200", Answer::Document("{\"active\": bool, ...} (RFC 7662)"))
            .errors(&["400", "401"]),
        oauth(route(Get, &["/oauth/userinfo"], oauth::userinfo))
            .summary("OpenID Connect claims of the access token's user")
            .bearer()
            .ok("200", Answer::Document("{\"sub\", ...} claims allowed by the token's scopes"))
            .errors(&["401", "403"]),
        oauth(route(Post, &["/oauth/userinfo"], oauth::userinfo))
            .summary("OpenID Connect claims of the access token's user (same as GET)")
            .bearer()
            .ok("200", Answer::Document("{\"sub\", ...} claims allowed by the token's scopes"))
            .errors(&["401", "403"]),
        oauth(route(Get, &["/oauth/logout"], logout::logout))
            .summary("RP-initiated logout: ends the browser session, then back to the client")
            .query(LOGOUT_QUERY)
            .ok("200", Answer::Html)
            .errors(&["400"]),
        oauth(route(Post, &["/oauth/logout"], logout::logout))
            .summary("RP-initiated logout, as a form post")
            .form("id_token_hint, client_id, post_logout_redirect_uri, state")
            .ok("200", Answer::Html)
            .errors(&["400"]),
        oauth(route(
            Get,
            &["/.well-known/openid-configuration"],
            wellknown::openid_configuration,
        ))
        .summary("OpenID Connect discovery")
        .ok("200", Answer::Document("OpenID Provider Metadata")),
        oauth(route(
            Get,
            &["/.well-known/oauth-authorization-server"],
            wellknown::oauth_authorization_server,
        ))
        .summary("OAuth 2.0 authorization server metadata (RFC 8414)")
        .ok("200", Answer::Document("Authorization Server Metadata")),
        oauth(route(Get, &["/.well-known/jwks.json"], wellknown::jwks))
            .summary("The public keys that verify authd's tokens (JWK Set)")
            .ok("200", Answer::Document("{\"keys\": [JWK]}")),
    ]
}

fn page_rows() -> Vec<Route> {
    use HttpMethod::{Get, Post};
    let page = |row: Route| row.tag(Tag::Pages);
    vec![
        page(route(
            Get,
            &["/account/sign-up"],
            account_pages::sign_up_page,
        ))
        .summary("The sign-up page linked from the sign-in page")
        .query(SIGN_UP_QUERY)
        .ok("200", Answer::Html),
        page(route(Post, &["/account/sign-up"], account_pages::sign_up))
            .summary("The sign-up form: the same rules and verification email as the API")
            .form("oauth_request, full_name, email, password")
            .ok("200", Answer::Html)
            .errors(&["400", "409", "429"]),
        page(route(
            Get,
            &["/account/forgot-password"],
            account_pages::forgot_password_page,
        ))
        .summary("The forgotten-password page")
        .ok("200", Answer::Html),
        page(route(
            Post,
            &["/account/forgot-password"],
            account_pages::forgot_password_form,
        ))
        .summary("The forgotten-password form")
        .form("email")
        .ok("200", Answer::Html)
        .errors(&["400", "429"]),
        page(route(
            Post,
            &["/account/reset-password"],
            account_pages::reset_password_form,
        ))
        .summary("The password-reset form")
        .form("token, new_password, confirm_password")
        .ok("200", Answer::Html)
        .errors(&["400", "429"]),
        page(route(Post, &["/account/verify"], account_pages::verify_form))
            .summary("The verification page's button: confirms the address (and, in the browser of a hosted sign-up, signs in)")
            .form("token, csrf, continue")
            .ok("200", Answer::Html)
            .errors(&["400", "403"]),
        page(route(
            Post,
            &["/account/resend-verification"],
            account_pages::resend_verification_form,
        ))
        .summary("Ask for a new verification email from a page")
        .form("email")
        .ok("200", Answer::Html)
        .errors(&["400", "429"]),
        page(route(
            Get,
            &["/account/security"],
            account_security::security_page,
        ))
        .summary("The account's sign-in security: second factors and recovery codes (signs in first when needed)")
        .query(CONTINUE_QUERY)
        .ok("200", Answer::Html),
        page(route(
            Post,
            &["/account/security/totp"],
            account_security::add_totp,
        ))
        .summary("Add an authenticator app: its QR code and key")
        .form("csrf, continue")
        .ok("200", Answer::Html)
        .errors(&["403"]),
        page(route(
            Post,
            &["/account/security/totp/confirm"],
            account_security::confirm_totp,
        ))
        .summary("Confirm an authenticator app with its first code; the first factor shows the recovery codes")
        .form("csrf, id, code, continue")
        .ok("200", Answer::Html)
        .errors(&["401", "403"]),
        page(route(
            Post,
            &["/account/security/passkey"],
            account_security::add_passkey,
        ))
        .summary("Add a passkey: the page whose script makes it (options for navigator.credentials.create)")
        .form("csrf, name, continue")
        .ok("200", Answer::Html)
        .errors(&["403"]),
        page(route(
            Post,
            &["/account/security/passkey/confirm"],
            account_security::confirm_passkey,
        ))
        .summary("Register the passkey the browser made (`credential`, JSON); the first factor shows the recovery codes")
        .form("csrf, id, credential, continue")
        .ok("200", Answer::Html)
        .errors(&["401", "403", "409"]),
        page(route(
            Post,
            &["/account/security/rename"],
            account_security::rename,
        ))
        .summary("Rename a factor")
        .form("csrf, id, name, continue")
        .ok("200", Answer::Html)
        .errors(&["400", "403"]),
        page(route(
            Post,
            &["/account/security/remove"],
            account_security::remove,
        ))
        .summary("Remove a factor (a recent second factor, or its code)")
        .form("csrf, id, code")
        .ok("200", Answer::Html)
        .errors(&["403"]),
        page(route(
            Post,
            &["/account/security/recovery-codes"],
            account_security::new_recovery_codes,
        ))
        .summary("New recovery codes, shown once (a recent second factor, or its code)")
        .form("csrf, code")
        .ok("200", Answer::Html)
        .errors(&["403"]),
        page(route(
            Get,
            &["/account/sign-in"],
            account_security::sign_in_page,
        ))
        .summary("The account pages' sign-in")
        .query(CONTINUE_QUERY)
        .ok("200", Answer::Html),
        page(route(Post, &["/account/sign-in"], account_security::sign_in))
            .summary("The account pages' sign-in form: the password, then the second step")
            .form("csrf, action, username, password, code, continue")
            .ok("303", Answer::Other("On to `continue`"))
            .errors(&["401", "403", "429"]),
        page(route(Post, &["/account/link"], upstream::link_by_password))
            .summary("The account's password proves it: the other provider's identity joins it")
            .form("csrf, link, password")
            .ok("303", Answer::Other("On, signed in"))
            .errors(&["400", "401", "403", "429"]),
        page(route(Post, &["/account/link/email"], upstream::link_by_email))
            .summary("Email the account a link that proves it instead")
            .form("csrf, link")
            .ok("200", Answer::Html)
            .errors(&["400", "403"]),
        page(route(Get, &["/account/link/confirm"], upstream::confirm_page))
            .summary("The emailed link: a page whose button links")
            .query(TOKEN_QUERY)
            .ok("200", Answer::Html),
        page(route(Post, &["/account/link/confirm"], upstream::confirm))
            .summary("Link, in the browser that asked, and sign in")
            .form("csrf, token")
            .ok("303", Answer::Other("On, signed in"))
            .errors(&["400", "403"]),
        page(route(Post, &["/account/identities/link"], upstream::link_from_account))
            .summary("Link another provider to the signed-in account")
            .form("csrf, provider")
            .ok("303", Answer::Other("To the provider"))
            .errors(&["403", "404"]),
        page(route(Post, &["/account/identities/unlink"], upstream::unlink_from_account))
            .summary("Unlink an identity (not the last way to sign in)")
            .form("csrf, id")
            .ok("303", Answer::Other("Back to the security page"))
            .errors(&["403", "409"]),
        page(route(Get, &["/assets/authd.css"], pages::stylesheet))
            .summary("The hosted pages' stylesheet")
            .ok("200", Answer::Other("text/css")),
        page(route(Get, &["/assets/authd.js"], pages::script))
            .summary("The hosted pages' script (show-password toggle)")
            .ok("200", Answer::Other("text/javascript")),
        page(route(Get, &["/"], pages::home))
            .summary("For a browser, a page naming the service and the way to the account's sign-in security; for a program, the issuer and where discovery is")
            .ok("200", Answer::Html),
        page(route(Get, &["/robots.txt"], pages::robots))
            .summary("Nothing here is for search engines")
            .ok("200", Answer::Other("text/plain")),
        page(route(Get, &["/favicon.ico"], pages::favicon))
            .summary("No icon (204), so browsers stop asking")
            .ok("204", Answer::Other("No content")),
    ]
}

fn operation_rows() -> Vec<Route> {
    use HttpMethod::Get;
    vec![
        route(Get, &["/healthz"], wellknown::healthz)
            .summary("Liveness: the process answers")
            .ok("200", Answer::Document("{\"status\": \"ok\"}")),
        route(Get, &["/readyz"], wellknown::readyz)
            .summary("Readiness: the database takes a write within 2 s, and a key signs")
            .ok(
                "200",
                Answer::Document("{\"database\": true, \"signing_key\": true}"),
            )
            .errors(&["503"]),
        route(Get, &["/openapi.json"], openapi::openapi_json)
            .summary("This document (OpenAPI 3.1)")
            .ok("200", Answer::Document("OpenAPI 3.1")),
        route(Get, &["/docs"], api_docs::docs)
            .summary("The API reference for people")
            .ok("200", Answer::Html),
    ]
}
