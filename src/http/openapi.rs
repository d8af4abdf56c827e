//! `GET /openapi.json`: the OpenAPI 3.1 document of every route, drawn from the route table the
//! router is built from (`routes.rs`). Request and response schemas are derived from the wire
//! types themselves, so they cannot drift from what the handlers accept.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, Parameter, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, ObjectBuilder, OpenApi, OpenApiBuilder,
    PathsBuilder, Ref, Required, ResponseBuilder, ResponsesBuilder, ServerBuilder, Type,
};

use super::requests::*;
use super::routes::{self, Answer, Auth, Body, Param, Route, Tag};
use crate::accounts::consent::ConsentView;
use crate::accounts::{SessionView, TokenResponse, UserView};
use crate::oauth::wire::TokenResponse as OAuthTokenResponse;
use crate::state::AppState;

/// The error body of `/api/...` routes.
#[derive(Serialize, ToSchema)]
#[schema(examples(json!({
    "message": "Validation failed",
    "errors": {"password": "Password must be at least 8 characters"}
})))]
pub struct ApiErrorBody {
    pub message: String,
    /// One entry per bad field, on 400 validation failures.
    pub errors: Option<BTreeMap<String, String>>,
}

/// The error body of `/oauth/...` routes (RFC 6749 section 5.2).
#[derive(Serialize, ToSchema)]
#[schema(examples(json!({"error": "invalid_grant", "error_description": "The code has expired"})))]
pub struct OAuthErrorBody {
    pub error: String,
    pub error_description: Option<String>,
}

/// A `{"message"}` answer.
#[derive(Serialize, ToSchema)]
#[schema(examples(json!({"message": "Registration successful. Verification email sent to ada@example.com"})))]
pub struct MessageBody {
    pub message: String,
}

/// `POST /api/auth/register` with email verification on: the registration waits for its link.
#[derive(Serialize, ToSchema)]
#[schema(examples(json!({
    "message": "Registration successful. Verification email sent to ada@example.com",
    "user_id": "0193a7c2-5b1e-7d3a-9f10-2c4e8b6a1d55",
    "userId": "0193a7c2-5b1e-7d3a-9f10-2c4e8b6a1d55"
})))]
pub struct RegisteredBody {
    pub message: String,
    /// The pending registration's id: the account's id once the link is followed.
    pub user_id: String,
    /// `user_id` again, for frontends that read camelCase.
    #[serde(rename = "userId")]
    pub user_id_camel: String,
}

/// `GET /api/admin/users`.
#[derive(Serialize, ToSchema)]
pub struct UserPageBody {
    pub users: Vec<UserView>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

/// The schema of a form's fields, from the row's list (`name!` is required; words after the
/// name describe it). Every field is a string, as a form's are.
fn form_schema(fields: &str) -> utoipa::openapi::schema::Schema {
    let mut object = ObjectBuilder::new().schema_type(Type::Object);
    for field in fields.split(',').map(str::trim).filter(|f| !f.is_empty()) {
        let (name, about) = field.split_once(' ').unwrap_or((field, ""));
        let (name, required) = match name.strip_suffix('!') {
            Some(name) => (name, true),
            None => (name, false),
        };
        let mut property = ObjectBuilder::new().schema_type(Type::String);
        if !about.is_empty() {
            property = property.description(Some(
                about.trim_matches(|c| c == '(' || c == ')').to_owned(),
            ));
        }
        object = object.property(name, property);
        if required {
            object = object.required(name);
        }
    }
    object.build().into()
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

/// The OpenAPI document, drawn from the route table (cheap: well under a millisecond).
pub fn document(server: &str) -> OpenApi {
    let mut merged: BTreeMap<String, PathItem> = BTreeMap::new();
    for route in routes::table() {
        let operation = operation(&route);
        for (i, path) in route.paths.iter().enumerate() {
            let mut operation = operation.clone();
            operation.operation_id = Some(operation_id(&route.method, path));
            let parameters = parameters(path, route.query);
            if !parameters.is_empty() {
                operation.parameters = Some(parameters);
            }
            if i > 0 {
                // An alias: the same handler under the name a seed frontend calls.
                let canonical = &route.paths[0];
                operation.description = Some(format!("Alias of `{canonical}`."));
                operation.extensions = Some(
                    [("x-alias-of".to_owned(), serde_json::json!(canonical))]
                        .into_iter()
                        .collect::<Extensions>(),
                );
            }
            let item = PathItem::new(route.method.clone(), operation);
            match merged.get_mut(path) {
                Some(existing) => existing.merge_operations(item),
                None => {
                    merged.insert(path.clone(), item);
                }
            }
        }
    }
    let mut paths = PathsBuilder::new();
    for (path, item) in merged {
        paths = paths.path(path, item);
    }
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
        .components(Some(components()))
        .build()
}

/// The schemas of the wire types and the security schemes: what `/docs` draws examples from.
pub fn components() -> utoipa::openapi::Components {
    ComponentsBuilder::new()
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
        .schema_from::<MfaVerifyRequest>()
        .schema_from::<NewFactorRequest>()
        .schema_from::<CodeRequest>()
        .schema_from::<crate::accounts::Challenge>()
        .schema_from::<crate::accounts::ChallengeFactor>()
        .schema_from::<crate::accounts::factors::FactorsView>()
        .schema_from::<crate::accounts::factors::FactorView>()
        .schema_from::<crate::accounts::factors::TotpEnrolment>()
        .schema_from::<crate::accounts::factors::PasskeyEnrolment>()
        .schema_from::<crate::accounts::PasskeySignIn>()
        .schema_from::<crate::accounts::identities::IdentityView>()
        .schema_from::<crate::accounts::audit::AuditEventView>()
        .schema_from::<crate::accounts::audit::AuditPage>()
        .schema_from::<crate::accounts::audit::ActivityView>()
        .schema_from::<super::upstream::ExchangeRequest>()
        .schema_from::<PasskeyLoginRequest>()
        .schema_from::<crate::accounts::factors::Confirmed>()
        .schema_from::<UserView>()
        .schema_from::<TokenResponse>()
        .schema_from::<SessionView>()
        .schema_from::<ConsentView>()
        .schema_from::<OAuthTokenResponse>()
        .schema_from::<ApiErrorBody>()
        .schema_from::<OAuthErrorBody>()
        .schema_from::<MessageBody>()
        .schema_from::<UserPageBody>()
        .schema_from::<RegisteredBody>()
        .security_scheme(
            "client_basic",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Basic).build()),
        )
        .security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        )
        .build()
}

