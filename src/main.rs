//! The `authd` command: parsing and dispatch only.

use std::process::ExitCode;

use anyhow::Context;
use authd::config::{Config, LogFormat};
use authd::domain::{EmailAddress, SigningAlg};
use authd::oauth::client::{ClientChanges, NewClient};
use authd::passwords::PasswordHasher;
use authd::storage::{Database, clients, signing_keys};
use authd::tokens::KeyStore;
use clap::{Parser, Subcommand};
use secrecy::ExposeSecret;

#[derive(Parser)]
#[command(
    name = "authd",
    version,
    about = "A small OAuth 2.0 / OpenID Connect authorization server",
    after_help = "Exit status: 0 done; 1 the command failed (the reason on stderr); 2 a bad \
                  setting or bad arguments (the name on stderr)."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Apply pending migrations, make the first signing key on first start, serve HTTP (the
    /// default).
    #[command(after_help = SETTINGS_HELP)]
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Ask the authd serving at AUTHD_BIND on this machine whether it is ready (`/readyz`):
    /// exit 0 when it is, 1 when it is not or does not answer within 5 s. For a container's
    /// health check.
    Healthcheck,
    /// Write a consistent copy of the SQLite database to PATH, safely while authd runs
    /// (PostgreSQL: use pg_dump). The instance secret is not in it: keep that apart.
    Backup {
        /// Where the copy goes (a new file).
        path: std::path::PathBuf,
    },
    /// Signing-key lifecycle.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// User administration.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// The OAuth client registry.
    Clients {
        #[command(subcommand)]
        command: ClientsCommand,
    },
    /// Resource servers (RFC 8707): services whose tokens name them as their audience.
    Resources {
        #[command(subcommand)]
        command: ResourcesCommand,
    },
    /// The effective configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// The email outbox.
    Mail {
        #[command(subcommand)]
        command: MailCommand,
    },
    /// The audit trail (see the README's Audit events).
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

/// Which events: the filters of `GET /api/admin/audit`.
#[derive(clap::Args)]
struct AuditFilters {
    /// Only events about this account (its id).
    #[arg(long = "user", value_name = "USER_ID")]
    user: Option<String>,
    /// Only events of this client.
    #[arg(long = "client", value_name = "CLIENT_ID")]
    client: Option<String>,
    /// Only these kinds, comma-separated (sign_in.failed,session.ended).
    #[arg(long = "kind", value_name = "KINDS")]
    kind: Option<String>,
    /// Only events at or after this RFC 3339 time.
    #[arg(long = "since", value_name = "TIME")]
    since: Option<String>,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Print events, newest first, one JSON object per line.
    List {
        #[command(flatten)]
        filters: AuditFilters,
        /// Only events before this RFC 3339 time.
        #[arg(long = "until", value_name = "TIME")]
        until: Option<String>,
        /// How many (1 to 200).
        #[arg(long = "limit", value_name = "N", default_value_t = 50)]
        limit: i64,
    },
    /// Print new events as they are written, oldest first, one JSON object per line, until
    /// stopped: pipe it to a file or a log shipper.
    Tail {
        #[command(flatten)]
        filters: AuditFilters,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Check the settings (a bad one stops here with its name) and print the effective value
    /// of each, secrets masked.
    Check,
}

#[derive(Subcommand)]
enum MailCommand {
    /// Emails not sent yet, one JSON object per line: waiting ones (with their attempts and
    /// last error), then failed ones (given up on; kept 30 days).
    List,
    /// Send failed emails again: one by its id (from `mail list`), or every one with --failed.
    Retry {
        /// The email's id.
        #[arg(required_unless_present = "failed", conflicts_with = "failed")]
        id: Option<String>,
        /// Every failed email.
        #[arg(long)]
        failed: bool,
    },
}

#[derive(Subcommand)]
enum ClientsCommand {
    /// Register a client; prints one JSON object (a confidential client's secret is shown only here).
    Create {
        /// The name people see on the consent page (1 to 100 characters).
        #[arg(long)]
        name: String,
        /// `confidential`: a server that keeps a secret (one is made and printed once);
        /// `public`: a browser or native app (no secret; PKCE is required).
        #[arg(long = "type", value_parser = ["public", "confidential"])]
        client_type: String,
        /// An address the authorization response may go to, matched exactly (a loopback IP's
        /// port excepted). Repeat for several; needed for authorization_code.
        #[arg(long = "redirect-uri", value_name = "URI")]
        redirect_uris: Vec<String>,
        /// A grant the client may use. Repeat for several.
        #[arg(long = "grant", value_name = "GRANT", required = true, value_parser = GRANTS)]
        grants: Vec<String>,
        /// A scope the client may ask for. Repeat for several; without any:
        /// openid profile email offline_access.
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
        /// Skip the consent page: the client belongs to whoever runs authd.
        #[arg(long)]
        first_party: bool,
        /// A resource server: may introspect every client's tokens (RFC 7662 section 4).
        /// Without it a client introspects only the tokens issued to itself.
        #[arg(long)]
        introspect: bool,
        /// Where the client may send a person after logout at /oauth/logout (repeatable;
        /// matched exactly).
        #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
        post_logout_redirect_uris: Vec<String>,
        /// Where authd POSTs a signed logout token when one of the client's sessions ends
        /// (logout, logout-all, password change, admin action): OpenID Connect Back-Channel
        /// Logout 1.0.
        #[arg(long = "backchannel-logout-uri", value_name = "URI")]
        backchannel_logout_uri: Option<String>,
        /// Sign-ins for this client need a second factor (a person without one is asked to
        /// set one up first).
        #[arg(long = "require-mfa")]
        require_mfa: bool,
        /// How its ID tokens (and logout tokens) are signed, if not AUTHD_SIGNING_ALG
        /// (`id_token_signed_response_alg`).
        #[arg(long = "id-token-alg", value_name = "ALG", value_parser = parse_alg)]
        id_token_alg: Option<SigningAlg>,
        /// Its token requests must prove possession of a key (DPoP, RFC 9449): its tokens are
        /// then always bound to that key.
        #[arg(long = "require-dpop")]
        require_dpop: bool,
    },
    /// Change a client in place: each option given replaces what is registered (a repeated
    /// one, the whole list); its id, sessions and tokens stay. Prints the client as JSON.
    Update {
        /// The client's id (`client_id` in `clients list`).
        #[arg(value_name = "CLIENT_ID")]
        id: String,
        /// A new name for the consent page.
        #[arg(long)]
        name: Option<String>,
        /// The addresses authorization responses may go to (repeat for several).
        #[arg(long = "redirect-uri", value_name = "URI")]
        redirect_uris: Vec<String>,
        /// The grants it may use (repeat for several).
        #[arg(long = "grant", value_name = "GRANT", value_parser = GRANTS)]
        grants: Vec<String>,
        /// The scopes it may ask for (repeat for several).
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
        /// Whether it skips the consent page.
        #[arg(long = "first-party", value_name = "BOOL")]
        first_party: Option<bool>,
        /// Whether it may introspect every client's tokens.
        #[arg(long = "introspect", value_name = "BOOL")]
        introspect: Option<bool>,
        /// Where it may send a person after logout (repeat for several).
        #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
        post_logout_redirect_uris: Vec<String>,
        /// Where logout tokens go.
        #[arg(long = "backchannel-logout-uri", value_name = "URI")]
        backchannel_logout_uri: Option<String>,
        /// Send no more logout tokens.
        #[arg(
            long = "no-backchannel-logout",
            conflicts_with = "backchannel_logout_uri"
        )]
        no_backchannel_logout: bool,
        /// Whether its sign-ins need a second factor.
        #[arg(long = "require-mfa", value_name = "BOOL")]
        require_mfa: Option<bool>,
        /// How its ID tokens are signed.
        #[arg(long = "id-token-alg", value_name = "ALG", value_parser = parse_alg)]
        id_token_alg: Option<SigningAlg>,
        /// Sign its ID tokens with AUTHD_SIGNING_ALG again.
        #[arg(long = "default-id-token-alg", conflicts_with = "id_token_alg")]
        default_id_token_alg: bool,
        /// Whether its token requests must carry a DPoP proof.
        #[arg(long = "require-dpop", value_name = "BOOL")]
        require_dpop: Option<bool>,
        /// Make a new secret (printed once, as `client_secret`); the old one stops working at
        /// once, so deploy the new one right after.
        #[arg(long = "rotate-secret")]
        rotate_secret: bool,
    },
    /// List registered clients, one JSON object per line.
    List,
    /// Delete a client; its codes go with it, its sessions end and its tokens stop working.
    Delete {
        /// The client's id (`client_id` in `clients list`).
        #[arg(value_name = "CLIENT_ID")]
        id: String,
    },
}

