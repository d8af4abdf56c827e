//! `GET /openapi.json` (OpenAPI 3.1 of every route) and `GET /docs` (a page that renders it).
//! Request and response schemas are derived from the wire types themselves, so they cannot
//! drift from what the handlers accept; the route table below names each route once.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Ref,
    ResponseBuilder, ResponsesBuilder, ServerBuilder,
};

use super::requests::*;
use crate::accounts::consent::ConsentView;
use crate::accounts::{SessionView, TokenResponse, UserView};
use crate::oauth::wire::TokenResponse as OAuthTokenResponse;
use crate::state::AppState;

/// The error body of `/api/...` routes.
#[derive(Serialize, ToSchema)]
pub struct ApiErrorBody {
    pub message: String,
    /// One entry per bad field, on 400 validation failures.
    pub errors: Option<BTreeMap<String, String>>,
}

/// The error body of `/oauth/...` routes (RFC 6749 section 5.2).
#[derive(Serialize, ToSchema)]
pub struct OAuthErrorBody {
    pub error: String,
    pub error_description: Option<String>,
}

/// A `{"message"}` answer.
#[derive(Serialize, ToSchema)]
pub struct MessageBody {
    pub message: String,
}

/// `GET /api/admin/users`.
#[derive(Serialize, ToSchema)]
pub struct UserPageBody {
    pub users: Vec<UserView>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

enum Body {
    None,
    Json(&'static str),
    Form(&'static str),
}

struct Route {
    method: HttpMethod,
    paths: &'static [&'static str],
    summary: &'static str,
    tag: &'static str,
    bearer: bool,
    body: Body,
    /// Success status, and the schema answered with it (`None`: no body or not JSON).
    ok: (&'static str, Option<&'static str>),
    errors: &'static [&'static str],
}

/// One row of the route table, one argument per column.
#[allow(clippy::too_many_arguments)]
const fn r(
    method: HttpMethod,
    paths: &'static [&'static str],
    summary: &'static str,
    tag: &'static str,
    bearer: bool,
    body: Body,
    ok: (&'static str, Option<&'static str>),
    errors: &'static [&'static str],
) -> Route {
    Route {
        method,
        paths,
        summary,
        tag,
        bearer,
        body,
        ok,
        errors,
    }
}

