//! The words of the hosted pages and the emails, in each language authd speaks: Fluent
//! catalogues in `locales/<language>/*.ftl`, built into the binary.
//!
//! Every text a person reads is a message of the catalogue, named in code as `t!("id")` (a
//! [`Key`]) and in templates as `t("id", name=value)`; the catalogue test checks that every id
//! used exists in every language. The language of a request is chosen once, by the HTTP layer
//! (`ui_locales`, then the language cookie, then `Accept-Language`, then
//! `AUTHD_DEFAULT_LOCALE`), and holds for everything the request renders or queues.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use fluent_templates::Loader as _;
use fluent_templates::fluent_bundle::FluentValue;
use unic_langid::LanguageIdentifier;

fluent_templates::static_loader! {
    static CATALOGUE = {
        locales: "./locales",
        fallback_language: "en",
        // No Unicode isolation marks around arguments: the texts go into HTML attributes,
        // email subjects and plain text, where the marks would show or break matching.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// A language authd's pages and emails are written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    En,
    Fr,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Fr];

    /// The BCP 47 tag (`lang` attributes, `ui_locales_supported`, the cookie).
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
        }
    }

    /// The language's own name for itself, for the language switch.
    pub fn endonym(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Fr => "Français",
        }
    }

    /// The language of a tag, by its primary subtag: `fr`, `fr-CA` and `FR` are French.
    pub fn parse(tag: &str) -> Option<Lang> {
        let primary = tag.split(['-', '_']).next()?.trim();
        Lang::ALL
            .into_iter()
            .find(|l| l.tag().eq_ignore_ascii_case(primary))
    }

    /// The first language of an OpenID `ui_locales` value (space-separated, in order of
    /// preference) that authd speaks.
    pub fn from_ui_locales(value: &str) -> Option<Lang> {
        value.split_whitespace().find_map(Lang::parse)
    }

    /// The language an `Accept-Language` header prefers most among authd's, if any (a range
    /// with `q=0` is refused, not preferred).
    pub fn from_accept_language(value: &str) -> Option<Lang> {
        let mut ranges: Vec<(f32, Lang)> = value
            .split(',')
            .filter_map(|range| {
                let mut parts = range.split(';');
                let lang = Lang::parse(parts.next()?.trim())?;
                let q = parts
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())?;
                (q > 0.0).then_some((q, lang))
            })
            .collect();
        // Stable: of equal weights, the first listed wins.
        ranges.sort_by(|a, b| b.0.total_cmp(&a.0));
        ranges.first().map(|(_, lang)| *lang)
    }

    fn id(self) -> LanguageIdentifier {
        self.tag().parse().expect("a valid language tag")
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

tokio::task_local! {
    /// The language of the request being served (set by the HTTP layer around each request).
    static CURRENT: Lang;
}

/// The language of the request being served; `default` outside a request (the command line,
/// background work).
pub fn current(default: Lang) -> Lang {
    CURRENT.try_with(|l| *l).unwrap_or(default)
}

/// Runs `work` with `lang` as the request's language.
pub async fn speaking<F: Future>(lang: Lang, work: F) -> F::Output {
    CURRENT.scope(lang, work).await
}

/// A message's id in the catalogue. Made only by `t!("id")`, so that the catalogue test finds
/// every id the code uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Key(&'static str);

impl Key {
    #[doc(hidden)]
    pub const fn __new(id: &'static str) -> Key {
        Key(id)
    }

    pub fn id(self) -> &'static str {
        self.0
    }

    /// The message in `lang`, with no arguments.
    pub fn in_(self, lang: Lang) -> String {
        Text::from(self).in_(lang)
    }
}

/// A message id of the catalogue: `t!("sign-in-title")`.
#[macro_export]
macro_rules! t {
    ($id:literal) => {
        $crate::i18n::Key::__new($id)
    };
}