/// `--alg`, `--id-token-alg`: a JWS name authd signs with.
fn parse_alg(name: &str) -> Result<SigningAlg, String> {
    SigningAlg::parse(name).ok_or_else(|| "expected RS256, ES256 or EdDSA".to_owned())
}

#[derive(Subcommand)]
enum ResourcesCommand {
    /// Register a service: a token asked for with `resource=URI` then has `aud` = URI and
    /// only the service's scopes. Prints it as JSON.
    Create {
        /// What its tokens' `aud` is and what clients name as `resource` (an http(s) URL).
        #[arg(long, value_name = "URI")]
        identifier: String,
        /// A name for people (default: the URL's host).
        #[arg(long)]
        name: Option<String>,
        /// A scope the service takes (repeat for several).
        #[arg(long = "scope", value_name = "SCOPE", required = true)]
        scopes: Vec<String>,
    },
    /// List the registered resource servers, one JSON object per line.
    List,
    /// Delete a resource server: requests naming it are refused; tokens already issued for it
    /// stay valid until they expire.
    Delete {
        /// Its identifier.
        #[arg(value_name = "URI")]
        identifier: String,
    },
}

fn resource_json(row: &authd::storage::ResourceRow) -> serde_json::Value {
    serde_json::json!({
        "identifier": row.identifier,
        "name": row.name,
        "scopes": row.scopes.split_whitespace().collect::<Vec<_>>(),
    })
}