/// Long by nature: one entry per route, in the order of the router, so the two read side by side.
fn routes() -> Vec<Route> {
    use Body::{Form, Json as J, None as N};
    use HttpMethod::{Delete, Get, Patch, Post, Put};
    const A: &str = "account";
    const U: &str = "users";
    const AD: &str = "admin";
    const O: &str = "oauth";
    const OPS: &str = "operations";
    vec![
        r(
            Post,
            &["/api/auth/register", "/auth/register"],
            "Sign up: a pending registration and a verification email (with verification off: tokens)",
            A,
            false,
            J("RegisterRequest"),
            ("201", Some("MessageBody")),
            &["400", "409", "429"],
        ),
        r(
            Get,
            &[
                "/api/auth/verify",
                "/api/auth/verify-email-link",
                "/api/auth/verify-email",
                "/auth/verify",
            ],
            "Follow a verification link (`?token=`); browsers are redirected to the frontend when configured",
            A,
            false,
            N,
            ("200", Some("MessageBody")),
            &["400", "409"],
        ),
        r(
            Post,
            &[
                "/api/auth/verify-email",
                "/api/auth/verify",
                "/auth/verify-email",
            ],
            "Verify an email with a token",
            A,
            false,
            J("TokenRequest"),
            ("200", Some("MessageBody")),
            &["400", "409"],
        ),
        r(
            Post,
            &["/api/auth/resend-verification", "/auth/resend-verification"],
            "Send a new verification link (same answer for any address)",
            A,
            false,
            J("EmailRequest"),
            ("200", Some("MessageBody")),
            &["400", "429"],
        ),
        r(
            Get,
            &["/api/auth/cancel-email-change", "/auth/cancel-email-change"],
            "The page behind the notice to the old address (`?token=`): asks before stopping a pending email change",
            A,
            false,
            N,
            ("200", None),
            &[],
        ),
        r(
            Post,
            &["/api/auth/cancel-email-change", "/auth/cancel-email-change"],
            "Stop a pending email change with the notice's token; every session ends",
            A,
            false,
            J("TokenRequest"),
            ("200", Some("MessageBody")),
            &["400", "409"],
        ),
        r(
            Post,
            &["/api/auth/login", "/auth/login"],
            "Log in by email, phone or username (JSON, or form `username=&password=`)",
            A,
            false,
            J("LoginRequest"),
            ("200", Some("TokenResponse")),
            &["400", "401", "403", "429"],
        ),
        r(
            Post,
            &["/api/auth/refresh", "/auth/refresh"],
            "Rotate a refresh token",
            A,
            false,
            J("RefreshRequest"),
            ("200", Some("TokenResponse")),
            &["400", "401", "403"],
        ),
        r(
            Post,
            &["/api/auth/logout", "/auth/logout"],
            "End one session (refresh token, or Bearer)",
            A,
            false,
            J("LogoutRequest"),
            ("200", Some("MessageBody")),
            &["400"],
        ),
        r(
            Post,
            &["/api/auth/logout-all", "/auth/logout-all"],
            "End every session of the user",
            A,
            true,
            N,
            ("200", Some("MessageBody")),
            &["401"],
        ),
        r(
            Post,
            &["/api/auth/anonymous", "/auth/anonymous"],
            "Create an anonymous user and sign it in",
            A,
            false,
            J("AnonymousRequest"),
            ("201", Some("TokenResponse")),
            &["400", "429"],
        ),
        r(
            Post,
            &[
                "/api/auth/forgot-password",
                "/api/auth/forgot",
                "/auth/forgot-password",
                "/auth/forgot",
            ],
            "Email a password-reset link (same answer for any address)",
            A,
            false,
            J("EmailRequest"),
            ("200", Some("MessageBody")),
            &["400", "429"],
        ),
        r(
            Post,
            &[
                "/api/auth/reset-password",
                "/api/auth/reset",
                "/auth/reset-password",
                "/auth/reset",
            ],
            "Set a new password from a reset link; ends every session",
            A,
            false,
            J("ResetPasswordRequest"),
            ("200", Some("MessageBody")),
            &["400", "429"],
        ),
        r(
            Get,
            &["/api/auth/reset-password"],
            "The password-reset page the email links to when no frontend is configured (HTML)",
            A,
            false,
            N,
            ("200", None),
            &[],
        ),
        r(
            Get,
            &[
                "/api/users/me",
                "/api/auth/me",
                "/api/user/profile",
                "/auth/me",
            ],
            "The signed-in user",
            U,
            true,
            N,
            ("200", Some("UserView")),
            &["401", "403"],
        ),
        r(
            Get,
            &["/api/auth/user", "/auth/user"],
            "The signed-in user, as `{\"user\": ...}`",
            U,
            true,
            N,
            ("200", None),
            &["401", "403"],
        ),
        r(
            Put,
            &["/api/users/me", "/api/user/profile"],
            "Update the profile; a new email stays pending until confirmed",
            U,
            true,
            J("ProfileRequest"),
            ("200", Some("UserView")),
            &["400", "401", "409"],
        ),
        r(
            Patch,
            &["/api/users/me"],
            "Update the profile (same as PUT)",
            U,
            true,
            J("ProfileRequest"),
            ("200", Some("UserView")),
            &["400", "401", "409"],
        ),
        r(
            Delete,
            &["/api/users/me"],
            "Delete the account and everything it owns",
            U,
            true,
            J("DeleteAccountRequest"),
            ("204", None),
            &["400", "401"],
        ),
        r(
            Post,
            &["/api/users/me/password", "/api/user/change-password"],
            "Change the password; other sessions end",
            U,
            true,
            J("ChangePasswordRequest"),
            ("200", Some("MessageBody")),
            &["400", "401"],
        ),
        r(
            Get,
            &["/api/users/me/sessions"],
            "The user's live sessions",
            U,
            true,
            N,
            ("200", Some("SessionView")),
            &["401"],
        ),
        r(
            Delete,
            &["/api/users/me/sessions/{id}"],
            "End one of the user's sessions",
            U,
            true,
            N,
            ("204", None),
            &["401", "404"],
        ),
        r(
            Get,
            &["/api/users/me/consents"],
            "The third-party applications the user has allowed, with their scopes",
            U,
            true,
            N,
            ("200", Some("ConsentView")),
            &["401", "403"],
        ),
        r(
            Delete,
            &["/api/users/me/consents/{id}"],
            "Withdraw an application's access (by client id); its sessions end",
            U,
            true,
            N,
            ("204", None),
            &["401", "403", "404"],
        ),
        r(
            Get,
            &["/api/admin/users"],
            "List users (`?q=&page=&per_page=`)",
            AD,
            true,
            N,
            ("200", Some("UserPageBody")),
            &["400", "401", "403"],
        ),
        r(
            Get,
            &["/api/admin/users/{id}"],
            "One user",
            AD,
            true,
            N,
            ("200", Some("UserView")),
            &["401", "403", "404"],
        ),
        r(
            Patch,
            &["/api/admin/users/{id}"],
            "Change a user's role or active status",
            AD,
            true,
            J("AdminUserRequest"),
            ("200", Some("UserView")),
            &["400", "401", "403", "404"],
        ),
        r(
            Delete,
            &["/api/admin/users/{id}"],
            "Delete a user",
            AD,
            true,
            N,
            ("204", None),
            &["401", "403", "404"],
        ),
        r(
            Delete,
            &["/api/admin/users/{id}/sessions"],
            "End every session of a user",
            AD,
            true,
            N,
            ("204", None),
            &["401", "403", "404"],
        ),
        r(
            Get,
            &["/oauth/authorize"],
            "Authorization code flow: sign-in and consent pages (HTML), then a redirect with `code` and `state`",
            O,
            false,
            N,
            ("200", None),
            &["400"],
        ),
        r(
            Post,
            &["/oauth/authorize"],
            "The sign-in and consent forms of the authorization page",
            O,
            false,
            N,
            ("303", None),
            &["400", "401", "403"],
        ),
        r(
            Post,
            &["/oauth/token"],
            "Token endpoint: authorization_code (PKCE), refresh_token, client_credentials, password",
            O,
            false,
            Form(
                "grant_type, code, redirect_uri, code_verifier, refresh_token, username, password, scope, client_id, client_secret",
            ),
            ("200", Some("OAuthTokenResponse")),
            &["400", "401", "429"],
        ),
        r(
            Post,
            &["/oauth/revoke"],
            "RFC 7009 token revocation",
            O,
            false,
            Form("token, token_type_hint, client_id, client_secret"),
            ("200", None),
            &["400", "401"],
        ),
        r(
            Post,
            &["/oauth/introspect"],
            "RFC 7662 token introspection (confidential clients)",
            O,
            false,
            Form("token, token_type_hint, client_id, client_secret"),
            ("200", None),
            &["400", "401"],
        ),
        r(
            Get,
            &["/oauth/userinfo"],
            "OIDC userinfo",
            O,
            true,
            N,
            ("200", None),
            &["401", "403"],
        ),
        r(
            Post,
            &["/oauth/userinfo"],
            "OIDC userinfo",
            O,
            true,
            N,
            ("200", None),
            &["401", "403"],
        ),
        r(
            Get,
            &[
                "/.well-known/openid-configuration",
                "/.well-known/oauth-authorization-server",
            ],
            "Discovery (OIDC Discovery 1.0, RFC 8414)",
            O,
            false,
            N,
            ("200", None),
            &[],
        ),
        r(
            Get,
            &["/.well-known/jwks.json"],
            "Signing keys (RFC 7517)",
            O,
            false,
            N,
            ("200", None),
            &[],
        ),
        r(
            Get,
            &["/healthz"],
            "The process is up",
            OPS,
            false,
            N,
            ("200", None),
            &[],
        ),
        r(
            Get,
            &["/readyz"],
            "Database reachable and a signing key loaded",
            OPS,
            false,
            N,
            ("200", None),
            &["503"],
        ),
        r(
            Get,
            &["/openapi.json"],
            "This document",
            OPS,
            false,
            N,
            ("200", None),
            &[],
        ),
        r(
            Get,
            &["/docs"],
            "A page that renders this document",
            OPS,
            false,
            N,
            ("200", None),
            &[],
        ),
    ]
}