/// A message with its arguments, to be said in the reader's language.
#[derive(Clone, Debug)]
pub struct Text {
    key: Key,
    args: Vec<(&'static str, Arg)>,
}

#[derive(Clone, Debug)]
enum Arg {
    Str(String),
    Num(f64),
}

/// A text in a page's data is the message in the request's language.
impl serde::Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.in_(current(Lang::En)))
    }
}

impl From<Key> for Text {
    fn from(key: Key) -> Self {
        Text { key, args: vec![] }
    }
}

impl From<&Key> for Text {
    fn from(key: &Key) -> Self {
        Text {
            key: *key,
            args: vec![],
        }
    }
}

impl Text {
    pub fn new(key: Key) -> Self {
        key.into()
    }

    pub fn arg(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.args.push((name, Arg::Str(value.into())));
        self
    }

    pub fn num(mut self, name: &'static str, value: impl Into<f64>) -> Self {
        self.args.push((name, Arg::Num(value.into())));
        self
    }

    /// The message in `lang`, as plain text.
    pub fn in_(&self, lang: Lang) -> String {
        let args = self
            .args
            .iter()
            .map(|(name, value)| {
                (
                    Cow::Borrowed(*name),
                    match value {
                        Arg::Str(s) => FluentValue::from(s.clone()),
                        Arg::Num(n) => FluentValue::from(*n),
                    },
                )
            })
            .collect();
        lookup(lang, self.key.0, &args)
    }
}

/// A message in `lang` (or in English, should the language lack it; the catalogue test keeps
/// that from happening). A missing id says so in the text rather than failing the page.
pub fn lookup(lang: Lang, id: &str, args: &HashMap<Cow<'static, str>, FluentValue>) -> String {
    match CATALOGUE.try_lookup_complete(&lang.id(), id, (!args.is_empty()).then_some(args)) {
        Some(text) => text,
        None => {
            tracing::error!(
                id,
                lang = lang.tag(),
                "a message is missing from the catalogue"
            );
            id.to_owned()
        }
    }
}

/// `t(id, name=value, ...)` in templates: the message in the page's language (its `lang`
/// variable). The catalogue is trusted to hold markup (`<strong>`); the arguments are escaped
/// unless already safe (another `t()`).
pub fn template_function(
    state: &minijinja::State,
    id: &str,
    kwargs: minijinja::value::Kwargs,
) -> Result<minijinja::Value, minijinja::Error> {
    use minijinja::value::{Value, ValueKind};
    let lang = state
        .lookup("lang")
        .and_then(|v| v.as_str().and_then(Lang::parse))
        .unwrap_or(Lang::En);
    let mut args = HashMap::new();
    for name in kwargs.args() {
        let value: Value = kwargs.get(name)?;
        let fluent = match value.kind() {
            ValueKind::Number => FluentValue::from(f64::try_from(value).unwrap_or_default()),
            _ if value.is_safe() => FluentValue::from(value.to_string()),
            _ => FluentValue::from(escape_html(&value.to_string())),
        };
        args.insert(Cow::Owned(name.to_owned()), fluent);
    }
    Ok(Value::from_safe_string(lookup(lang, id, &args)))
}