const GRANTS: [&str; 4] = [
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "password",
];

#[derive(Subcommand)]
enum UsersCommand {
    /// Create an ADMIN, or promote the account holding the email. The password is asked for
    /// on a terminal (not shown as typed), or read as one line from stdin when piped.
    CreateAdmin {
        /// The admin's email address.
        #[arg(long, value_name = "EMAIL")]
        email: String,
    },
    /// Remove every second factor and recovery code of the account holding the email (it lost
    /// them); its sessions end and its address is told.
    ResetMfa {
        /// The account's email address.
        #[arg(long, value_name = "EMAIL")]
        email: String,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// List the signing keys in the database with their status.
    List,
    /// Add a key for each algorithm (RS256, ES256, EdDSA), or for one: in every instance's
    /// JWKS within 5 s, signing after AUTHD_KEY_ACTIVATION_DELAY.
    Rotate {
        /// Only this algorithm's key.
        #[arg(long, value_name = "ALG", value_parser = parse_alg)]
        alg: Option<SigningAlg>,
    },
    /// Stop signing with a key; it stays published until the tokens it signed have expired.
    Retire {
        /// The key's id (`kid` in `keys list` and in the JWKS).
        kid: String,
    },
    /// Bring the PEM keys of an earlier authd's keys folder (AUTHD_KEYS_DIR) into the database.
    Import {
        /// The folder holding the {kid}.pem files.
        #[arg(default_value = "keys")]
        dir: std::path::PathBuf,
    },
    /// Write the public key of each published key to DIR/{kid}.pub.pem, for a service that
    /// pins keys instead of reading the JWKS. Private keys never leave the database.
    Export {
        /// Where the files go (made if missing).
        #[arg(default_value = "keys")]
        dir: std::path::PathBuf,
    },
}

const SETTINGS_HELP: &str = "\
Settings come from the environment or an authd.toml in the working directory (or the file
AUTHD_CONFIG names); the README's configuration table says what each does:

  AUTHD_BIND  DATABASE_URL  AUTHD_SECRET  AUTHD_SECRET_FILE  AUTHD_ISSUER  AUTHD_PUBLIC_URL
  AUTHD_FRONTEND_URL  AUTHD_KEYS_DIR  AUTHD_SMTP_URL  AUTHD_MAIL_DIR  AUTHD_MAIL_FROM
  AUTHD_ACCESS_TOKEN_TTL  AUTHD_REFRESH_TOKEN_TTL  AUTHD_SESSION_MAX_AGE
  AUTHD_REFRESH_REUSE_GRACE  AUTHD_REQUIRE_EMAIL_VERIFICATION  AUTHD_KEY_ACTIVATION_DELAY
  AUTHD_ANONYMOUS_MAX_AGE  AUTHD_CORS_ORIGINS  AUTHD_LOG_FORMAT  AUTHD_RATE_LIMIT
  AUTHD_REQUIRE_MFA_FOR  AUTHD_AUDIT_RETENTION  AUTHD_SIGNING_ALG  AUTHD_DPOP_REQUIRE_NONCE
  AUTHD_DEFAULT_LOCALE
  AUTHD_TRUST_FORWARDED_FOR  AUTHD_HEADER_READ_TIMEOUT  AUTHD_BODY_READ_TIMEOUT
  AUTHD_REQUEST_TIMEOUT  AUTHD_MAX_HEADER_BYTES  AUTHD_MAX_CONNECTIONS
  AUTHD_MAX_CONNECTIONS_PER_ADDRESS  AUTHD_SHUTDOWN_TIMEOUT  AUTHD_METRICS_BIND  AUTHD_BRAND_NAME  AUTHD_BRAND_LOGO_URL  AUTHD_BRAND_COLOR
  AUTHD_SUPPORT_URL  AUTHD_UPSTREAM_PROVIDERS (and AUTHD_UPSTREAM_{ID}_...)  RUST_LOG

