//! `GET /docs`: the API reference for people, rendered on the server from the route table and
//! the OpenAPI document's schemas (no script, no CDN): grouped by tag, each route once with its
//! aliases beside it, an example body where the schema has one; readable on a phone.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

use super::openapi;
use super::routes::{self, Answer, Auth, Body, Tag};
use crate::error::ApiError;

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
    path: String,
    aliases: Vec<String>,
    summary: Vec<DocPart>,
    auth: Option<&'static str>,
    body: Option<String>,
    query: Vec<String>,
    answers: String,
    request_example: Option<String>,
    response_example: Option<String>,
}

/// Text with `code` spans split out, so the template can mark them up without literal backticks.
fn parts(text: &str) -> Vec<DocPart> {
    text.split('`')
        .enumerate()
        .filter(|(_, t)| !t.is_empty())
        .map(|(i, t)| DocPart {
            code: i % 2 == 1,
            text: t.to_owned(),
        })
        .collect()
}

/// An example of the schema `name`: its own example, or one assembled from its properties'.
fn example(schemas: &Value, name: &str, depth: u8) -> Option<Value> {
    let schema = schemas.get(name)?;
    if let Some(first) = schema.get("examples").and_then(|e| e.get(0)) {
        return Some(first.clone());
    }
    if depth == 0 {
        return None;
    }
    let properties = schema.get("properties")?.as_object()?;
    let mut out = serde_json::Map::new();
    for (field, property) in properties {
        let value = property
            .get("examples")
            .and_then(|e| e.get(0))
            .cloned()
            .or_else(|| {
                let target = property.get("$ref")?.as_str()?.rsplit('/').next()?;
                example(schemas, target, depth - 1)
            });
        if let Some(value) = value {
            out.insert(field.clone(), value);
        }
    }
    (!out.is_empty()).then_some(Value::Object(out))
}

fn pretty(schemas: &Value, name: &str) -> Option<String> {
    example(schemas, name, 2).and_then(|v| serde_json::to_string_pretty(&v).ok())
}

pub async fn docs() -> Response {
    let components = serde_json::to_value(openapi::components()).unwrap_or(Value::Null);
    let schemas = &components["schemas"];
    let mut groups: Vec<DocGroup> = Tag::ALL
        .iter()
        .map(|tag| DocGroup {
            tag: tag.name(),
            title: tag.title(),
            ops: Vec::new(),
        })
        .collect();
    for route in routes::table() {
        let (body, request_example) = match route.body {
            Body::None => (None, None),
            Body::Json(schema) => (
                Some(format!("JSON or form: {schema}")),
                pretty(schemas, schema),
            ),
            Body::Form(fields) => (Some(format!("form: {}", fields.replace('!', ""))), None),
        };
        let response_example = match route.ok.1 {
            Answer::Json(schema) | Answer::Either(schema, _) => pretty(schemas, schema),
            _ => None,
        };
        let op = DocOp {
            method: routes::method_name(&route.method).to_owned(),
            path: route.paths[0].clone(),
            aliases: route.paths[1..].to_vec(),
            summary: parts(route.summary),
            auth: match route.auth {
                Auth::Anyone => None,
                Auth::Bearer => Some("Bearer"),
                Auth::Client => Some("Client"),
            },
            body,
            query: route
                .query
                .iter()
                .map(|p| {
                    let required = if p.required { ", required" } else { "" };
                    format!("{} ({}{required})", p.name, p.description)
                })
                .collect(),
            answers: std::iter::once(route.ok.0)
                .chain(route.errors.iter().copied())
                .collect::<Vec<_>>()
                .join(", "),
            request_example,
            response_example,
        };
        if let Some(group) = groups.iter_mut().find(|g| g.tag == route.tag.name()) {
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
            return ApiError::Internal(anyhow::anyhow!("the API page did not render: {e}"))
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
