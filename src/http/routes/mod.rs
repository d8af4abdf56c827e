//! The table of every route authd serves. Each row is the handler *and* what the API
//! document says about it: the router (`router.rs`) is built from these rows and
//! `/openapi.json` and `/docs` are drawn from them, so a route without a description, or a
//! description without a route, cannot exist. The first path of a row is the route's name;
//! the others are aliases the seed frontends call, served by the same handler.

use axum::handler::Handler;
use axum::routing::{MethodFilter, MethodRouter, on};
use utoipa::openapi::path::HttpMethod;

use crate::state::AppState;

mod table;
pub use table::table;

/// The groups of the API document, in the order `/docs` shows them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Tag {
    Account,
    Users,
    Admin,
    OAuth,
    Pages,
    Operations,
}

impl Tag {
    pub const ALL: [Tag; 6] = [
        Tag::Account,
        Tag::Users,
        Tag::Admin,
        Tag::OAuth,
        Tag::Pages,
        Tag::Operations,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Tag::Account => "account",
            Tag::Users => "users",
            Tag::Admin => "admin",
            Tag::OAuth => "oauth",
            Tag::Pages => "pages",
            Tag::Operations => "operations",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Tag::Account => "Account: sign-up, login, tokens",
            Tag::Users => "The signed-in user",
            Tag::Admin => "Administration",
            Tag::OAuth => "OAuth 2.0 and OpenID Connect",
            Tag::Pages => "Hosted pages (HTML)",
            Tag::Operations => "Operations",
        }
    }
}

/// Who may call a route.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Auth {
    Anyone,
    /// `Authorization: Bearer <access token>`.
    Bearer,
    /// An OAuth client: HTTP Basic, or `client_id` (and `client_secret`) in the form.
    Client,
}

/// What a route reads from its request body.
#[derive(Clone, Copy, Debug)]
pub enum Body {
    None,
    /// A schema of the API document, accepted as JSON or as a form.
    Json(&'static str),
    /// A form, with these fields (comma-separated; `name!` is required, words after a name
    /// describe it).
    Form(&'static str),
}

/// What a route answers with on success.
#[derive(Clone, Copy, Debug)]
pub enum Answer {
    /// A JSON body of this schema.
    Json(&'static str),
    /// A JSON body of one schema or the other.
    Either(&'static str, &'static str),
    /// A JSON body described in words (discovery, JWKS, introspection...).
    Document(&'static str),
    /// An HTML page.
    Html,
    /// No body, or one that is not JSON (a redirect, a stylesheet).
    Other(&'static str),
}

/// A query parameter.
pub struct Param {
    pub name: &'static str,
    pub required: bool,
    pub description: &'static str,
}

const fn q(name: &'static str, required: bool, description: &'static str) -> Param {
    Param {
        name,
        required,
        description,
    }
}

pub struct Route {
    pub method: HttpMethod,
    pub paths: Vec<String>,
    pub summary: &'static str,
    pub tag: Tag,
    pub auth: Auth,
    pub body: Body,
    pub query: &'static [Param],
    pub ok: (&'static str, Answer),
    pub errors: &'static [&'static str],
    pub handler: MethodRouter<AppState>,
}

/// `GET`, `POST`...
pub fn method_name(method: &HttpMethod) -> &'static str {
    match method {
        HttpMethod::Get => "GET",
        HttpMethod::Post => "POST",
        HttpMethod::Put => "PUT",
        HttpMethod::Delete => "DELETE",
        HttpMethod::Options => "OPTIONS",
        HttpMethod::Head => "HEAD",
        HttpMethod::Patch => "PATCH",
        HttpMethod::Trace => "TRACE",
    }
}

fn filter(method: &HttpMethod) -> MethodFilter {
    match method {
        HttpMethod::Get => MethodFilter::GET,
        HttpMethod::Post => MethodFilter::POST,
        HttpMethod::Put => MethodFilter::PUT,
        HttpMethod::Delete => MethodFilter::DELETE,
        HttpMethod::Options => MethodFilter::OPTIONS,
        HttpMethod::Head => MethodFilter::HEAD,
        HttpMethod::Patch => MethodFilter::PATCH,
        HttpMethod::Trace => MethodFilter::TRACE,
    }
}

/// A row: `method` on `paths`, served by `handler`; the rest is filled in by the builders.
fn route<H, T>(method: HttpMethod, paths: &[&str], handler: H) -> Route
where
    H: Handler<T, AppState>,
    T: 'static,
{
    Route {
        handler: on(filter(&method), handler),
        method,
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        summary: "",
        tag: Tag::Operations,
        auth: Auth::Anyone,
        body: Body::None,
        query: &[],
        ok: ("200", Answer::Other("Success")),
        errors: &[],
    }
}

/// A row of the account API, served under `/api/auth` and again under `/auth`.
fn auth<H, T>(method: HttpMethod, paths: &[&str], handler: H) -> Route
where
    H: Handler<T, AppState>,
    T: 'static,
{
    let mut row = route(method, &[], handler).tag(Tag::Account);
    for prefix in ["/api/auth", "/auth"] {
        row.paths
            .extend(paths.iter().map(|p| format!("{prefix}{p}")));
    }
    row
}

impl Route {
    fn summary(mut self, summary: &'static str) -> Self {
        self.summary = summary;
        self
    }
    fn tag(mut self, tag: Tag) -> Self {
        self.tag = tag;
        self
    }
    fn bearer(mut self) -> Self {
        self.auth = Auth::Bearer;
        self
    }
    fn client(mut self) -> Self {
        self.auth = Auth::Client;
        self
    }
    fn json(mut self, schema: &'static str) -> Self {
        self.body = Body::Json(schema);
        self
    }
    fn form(mut self, fields: &'static str) -> Self {
        self.body = Body::Form(fields);
        self
    }
    fn query(mut self, params: &'static [Param]) -> Self {
        self.query = params;
        self
    }
    fn ok(mut self, status: &'static str, answer: Answer) -> Self {
        self.ok = (status, answer);
        self
    }
    fn errors(mut self, errors: &'static [&'static str]) -> Self {
        self.errors = errors;
        self
    }
}