fn json_content(schema: &str) -> utoipa::openapi::Content {
    ContentBuilder::new()
        .schema(Some(Ref::from_schema_name(schema)))
        .build()
}

fn error_status_text(status: &str) -> &'static str {
    match status {
        "400" => "Invalid input",
        "401" => "Bad or missing credentials or token",
        "403" => "Not allowed",
        "404" => "Not found",
        "409" => "Conflict",
        "429" => "Rate limited (see Retry-After)",
        "503" => "Not ready",
        _ => "Error",
    }
}

/// The OpenAPI document, built once per request from the route table (cheap: microseconds).
/// The parameters of `path`: each `{name}` segment, and the query parameters its route reads.
fn parameters(path: &str, method: &HttpMethod) -> Vec<utoipa::openapi::path::Parameter> {
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    use utoipa::openapi::{ObjectBuilder, Required, Type};
    let string = || ObjectBuilder::new().schema_type(Type::String).build();
    let mut out = Vec::new();
    for segment in path.split('/') {
        if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            out.push(
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .schema(Some(string()))
                    .build(),
            );
        }
    }
    let get = matches!(method, HttpMethod::Get);
    let query: &[(&str, bool, &str)] = match path {
        "/oauth/authorize" if get => &[
            ("response_type", true, "code"),
            ("client_id", true, "the client"),
            (
                "redirect_uri",
                false,
                "required when the client has several",
            ),
            ("scope", false, "space-separated; openid for an ID token"),
            ("state", false, "returned as given"),
            ("nonce", false, "put in the ID token"),
            (
                "code_challenge",
                false,
                "PKCE S256 challenge (required for public clients)",
            ),
            ("code_challenge_method", false, "S256"),
            ("prompt", false, "none, login, consent or select_account"),
            ("max_age", false, "seconds a sign-in may be old"),
            ("login_hint", false, "fills in the sign-in form"),
            (
                "id_token_hint",
                false,
                "an ID token authd issued to this client",
            ),
            (
                "response_mode",
                false,
                "query (default), fragment or form_post",
            ),
        ],
        "/oauth/logout" if get => &[
            ("id_token_hint", false, "an ID token authd issued"),
            ("client_id", false, "the client, when no hint"),
            (
                "post_logout_redirect_uri",
                false,
                "registered for the client",
            ),
            ("state", false, "returned as given"),
        ],
        p if get && (p.ends_with("/verify") || p.ends_with("/verify-email-link")) => {
            &[("token", true, "the token from the email")]
        }
        p if get && p.ends_with("/cancel-email-change") => {
            &[("token", true, "the token from the notice")]
        }
        "/api/admin/users" if get => &[
            ("q", false, "matches email, username, name or phone"),
            ("page", false, "from 1"),
            ("per_page", false, "1 to 100"),
        ],
        _ => &[],
    };
    for (name, required, description) in query {
        out.push(
            ParameterBuilder::new()
                .name(*name)
                .parameter_in(ParameterIn::Query)
                .required(if *required {
                    Required::True
                } else {
                    Required::False
                })
                .description(Some(*description))
                .schema(Some(string()))
                .build(),
        );
    }
    out
}