With none set: 127.0.0.1:8080, SQLite in data/, emails as files in data/outbox/.";

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colour only for a person at a terminal: escape codes in a file or journald break grep.
    use std::io::IsTerminal as _;
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Pretty => builder.init(),
    }
}

fn main() -> ExitCode {
    authd::passwords::return_big_blocks_when_freed();
    // At least two workers, also on one core: a SQLite call runs on the worker that makes it
    // (`storage::SqliteCalls`), and one waiting for another process's lock must not stop the
    // rest of the server.
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().max(2));
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(start()),
        Err(e) => {
            eprintln!("authd: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn start() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("authd: configuration error: {e:#}");
            return ExitCode::from(2);
        }
    };
    init_tracing(config.log_format);
    if authd::storage::audit::OFF {
        tracing::warn!("built with bench-audit-off: no audit events are written (benchmarks only)");
    }
    // A typo in the environment would be ignored silently (the same one in authd.toml stops).
    let names: Vec<String> = std::env::vars().map(|(k, _)| k).collect();
    for unknown in authd::config::unknown_settings(names.iter().map(String::as_str)) {
        tracing::warn!("{unknown}");
        eprintln!("authd: warning: {unknown}");
    }
    match run(cli.command.unwrap_or(Command::Serve), config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("authd: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn client_json(row: &authd::storage::ClientRow) -> serde_json::Value {
    let words = |s: &str| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    serde_json::json!({
        "client_id": row.id,
        "name": row.name,
        "type": row.client_type,
        "redirect_uris": words(&row.redirect_uris),
        "grant_types": words(&row.grant_types),
        "scopes": words(&row.scopes),
        "first_party": row.first_party,
        "can_introspect": row.can_introspect,
        "post_logout_redirect_uris": words(&row.post_logout_redirect_uris),
        "backchannel_logout_uri": row.backchannel_logout_uri,
        "id_token_signed_response_alg": row.id_token_signed_response_alg,
        "require_dpop": row.require_dpop,
        "require_mfa": row.require_mfa,
    })
}

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The password: asked for on a terminal without showing it, or one line piped to stdin.
fn read_password() -> anyhow::Result<String> {
    use std::io::IsTerminal as _;
    let password = if std::io::stdin().is_terminal() {
        rpassword::prompt_password("password for the new admin: ")
            .context("reading the password from the terminal")?
    } else {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("reading the password from stdin")?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    if password.is_empty() {
        anyhow::bail!("no password on stdin");
    }
    Ok(password)
}

/// Long by nature: one arm per CLI command, each a few calls into the library.
async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => {
            let app = authd::Application::build(config).await?;
            tracing::info!(address = %app.local_addr(), "listening");
            app.run_until_stopped(authd::app::shutdown_signal()).await
        }
        Command::Migrate => {
            let db = Database::connect(config.database_url.expose_secret()).await?;
            let applied = db.migrate().await?;
            println!("{applied} migration(s) applied");
            Ok(())
        }
        Command::Healthcheck => {
            // An unspecified bind address is reached on loopback.
            let mut at = config.bind;
            if at.ip().is_unspecified() {
                at.set_ip(if at.is_ipv4() {
                    std::net::Ipv4Addr::LOCALHOST.into()
                } else {
                    std::net::Ipv6Addr::LOCALHOST.into()
                });
            }
            let url = format!("http://{at}/readyz");
            let answer = reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(5))
                .build()?
                .get(&url)
                .send()
                .await
                .with_context(|| format!("nothing answered at {url}"))?;
            if !answer.status().is_success() {
                anyhow::bail!("{url} answered {}: not ready", answer.status());
            }
            println!("ready");
            Ok(())
        }
        Command::Backup { path } => {
            let db = Database::connect(config.database_url.expose_secret()).await?;
            authd::storage::maintenance::backup(&db, &path).await?;
            println!(
                "wrote {}: restore by putting it in place of the database, with the same \
                 AUTHD_SECRET (not in the copy: keep it apart)",
                path.display()
            );
            Ok(())
        }
        Command::Users {
            command: UsersCommand::ResetMfa { email },
        } => {
            let email = EmailAddress::parse(&email).map_err(|m| anyhow::anyhow!("--email: {m}"))?;
            let db = Database::connect(config.database_url.expose_secret()).await?;
            db.migrate().await?;
            let mailer = authd::mail::Mailer::from_config(
                &config,
                std::sync::Arc::new(authd::app::sealer(&config)?),
            )?;
            let user = authd::storage::users::find_user(
                &db,
                authd::storage::users::UserKey::Email(&email.normalized()),
            )
            .await?
            .ok_or_else(|| anyhow::anyhow!("no account has the address {email}"))?;
            let n = authd::accounts::factors::reset_with(
                &db,
                &mailer,
                &user,
                None,
                chrono::Utc::now().naive_utc(),
            )
            .await?;
            println!(
                "removed {n} second factor(s) of {email}, with its recovery codes; every session ended"
            );
            Ok(())
        }
        Command::Users {
            command: UsersCommand::CreateAdmin { email },
        } => {
            let email = EmailAddress::parse(&email).map_err(|m| anyhow::anyhow!("--email: {m}"))?;
            let db = Database::connect(config.database_url.expose_secret()).await?;
            db.migrate().await?;
            let hasher = PasswordHasher::new()?;
            let now = chrono::Utc::now().naive_utc();
            let created =
                authd::accounts::create_admin(&db, &hasher, &email, read_password, now).await?;
            if created {
                println!("created admin {email}");
            } else {
                println!("promoted {email} to admin");
            }
            Ok(())
        }
        Command::Clients { command } => {
            let db = Database::connect(config.database_url.expose_secret()).await?;
            db.migrate().await?;
            match command {
                ClientsCommand::Create {
                    name,
                    client_type,
                    redirect_uris,
                    grants,
                    scopes,
                    first_party,
                    introspect,
                    post_logout_redirect_uris,
                    backchannel_logout_uri,
                    require_mfa,
                    id_token_alg,
                    require_dpop,
                } => {
                    let new = NewClient {
                        name,
                        client_type: client_type.parse().map_err(anyhow::Error::msg)?,
                        redirect_uris,
                        grant_types: grants
                            .iter()
                            .map(|g| g.parse())
                            .collect::<Result<_, _>>()
                            .map_err(anyhow::Error::msg)?,
                        scopes,
                        first_party,
                        can_introspect: introspect,
                        post_logout_redirect_uris,
                        backchannel_logout_uri,
                        require_mfa,
                        id_token_alg,
                        require_dpop,
                    };
                    let (row, secret) = new
                        .into_row(chrono::Utc::now().naive_utc())
                        .map_err(anyhow::Error::msg)?;
                    clients::insert_client(&db, &row).await?;
                    let mut out = client_json(&row);
                    if let Some(secret) = secret {
                        out["client_secret"] = secret.expose().into();
                    }
                    println!("{out}");
                }
                ClientsCommand::Update {
                    id,
                    name,
                    redirect_uris,
                    grants,
                    scopes,
                    first_party,
                    introspect,
                    post_logout_redirect_uris,
                    backchannel_logout_uri,
                    no_backchannel_logout,
                    require_mfa,
                    id_token_alg,
                    default_id_token_alg,
                    require_dpop,
                    rotate_secret,
                } => {
                    if id == authd::accounts::FIRST_PARTY_CLIENT {
                        anyhow::bail!(
                            "{id} is built in: authd's own account API issues tokens for it"
                        );
                    }
                    let Some(old) = clients::find_client(&db, &id).await? else {
                        anyhow::bail!("no client {id}");
                    };
                    let given = |list: Vec<String>| (!list.is_empty()).then_some(list);
                    let changes = ClientChanges {
                        name,
                        redirect_uris: given(redirect_uris),
                        grant_types: given(grants)
                            .map(|g| g.iter().map(|g| g.parse()).collect::<Result<_, _>>())
                            .transpose()
                            .map_err(anyhow::Error::msg)?,
                        scopes: given(scopes),
                        first_party,
                        can_introspect: introspect,
                        post_logout_redirect_uris: given(post_logout_redirect_uris),
                        backchannel_logout_uri: if no_backchannel_logout {
                            Some(None)
                        } else {
                            backchannel_logout_uri.map(Some)
                        },
                        require_mfa,
                        id_token_alg: if default_id_token_alg {
                            Some(None)
                        } else {
                            id_token_alg.map(Some)
                        },
                        require_dpop,
                        rotate_secret,
                    };
                    let update = changes.apply(&old).map_err(anyhow::Error::msg)?;
                    let now = chrono::Utc::now().naive_utc();
                    let rotated = update.secret.is_some();
                    if !clients::update_client(&db, &update.row, &update.fields, rotated, now)
                        .await?
                    {
                        anyhow::bail!("no client {id}");
                    }
                    let mut out = client_json(&update.row);
                    if let Some(secret) = update.secret {
                        out["client_secret"] = secret.expose().into();
                    }
                    println!("{out}");
                }
                ClientsCommand::List => {
                    for row in clients::list_clients(&db).await? {
                        println!("{}", client_json(&row));
                    }
                }
                ClientsCommand::Delete { id } => {
                    if id == authd::accounts::FIRST_PARTY_CLIENT {
                        anyhow::bail!(
                            "{id} is built in: authd's own account API issues tokens for it"
                        );
                    }
                    if !clients::delete_client(&db, &id, chrono::Utc::now().naive_utc()).await? {
                        anyhow::bail!("no client {id}");
                    }
                    println!("deleted {id}");
                }
            }
            Ok(())
        }
        Command::Resources { command } => {
            use authd::storage::resources;
            let db = Database::connect(config.database_url.expose_secret()).await?;
            db.migrate().await?;
            match command {
                ResourcesCommand::Create {
                    identifier,
                    name,
                    scopes,
                } => {
                    let row = authd::oauth::resource::NewResource {
                        identifier,
                        name,
                        scopes,
                    }
                    .into_row(chrono::Utc::now().naive_utc())
                    .map_err(anyhow::Error::msg)?;
                    if !resources::insert_resource(&db, &row).await? {
                        anyhow::bail!("{} is registered already", row.identifier);
                    }
                    println!("{}", resource_json(&row));
                }
                ResourcesCommand::List => {
                    for row in resources::list_resources(&db).await? {
                        println!("{}", resource_json(&row));
                    }
                }
                ResourcesCommand::Delete { identifier } => {
                    let now = chrono::Utc::now().naive_utc();
                    if !resources::delete_resource(&db, &identifier, now).await? {
                        anyhow::bail!("no resource server {identifier}");
                    }
                    println!("deleted {identifier}");
                }
            }
            Ok(())
        }
        Command::Config {
            command: ConfigCommand::Check,
        } => {
            for (key, value) in config.describe() {
                println!("{key:<34} {value}");
            }
            // What `serve` would refuse, this refuses too.
            config.require_shared_secret()?;
            config.require_reachable_issuer()
        }
        Command::Mail {
            command: MailCommand::List,
        } => {
            let db = Database::connect(config.database_url.expose_secret()).await?;
            db.migrate().await?;
            let rows = authd::storage::outbox::list(&db).await?;
            for row in &rows {
                let at = |t: chrono::NaiveDateTime| rfc3339(t.and_utc());
                println!(
                    "{}",
                    serde_json::json!({
                        "id": row.id,
                        "recipient": row.recipient,
                        "status": if row.failed_at.is_some() { "failed" } else { "waiting" },
                        "created_at": at(row.created_at),
                        "attempts": row.attempts,
                        "next_attempt_at": row.failed_at.is_none().then(|| at(row.next_attempt_at)),
                        "failed_at": row.failed_at.map(at),
                        "last_error": row.last_error,
                    })
                );
            }
            if rows.is_empty() {
                eprintln!("the outbox is empty: every email has been sent");
            }
            Ok(())
        }
        Command::Mail {
            command: MailCommand::Retry { id, failed: _ },
        } => {
            use authd::storage::outbox::{Retry, retry};
            let db = Database::connect(config.database_url.expose_secret()).await?;
            db.migrate().await?;
            let now = chrono::Utc::now().naive_utc();
            let n = match id.as_deref() {
                Some(id) => retry(&db, Retry::One(id), now).await?,
                None => retry(&db, Retry::EveryFailed, now).await?,
            };
            if n == 0 && id.is_some() {
                anyhow::bail!("no failed email with that id (`authd mail list` shows them)");
            }
            println!(
                "{n} email(s) queued again: a running instance sends them within a second or two"
            );
            Ok(())
        }
        Command::Audit { command } => {
            let db = Database::connect(config.database_url.expose_secret()).await?;
            db.migrate().await?;
            audit(&db, command).await
        }
        Command::Keys { command } => {
            let keys = KeyStore::new(
                std::sync::Arc::new(authd::app::sealer(&config)?),
                config.access_token_ttl,
                config.signing_alg,
            );
            let db = Database::connect(config.database_url.expose_secret()).await?;
            db.migrate().await?;
            signing_keys::refresh(&db, &keys).await?;
            // The database's time, as every instance decides by (see `authd::clock`).
            let now = authd::storage::instance::database_now(&db)
                .await?
                .unwrap_or_else(chrono::Utc::now);
            let bound = signing_keys::REFRESH_INTERVAL.as_secs();
            match command {
                KeysCommand::List => {}
                KeysCommand::Rotate { alg } => {
                    let algs = alg.map_or(SigningAlg::ALL.to_vec(), |a| vec![a]);
                    let added =
                        signing_keys::rotate(&db, &keys, now, config.key_activation_delay, &algs)
                            .await?;
                    for key in added {
                        println!(
                            "added {} ({}): in every running instance's JWKS within {bound} s, signs from {} (AUTHD_KEY_ACTIVATION_DELAY)",
                            key.kid,
                            key.alg,
                            rfc3339(key.lifecycle.activates_at)
                        );
                    }
                }
                KeysCommand::Retire { kid } => {
                    signing_keys::retire(&db, &keys, &kid, now).await?;
                    println!(
                        "retired {kid}: every running instance stops signing with it within {bound} s; it stays published until its tokens expire"
                    );
                }
                KeysCommand::Import { dir } => {
                    let added = signing_keys::import(&db, &keys, &dir).await?;
                    println!("imported {} key(s) from {}", added.len(), dir.display());
                }
                KeysCommand::Export { dir } => {
                    std::fs::create_dir_all(&dir)
                        .with_context(|| format!("making {}", dir.display()))?;
                    for key in keys.all().iter() {
                        if keys.status(key, now) == authd::tokens::KeyStatus::Expired {
                            continue;
                        }
                        let path = dir.join(format!("{}.pub.pem", key.kid));
                        std::fs::write(&path, key.public_pem()?)
                            .with_context(|| format!("writing {}", path.display()))?;
                        println!("wrote {}", path.display());
                    }
                }
            }
            let all = keys.all();
            if all.is_empty() {
                println!("no keys yet: `authd serve` makes the first one");
            }
            for key in all.iter() {
                let status = keys.status(key, now);
                let signer = keys
                    .signing_key(now, key.alg)
                    .is_some_and(|s| s.kid == key.kid);
                println!(
                    "{}  {:<5}  {:<8}{}  created {}  activates {}{}",
                    key.kid,
                    key.alg.as_str(),
                    status.as_str(),
                    if signer { " (signing)" } else { "" },
                    rfc3339(key.lifecycle.created_at),
                    rfc3339(key.lifecycle.activates_at),
                    key.lifecycle
                        .retired_at
                        .map(|r| format!("  retired {}", rfc3339(r)))
                        .unwrap_or_default(),
                );
            }
            Ok(())
        }
    }
}