/// HTML's five special characters, escaped.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::path::Path;

    fn files(dir: &Path, ext: &str, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files(&path, ext, out);
            } else if path.extension().is_some_and(|e| e == ext) {
                out.push(path);
            }
        }
    }

    /// Every `prefix"id"` in the files under `dir` with extension `ext`.
    fn ids_used(dir: &str, ext: &str, prefixes: &[&str]) -> BTreeSet<String> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut paths = vec![];
        files(&root.join(dir), ext, &mut paths);
        let mut ids = BTreeSet::new();
        for path in paths {
            let text = std::fs::read_to_string(&path).unwrap();
            for prefix in prefixes {
                for (at, _) in text.match_indices(prefix) {
                    // `format!("`, `select("`: another name that ends the same way.
                    if text[..at]
                        .chars()
                        .next_back()
                        .is_some_and(|c| c.is_alphanumeric() || c == '_')
                    {
                        continue;
                    }
                    let rest = &text[at + prefix.len()..];
                    if let Some(end) = rest.find('"') {
                        ids.insert(rest[..end].to_owned());
                    }
                }
            }
        }
        ids
    }

    /// Whether `id` is in `lang`'s own catalogue, without falling back to English.
    fn has(lang: Lang, id: &str) -> bool {
        let args: Option<&HashMap<String, FluentValue>> = None;
        match CATALOGUE.lookup_single_language(&lang.id(), id, args) {
            Ok(_) => true,
            // Without its arguments a message with variables formats with errors, yet it is
            // there (the crate does not export the error type to match on).
            Err(e) => format!("{e:?}").starts_with("FluentError"),
        }
    }

    /// The ids each language's catalogue defines.
    fn ids_defined(lang: Lang) -> BTreeSet<String> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("locales")
            .join(lang.tag());
        let mut paths = vec![];
        files(&root, "ftl", &mut paths);
        let mut ids = BTreeSet::new();
        for path in paths {
            for line in std::fs::read_to_string(&path).unwrap().lines() {
                if let Some((id, _)) = line.split_once(" =")
                    && !id.is_empty()
                    && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                {
                    assert!(ids.insert(id.to_owned()), "{id} twice in {lang}");
                }
            }
        }
        ids
    }

    #[test]
    fn every_message_used_is_in_every_language_and_every_message_is_used() {
        let mut used = ids_used("src", "rs", &["t!(\""]);
        used.extend(ids_used("templates", "html", &["t(\""]));
        used.extend(ids_used("templates", "txt", &["t(\""]));
        // Not a real id: this test's own search pattern, and the macro's documentation.
        used.retain(|id| !id.is_empty() && id != "id" && id != "sign-in-title");
        assert!(used.len() > 50, "the search found too few ids: {used:?}");
        let english = ids_defined(Lang::En);
        for lang in Lang::ALL {
            let defined = ids_defined(lang);
            let missing: Vec<_> = used.iter().filter(|id| !has(lang, id)).collect();
            assert!(missing.is_empty(), "missing in {lang}: {missing:?}");
            let extra: Vec<_> = defined.difference(&english).collect();
            assert!(extra.is_empty(), "in {lang} but not in English: {extra:?}");
            let lacking: Vec<_> = english.difference(&defined).collect();
            assert!(
                lacking.is_empty(),
                "in English but not in {lang}: {lacking:?}"
            );
        }
        let unused: Vec<_> = english.difference(&used).collect();
        assert!(
            unused.is_empty(),
            "in the catalogue but used nowhere: {unused:?}"
        );
    }

    #[test]
    fn the_languages_differ_where_they_should() {
        assert_eq!(t!("sign-in").in_(Lang::En), "Sign in");
        assert_eq!(t!("sign-in").in_(Lang::Fr), "Se connecter");
        let said = Text::new(t!("continue-with")).arg("provider", "GitHub");
        assert_eq!(said.in_(Lang::Fr), "Continuer avec GitHub");
    }

    #[test]
    fn a_language_is_chosen_by_its_primary_subtag() {
        assert_eq!(Lang::parse("fr-CA"), Some(Lang::Fr));
        assert_eq!(Lang::parse("EN"), Some(Lang::En));
        assert_eq!(Lang::parse("de"), None);
        assert_eq!(Lang::from_ui_locales("de-DE fr en"), Some(Lang::Fr));
        assert_eq!(Lang::from_ui_locales("de"), None);
    }

    #[test]
    fn accept_language_follows_the_weights() {
        assert_eq!(
            Lang::from_accept_language("de-DE,de;q=0.9,fr;q=0.8,en;q=0.7"),
            Some(Lang::Fr)
        );
        assert_eq!(
            Lang::from_accept_language("en;q=0.5, fr-FR"),
            Some(Lang::Fr)
        );
        assert_eq!(Lang::from_accept_language("de, it"), None);
        assert_eq!(
            Lang::from_accept_language("fr;q=0, en;q=0.1"),
            Some(Lang::En)
        );
        assert_eq!(Lang::from_accept_language(""), None);
    }
}