pub fn document(server: &str) -> OpenApi {
    let mut paths = PathsBuilder::new();
    let mut items: Vec<(String, PathItem)> = Vec::new();
    for route in routes() {
        let oauth = route.tag == "oauth";
        let mut responses = ResponsesBuilder::new();
        let ok = ResponseBuilder::new().description("Success");
        let ok = match route.ok.1 {
            Some(schema) => ok.content("application/json", json_content(schema)),
            None => ok,
        };
        responses = responses.response(route.ok.0, ok.build());
        for status in route.errors {
            let schema = if oauth {
                "OAuthErrorBody"
            } else {
                "ApiErrorBody"
            };
            responses = responses.response(
                *status,
                ResponseBuilder::new()
                    .description(error_status_text(status))
                    .content("application/json", json_content(schema))
                    .build(),
            );
        }
        let mut op = OperationBuilder::new()
            .summary(Some(route.summary))
            .tag(route.tag)
            .responses(responses.build());
        op = match route.body {
            Body::None => op,
            Body::Json(schema) => {
                let body = RequestBodyBuilder::new()
                    .content("application/json", json_content(schema))
                    .content("application/x-www-form-urlencoded", json_content(schema))
                    .build();
                op.request_body(Some(body))
            }
            Body::Form(fields) => op.request_body(Some(
                RequestBodyBuilder::new()
                    .description(Some(format!("Form fields: {fields}")))
                    .content(
                        "application/x-www-form-urlencoded",
                        ContentBuilder::new().build(),
                    )
                    .required(Some(utoipa::openapi::Required::True))
                    .build(),
            )),
        };
        if route.bearer {
            op = op.security(SecurityRequirement::new::<_, _, &str>("bearer", []));
        }
        let operation = op.build();
        for path in route.paths {
            let mut operation = operation.clone();
            let parameters = parameters(path, &route.method);
            if !parameters.is_empty() {
                operation.parameters = Some(parameters);
            }
            items.push((
                path.to_string(),
                PathItem::new(route.method.clone(), operation),
            ));
        }
    }
    // Several methods on one path merge into one path item.
    let mut merged: BTreeMap<String, PathItem> = BTreeMap::new();
    for (path, item) in items {
        match merged.get_mut(&path) {
            Some(existing) => existing.merge_operations(item),
            None => {
                merged.insert(path, item);
            }
        }
    }
    for (path, item) in merged {
        paths = paths.path(path, item);
    }
    let components = ComponentsBuilder::new()
        .schema_from::<RegisterRequest>()
        .schema_from::<LoginRequest>()
        .schema_from::<RefreshRequest>()
        .schema_from::<LogoutRequest>()
        .schema_from::<TokenRequest>()
        .schema_from::<EmailRequest>()
        .schema_from::<ResetPasswordRequest>()
        .schema_from::<ChangePasswordRequest>()
        .schema_from::<ProfileRequest>()
        .schema_from::<DeleteAccountRequest>()
        .schema_from::<AnonymousRequest>()
        .schema_from::<AdminUserRequest>()
        .schema_from::<UserView>()
        .schema_from::<TokenResponse>()
        .schema_from::<SessionView>()
        .schema_from::<ConsentView>()
        .schema_from::<OAuthTokenResponse>()
        .schema_from::<ApiErrorBody>()
        .schema_from::<OAuthErrorBody>()
        .schema_from::<MessageBody>()
        .schema_from::<UserPageBody>()
        .security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        )
        .build();
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("authd")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "OAuth 2.0 / OpenID Connect authorization server and account API",
                ))
                .build(),
        )
        .servers(Some(vec![ServerBuilder::new().url(server).build()]))
        .paths(paths.build())
        .components(Some(components))
        .build()
}