/// `authd audit list|tail`: the filters checked as the admin API checks them.
async fn audit(db: &Database, command: AuditCommand) -> anyhow::Result<()> {
    use authd::accounts::audit::AuditEventView;
    use authd::http::requests::AuditQuery;
    let (filters, until, limit, follow) = match command {
        AuditCommand::List {
            filters,
            until,
            limit,
        } => (filters, until, limit, false),
        AuditCommand::Tail { filters } => (filters, None, 200, true),
    };
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("user_id", filters.user),
        ("client_id", filters.client),
        ("kind", filters.kind),
        ("since", filters.since),
        ("until", until),
        ("limit", Some(limit.to_string())),
    ] {
        if let Some(v) = v {
            query.append_pair(k, &v);
        }
    }
    let query = AuditQuery::parse(Some(&query.finish())).map_err(|e| match e {
        authd::error::ApiError::Validation(fields) => anyhow::anyhow!(
            "{}",
            fields
                .iter()
                .map(|(k, v)| format!("--{}: {v}", k.trim_end_matches("_id")))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        other => anyhow::anyhow!("{other}"),
    })?;
    let print = |row: authd::storage::audit::AuditEventRow| -> anyhow::Result<()> {
        println!("{}", serde_json::to_string(&AuditEventView::from(row))?);
        Ok(())
    };
    if !follow {
        for row in authd::storage::audit::list(db, &query.filter, query.limit).await? {
            print(row)?;
        }
        return Ok(());
    }
    // Follow: read what is new every second. An event's time is its writer's clock, and a
    // transaction may commit a moment after an event of a later time, so each read looks back
    // a few seconds and skips what was printed already.
    let mut filter = query.filter;
    filter.oldest_first = true;
    if filter.since.is_none() {
        filter.since = Some(chrono::Utc::now().naive_utc());
    }
    // Ids printed, with their times, for the look-back window.
    let mut printed: std::collections::HashMap<String, chrono::NaiveDateTime> =
        std::collections::HashMap::new();
    loop {
        let rows = authd::storage::audit::list(db, &filter, 1000).await?;
        let full = rows.len() == 1000;
        let mut newest = None;
        for row in rows {
            newest = Some(row.at);
            if !printed.contains_key(&row.id) {
                printed.insert(row.id.clone(), row.at);
                print(row)?;
            }
        }
        if let Some(newest) = newest {
            let back = newest - chrono::Duration::seconds(5);
            if filter.since.is_none_or(|s| back > s) {
                filter.since = Some(back);
                printed.retain(|_, at| *at >= back);
            }
        }
        if !full {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    }
}
