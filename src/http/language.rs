//! The language of each request: an OpenID `ui_locales` in the address (kept in a cookie for
//! the rest of the journey: the forms that follow do not repeat it), else the cookie, else the
//! browser's `Accept-Language`, else `AUTHD_DEFAULT_LOCALE`. Pages, their texts and the emails
//! a request queues all use it; the pages offer a switch to the others.

use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::Response;

use super::cookies::{self, Cookie};
use crate::i18n::{self, Lang};
use crate::state::AppState;

/// How long a chosen language is remembered.
const COOKIE_MAX_AGE_SECS: u64 = 400 * 86_400;

tokio::task_local! {
    /// Where a GET request's page is (path and query), for the language switch's links.
    static HERE: Option<String>;
}

/// The middleware: chooses the request's language and serves the request in it.
pub async fn choose(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let asked = request.uri().query().and_then(ui_locales);
    let headers = request.headers();
    let lang = asked
        .or_else(|| cookies::read(&state, headers, Cookie::Language).and_then(|v| Lang::parse(&v)))
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Lang::from_accept_language)
        })
        .unwrap_or(state.config.default_locale);
    let here = (request.method() == Method::GET)
        .then(|| {
            request
                .uri()
                .path_and_query()
                .map(|pq| pq.as_str().to_owned())
        })
        .flatten();
    let mut response = HERE
        .scope(here, i18n::speaking(lang, next.run(request)))
        .await;
    if let Some(lang) = asked {
        response.headers_mut().append(
            header::SET_COOKIE,
            cookies::set(&state, Cookie::Language, lang.tag(), COOKIE_MAX_AGE_SECS),
        );
    }
    response
}

fn ui_locales(query: &str) -> Option<Lang> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "ui_locales")
        .and_then(|(_, v)| Lang::from_ui_locales(&v))
}

/// A link to this page in another language.
#[derive(serde::Serialize)]
pub struct Switch {
    pub lang: &'static str,
    pub name: &'static str,
    pub href: String,
}

/// Links to the page being served in each other language: the same address with its
/// `ui_locales` replaced. None for a page answering a form (its address opens nothing).
pub fn switches(current: Lang) -> Vec<Switch> {
    let Some(Some(here)) = HERE.try_with(Clone::clone).ok() else {
        return vec![];
    };
    let (path, query) = here.split_once('?').unwrap_or((&here, ""));
    // Only an address a browser reads as a path of authd's: `//host/...` (or `/\host`) would
    // be read as another site.
    if !path.starts_with('/') || path.starts_with("//") || path.starts_with("/\\") {
        return vec![];
    }
    Lang::ALL
        .into_iter()
        .filter(|l| *l != current)
        .map(|l| {
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
                if k != "ui_locales" {
                    q.append_pair(&k, &v);
                }
            }
            q.append_pair("ui_locales", l.tag());
            Switch {
                lang: l.tag(),
                name: l.endonym(),
                href: format!("{path}?{}", q.finish()),
            }
        })
        .collect()
}
