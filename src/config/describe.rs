//! `authd config check`: the effective settings with secrets masked.

use super::*;

impl Config {
    /// The effective settings, one `(name, value)` per setting, secrets masked: what
    /// `authd config check` prints. Long by nature: one line per setting.
    pub fn describe(&self) -> Vec<(&'static str, String)> {
        use secrecy::ExposeSecret as _;
        let masked_url = |raw: &str| match url::Url::parse(raw) {
            Ok(mut url) if url.password().is_some() => {
                let _ = url.set_password(Some("***"));
                url.to_string()
            }
            _ => raw.to_owned(),
        };
        let d = |d: Duration| humantime::format_duration(d).to_string();
        let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "(unset)".into());
        vec![
            ("AUTHD_BIND", self.bind.to_string()),
            (
                "DATABASE_URL",
                masked_url(self.database_url.expose_secret()),
            ),
            (
                "AUTHD_SECRET",
                if self.secret.is_some() {
                    "set (***)".into()
                } else if self.uses_sqlite() {
                    "unset: SQLite keeps a generated one in authd.secret beside the database".into()
                } else {
                    "unset: REQUIRED with PostgreSQL".into()
                },
            ),
            (
                "AUTHD_ISSUER",
                format!(
                    "{}{}",
                    self.issuer,
                    if self.issuer_explicit {
                        ""
                    } else {
                        " (derived from AUTHD_BIND)"
                    }
                ),
            ),
            ("AUTHD_PUBLIC_URL", self.public_url.clone()),
            ("AUTHD_FRONTEND_URL", opt(&self.frontend_url)),
            (
                "AUTHD_KEYS_DIR",
                self.keys_dir
                    .as_ref()
                    .map_or("(unset)".into(), |p| p.display().to_string()),
            ),
            (
                "AUTHD_SMTP_URL",
                self.smtp_url
                    .as_ref()
                    .map_or("(unset: emails are files)".into(), |u| {
                        masked_url(u.expose_secret())
                    }),
            ),
            ("AUTHD_MAIL_DIR", self.mail_dir.display().to_string()),
            ("AUTHD_MAIL_FROM", self.mail_from.to_string()),
            ("AUTHD_ACCESS_TOKEN_TTL", d(self.access_token_ttl)),
            ("AUTHD_REFRESH_TOKEN_TTL", d(self.refresh_token_ttl)),
            ("AUTHD_SESSION_MAX_AGE", d(self.session_max_age)),
            ("AUTHD_REFRESH_REUSE_GRACE", d(self.refresh_reuse_grace)),
            (
                "AUTHD_REQUIRE_EMAIL_VERIFICATION",
                self.require_email_verification.to_string(),
            ),
            ("AUTHD_KEY_ACTIVATION_DELAY", d(self.key_activation_delay)),
            ("AUTHD_SIGNING_ALG", self.signing_alg.to_string()),
            (
                "AUTHD_DPOP_REQUIRE_NONCE",
                self.dpop_require_nonce.to_string(),
            ),
            ("AUTHD_DEFAULT_LOCALE", self.default_locale.to_string()),
            ("AUTHD_ANONYMOUS_MAX_AGE", d(self.anonymous_max_age)),
            ("AUTHD_AUDIT_RETENTION", d(self.audit_retention)),
            (
                "AUTHD_CORS_ORIGINS",
                if self.cors_origins.is_empty() {
                    "(unset)".into()
                } else {
                    self.cors_origins.join(",")
                },
            ),
            (
                "AUTHD_LOG_FORMAT",
                format!("{:?}", self.log_format).to_lowercase(),
            ),
            ("AUTHD_RATE_LIMIT", self.rate_limit_per_minute.to_string()),
            (
                "AUTHD_REQUIRE_MFA_FOR",
                self.require_mfa_for.as_str().to_owned(),
            ),
            (
                "AUTHD_TRUST_FORWARDED_FOR",
                self.trust_forwarded_for.to_string(),
            ),
            (
                "AUTHD_HEADER_READ_TIMEOUT",
                d(self.limits.header_read_timeout),
            ),
            ("AUTHD_BODY_READ_TIMEOUT", d(self.limits.body_read_timeout)),
            ("AUTHD_REQUEST_TIMEOUT", d(self.limits.request_timeout)),
            (
                "AUTHD_MAX_HEADER_BYTES",
                self.limits.max_header_bytes.to_string(),
            ),
            (
                "AUTHD_MAX_CONNECTIONS",
                self.limits.max_connections.to_string(),
            ),
            (
                "AUTHD_MAX_CONNECTIONS_PER_ADDRESS",
                if self.trust_forwarded_for {
                    "(not applied behind a trusted proxy)".to_owned()
                } else {
                    self.limits.max_connections_per_address.to_string()
                },
            ),
            ("AUTHD_SHUTDOWN_TIMEOUT", d(self.limits.shutdown_timeout)),
            (
                "AUTHD_METRICS_BIND",
                self.metrics_bind
                    .map_or("(unset: no metrics)".into(), |a| a.to_string()),
            ),
            ("AUTHD_BRAND_NAME", self.brand.name.clone()),
            ("AUTHD_BRAND_LOGO_URL", opt(&self.brand.logo_url)),
            ("AUTHD_BRAND_COLOR", self.brand.color.clone()),
            ("AUTHD_SUPPORT_URL", opt(&self.brand.support_url)),
            (
                "AUTHD_UPSTREAM_PROVIDERS",
                if self.upstream.is_empty() {
                    "(none)".into()
                } else {
                    self.upstream
                        .iter()
                        .map(|p| {
                            let at = match &p.kind {
                                UpstreamKind::Oidc { issuer } => format!("oidc {issuer}"),
                                UpstreamKind::GitHub { web, .. } => format!("github {web}"),
                            };
                            format!(
                                "{} ({}, {at}, client {}, secret ***, sign-up {})",
                                p.id,
                                p.name,
                                p.client_id,
                                if p.allow_signup { "on" } else { "off" }
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                },
            ),
        ]
    }
}