/// `get_api_users_me_sessions_id` for `GET /api/users/me/sessions/{id}`: unique per operation.
fn operation_id(method: &HttpMethod, path: &str) -> String {
    let method = routes::method_name(method).to_lowercase();
    let path: String = path
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let mut id = format!("{method}_{}", path.trim_matches('_'));
    while id.contains("__") {
        id = id.replace("__", "_");
    }
    id
}

/// One operation of a row, before its path is known.
fn operation(route: &Route) -> utoipa::openapi::path::Operation {
    let oauth = route.tag == Tag::OAuth;
    let (status, answer) = route.ok;
    let ok = match answer {
        Answer::Json(schema) => ResponseBuilder::new()
            .description("Success")
            .content("application/json", json_content(schema)),
        Answer::Either(one, other) => ResponseBuilder::new()
            .description(format!("Success: {one} or {other}"))
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(
                        utoipa::openapi::schema::OneOfBuilder::new()
                            .item(Ref::from_schema_name(one))
                            .item(Ref::from_schema_name(other)),
                    ))
                    .build(),
            ),
        Answer::Document(what) => ResponseBuilder::new()
            .description(what)
            .content("application/json", ContentBuilder::new().build()),
        Answer::Html => ResponseBuilder::new()
            .description("An HTML page")
            .content("text/html", ContentBuilder::new().build()),
        Answer::Other(what) => ResponseBuilder::new().description(what),
    };
    let mut responses = ResponsesBuilder::new().response(status, ok.build());
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
        .summary(Some(route.summary.replace('`', "")))
        .tag(route.tag.name())
        .responses(responses.build());
    op = match route.body {
        Body::None => op,
        // Also taken as a form with the same fields, but listed once: a client generator
        // makes one body type per listed content, and two of one schema collide.
        Body::Json(schema) => op.request_body(Some(
            RequestBodyBuilder::new()
                .description(Some(
                    "JSON, or a form (application/x-www-form-urlencoded) with the same fields",
                ))
                .content("application/json", json_content(schema))
                .required(Some(Required::True))
                .build(),
        )),
        Body::Form(fields) => op.request_body(Some(
            RequestBodyBuilder::new()
                .content(
                    "application/x-www-form-urlencoded",
                    ContentBuilder::new()
                        .schema(Some(form_schema(fields)))
                        .build(),
                )
                .required(Some(Required::True))
                .build(),
        )),
    };
    match route.auth {
        Auth::Anyone => {}
        Auth::Bearer => {
            op = op.security(SecurityRequirement::new::<_, _, &str>("bearer", []));
        }
        // A confidential client uses HTTP Basic (or the form); a public one sends only its
        // `client_id` in the form, hence the empty alternative.
        Auth::Client => {
            op = op
                .security(SecurityRequirement::new::<_, _, &str>("client_basic", []))
                .security(SecurityRequirement::default());
        }
    }
    op.build()
}

/// The parameters of `path`: each `{name}` segment, and the query parameters of its row.
fn parameters(path: &str, query: &[Param]) -> Vec<Parameter> {
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
    for param in query {
        out.push(
            ParameterBuilder::new()
                .name(param.name)
                .parameter_in(ParameterIn::Query)
                .required(if param.required {
                    Required::True
                } else {
                    Required::False
                })
                .description(Some(param.description))
                .schema(Some(string()))
                .build(),
        );
    }
    out
}

pub async fn openapi_json(State(state): State<AppState>) -> Json<OpenApi> {
    Json(document(&state.config.public_url))
}