pub async fn openapi_json(State(state): State<AppState>) -> Json<OpenApi> {
    Json(document(&state.config.public_url))
}

/// A self-contained page (no CDN): it reads `/openapi.json` and lists every operation.
#[derive(Serialize)]
struct DocGroup {
    tag: &'static str,
    title: &'static str,
    ops: Vec<DocOp>,
}

#[derive(Serialize)]
struct DocPart {
    code: bool,
    text: String,
}

#[derive(Serialize)]
struct DocOp {
    method: String,
    path: &'static str,
    aliases: Vec<&'static str>,
    summary: Vec<DocPart>,
    bearer: bool,
    body: Option<String>,
    answers: String,
}

/// `GET /docs`: the route table for people, rendered on the server (no script, no CDN),
/// grouped by tag, each route once with its aliases beside it; readable on a phone.
pub async fn docs() -> Response {
    let titles = [
        ("account", "Account: sign-up, login, tokens"),
        ("users", "The signed-in user"),
        ("admin", "Administration"),
        ("oauth", "OAuth 2.0 and OpenID Connect"),
        ("operations", "Operations"),
    ];
    let mut groups: Vec<DocGroup> = titles
        .iter()
        .map(|(tag, title)| DocGroup {
            tag,
            title,
            ops: Vec::new(),
        })
        .collect();
    for route in routes() {
        let summary = route
            .summary
            .split('`')
            .enumerate()
            .filter(|(_, t)| !t.is_empty())
            .map(|(i, t)| DocPart {
                code: i % 2 == 1,
                text: t.to_owned(),
            })
            .collect();
        let body = match route.body {
            Body::None => None,
            Body::Json(schema) => Some(format!("JSON or form: {schema}")),
            Body::Form(fields) => Some(format!("form: {fields}")),
        };
        let op = DocOp {
            method: match route.method {
                HttpMethod::Get => "GET",
                HttpMethod::Post => "POST",
                HttpMethod::Put => "PUT",
                HttpMethod::Patch => "PATCH",
                HttpMethod::Delete => "DELETE",
                _ => "OTHER",
            }
            .to_owned(),
            path: route.paths[0],
            aliases: route.paths[1..].to_vec(),
            summary,
            bearer: route.bearer,
            body,
            answers: std::iter::once(route.ok.0)
                .chain(route.errors.iter().copied())
                .collect::<Vec<_>>()
                .join(", "),
        };
        if let Some(group) = groups.iter_mut().find(|g| g.tag == route.tag) {
            group.ops.push(op);
        }
    }
    groups.retain(|g| !g.ops.is_empty());
    let html = match super::pages::render_standalone(
        "api_docs.html",
        minijinja::context! { groups => groups },
    ) {
        Ok(html) => html,
        Err(e) => {
            tracing::error!(error = %e, "the API page did not render");
            return (
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
            )
                .into_response();
        }
    };
    let mut response = html.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'self'; frame-ancestors 'none'"),
    );
    response
}
