//! Seeding through Tessera's own library: resources, clients and users through the service
//! layer (as the CLI and the console create them), codes and refresh tokens through the store
//! and the refresh-token issuer, so a benchmark's data is what the server itself would write.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use tokio::task::JoinSet;

use tessera::SystemClock;
use tessera::app::Init;
use tessera::config::{Config, SecretString};
use tessera::crypto::random;
use tessera::model::{Actor, Client, GrantType, ScopeDef, SigningAlg};
use tessera::oauth::authorize::decision::hash_secret;
use tessera::oauth::refresh::FamilyGrant;
use tessera::service::clients::ClientSpec;
use tessera::service::resources::ResourceSpec;
use tessera::service::users::UserSpec;
use tessera::state::Core;
use tessera::store::{Db, codes};

/// Where the seeded codes send the browser (nothing listens there: no request goes to it).
pub const REDIRECT_URI: &str = "http://127.0.0.1:9/cb";
pub const USERNAME: &str = "bench";
pub const PASSWORD: &str = "correct horse battery staple";
/// Scopes of the seeded codes and refresh tokens.
const CODE_SCOPE: &str = "openid profile";
const REFRESH_SCOPE: &str = "openid offline_access";
/// Seeded codes and refresh tokens outlive any run.
const LIFETIME: i64 = 86_400;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A brand-new, empty database for one backend.
pub struct Database {
    pub url: String,
    /// (admin URL, database name) of a PostgreSQL database this program created.
    postgres: Option<(String, String)>,
}

impl Database {
    /// SQLite: `<work>/<name>.db`. PostgreSQL: database `name`, dropped and created through
    /// `pg_admin_url`.
    pub async fn fresh(
        backend: Backend,
        work: &Path,
        name: &str,
        pg_admin_url: &str,
    ) -> Result<Self> {
        match backend {
            Backend::Sqlite => {
                let file = work.join(format!("{name}.db"));
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
                }
                Ok(Self {
                    url: format!("sqlite://{}", file.display()),
                    postgres: None,
                })
            }
            Backend::Postgres => {
                let (base, _) = pg_admin_url
                    .rsplit_once('/')
                    .context("BENCH_PG_ADMIN_URL has no database name")?;
                postgres_admin(
                    pg_admin_url,
                    &[
                        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                        format!("CREATE DATABASE {name}"),
                    ],
                )
                .await?;
                Ok(Self {
                    url: format!("{base}/{name}"),
                    postgres: Some((pg_admin_url.to_owned(), name.to_owned())),
                })
            }
        }
    }

    /// Drops a PostgreSQL database made by [`Database::fresh`] (SQLite files go with the
    /// work directory).
    pub async fn remove(self) -> Result<()> {
        if let Some((admin, name)) = self.postgres {
            postgres_admin(
                &admin,
                &[format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")],
            )
            .await?;
        }
        Ok(())
    }
}

async fn postgres_admin(admin_url: &str, statements: &[String]) -> Result<()> {
    let db = Db::connect(admin_url, 1)
        .await
        .with_context(|| format!("cannot connect to {admin_url}"))?;
    let Db::Postgres(pool) = &db else {
        bail!("{admin_url} is not a PostgreSQL URL");
    };
    for sql in statements {
        sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .execute(pool)
            .await
            .with_context(|| sql.clone())?;
    }
    db.close().await;
    Ok(())
}

/// A confidential client's credentials.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub client_id: String,
    pub secret: String,
}

impl Credentials {
    /// The `Authorization` header value (RFC 6749 §2.3.1).
    pub fn basic(&self) -> String {
        format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{}", self.client_id, self.secret))
        )
    }
}

/// What [`Seeder::seed`] made.
pub struct Seeded {
    /// client_credentials clients, one per signing algorithm of their resource's tokens.
    pub services: Vec<(SigningAlg, Credentials)>,
    /// First-party web clients (authorization_code + refresh_token, PKCE optional), one per
    /// ID-token algorithm.
    pub web: Vec<(SigningAlg, Credentials)>,
    /// The user `bench` (password [`PASSWORD`]).
    pub sub: String,
}

impl Seeded {
    pub fn service(&self, alg: SigningAlg) -> Result<&Credentials> {
        pick(&self.services, alg)
    }

    pub fn web(&self, alg: SigningAlg) -> Result<&Credentials> {
        pick(&self.web, alg)
    }
}

fn pick(list: &[(SigningAlg, Credentials)], alg: SigningAlg) -> Result<&Credentials> {
    list.iter()
        .find(|(a, _)| *a == alg)
        .map(|(_, c)| c)
        .with_context(|| format!("no client seeded for {}", alg.as_str()))
}

/// The library opened on a benchmark database, as `tessera migrate` would open it.
pub struct Seeder {
    core: Arc<Core>,
    /// Concurrent writers for bulk rows: SQLite has one writer whatever we do.
    writers: usize,
}

impl Seeder {
    pub async fn open(database_url: &str, master_key: &str) -> Result<Self> {
        tessera::crypto::install_providers();
        let config = Config {
            database_url: database_url.to_owned(),
            master_key: Some(SecretString(master_key.to_owned())),
            ..Config::default()
        }
        .validated()?;
        let core = Core::open(config, Arc::new(SystemClock), Init::Allowed).await?;
        let writers = if database_url.starts_with("sqlite:") {
            1
        } else {
            8
        };
        Ok(Self { core, writers })
    }

    /// The library's service layer, for seeding something else.
    pub fn core(&self) -> &Core {
        &self.core
    }

    /// One resource and one client_credentials client per algorithm, the web clients and the
    /// user, created through the service layer.
    pub async fn seed(&self) -> Result<Seeded> {
        let actor = Actor::cli();
        let mut services = Vec::new();
        let mut web = Vec::new();
        for alg in [SigningAlg::EdDSA, SigningAlg::ES256, SigningAlg::RS256] {
            let name = alg.as_str();
            let identifier = format!("https://api.example.com/{}", name.to_lowercase());
            let resource = ResourceSpec {
                name: format!("bench {name}"),
                scopes: vec![ScopeDef {
                    name: "read".into(),
                    description: "Read".into(),
                }],
                signing_alg: alg,
                ..ResourceSpec::new(identifier.clone())
            };
            self.core.create_resource(resource, &actor).await?;
            let service = ClientSpec {
                resources: vec![identifier],
                ..ClientSpec::new(format!("bench-{name}"))
            };
            services.push((alg, self.register(service).await?));
            let browser = ClientSpec {
                grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
                redirect_uris: vec![REDIRECT_URI.into()],
                id_token_alg: alg,
                first_party: true,
                pkce_required: false,
                ..ClientSpec::new(format!("web-{name}"))
            };
            web.push((alg, self.register(browser).await?));
        }
        let user = UserSpec {
            username: USERNAME.into(),
            email: None,
            email_verified: false,
            name: None,
            admin: false,
            claims: Default::default(),
        };
        let user = self.core.create_user(user, PASSWORD, &actor).await?;
        Ok(Seeded {
            services,
            web,
            sub: user.sub,
        })
    }

    async fn register(&self, spec: ClientSpec) -> Result<Credentials> {
        let registered = self.core.create_client(spec, &Actor::cli()).await?;
        Ok(Credentials {
            client_id: registered.client.client_id.0,
            secret: registered
                .secret
                .context("a confidential client was registered without a secret")?,
        })
    }

    /// `n` authorization codes for `client_id` and `sub` (scope "openid profile", no PKCE,
    /// valid for a day), stored by hash as `/authorize` stores them; returns the raw codes.
    pub async fn codes(&self, client_id: &str, sub: &str, n: usize) -> Result<Vec<String>> {
        let now = self.core.now();
        let sid = random::token::<16>();
        let values: Vec<String> = (0..n).map(|_| random::token::<32>()).collect();
        let rows: Vec<codes::CodeRow> = values
            .iter()
            .map(|code| codes::CodeRow {
                code_hash: hash_secret(code),
                client_id: client_id.to_owned(),
                sub: sub.to_owned(),
                redirect_uri: REDIRECT_URI.to_owned(),
                redirect_uri_sent: true,
                code_challenge: None,
                nonce: None,
                scope: CODE_SCOPE.to_owned(),
                resource: None,
                auth_time: now,
                sid: sid.clone(),
                expires_at: now + LIFETIME,
            })
            .collect();
        let db = self.core.db.clone();
        self.in_parallel(rows, move |row| {
            let db = db.clone();
            async move { Ok(codes::insert(&db, &row).await?) }
        })
        .await?;
        Ok(values)
    }

    /// `n` refresh tokens of `client_id` for `sub` (scope "openid offline_access", offline),
    /// each the first of its own family as after `n` separate sign-ins, stored by the same
    /// function `/token` uses; returns the raw tokens.
    pub async fn refresh_tokens(
        &self,
        client_id: &str,
        sub: &str,
        n: usize,
    ) -> Result<Vec<String>> {
        let client: Arc<Client> = Arc::new(self.core.client(client_id).await?);
        let now = self.core.now();
        let sid: Arc<str> = random::token::<16>().into();
        let sub: Arc<str> = sub.into();
        let values: Vec<String> = (0..n)
            .map(|_| tessera::oauth::refresh::new_token())
            .collect();
        let core = self.core.clone();
        self.in_parallel(values.clone(), move |token| {
            let (core, client, sub, sid) = (core.clone(), client.clone(), sub.clone(), sid.clone());
            async move {
                let family_id = random::token::<16>();
                let grant = FamilyGrant {
                    family_id: &family_id,
                    sub: &sub,
                    scope: REFRESH_SCOPE,
                    resource: None,
                    sid: &sid,
                    offline: true,
                    auth_time: now,
                    family_expires_at: now + LIFETIME,
                };
                let jti = random::token::<16>();
                let access = (jti.as_str(), now + 600);
                Ok(tessera::oauth::refresh::store(&core, &client, &grant, &token, access).await?)
            }
        })
        .await?;
        Ok(values)
    }

    /// Inserts `rows` with [`Seeder::writers`] concurrent writers.
    async fn in_parallel<R, F, Fut>(&self, rows: Vec<R>, insert: F) -> Result<()>
    where
        R: Send + 'static,
        F: Fn(R) -> Fut + Clone + Send + 'static,
        Fut: Future<Output = Result<()>> + Send + 'static,
    {
        let chunk = rows.len().div_ceil(self.writers).max(1);
        let mut tasks = JoinSet::new();
        let mut rows = rows.into_iter();
        loop {
            let part: Vec<R> = rows.by_ref().take(chunk).collect();
            if part.is_empty() {
                break;
            }
            let insert = insert.clone();
            tasks.spawn(async move {
                for row in part {
                    insert(row).await?;
                }
                Ok::<(), anyhow::Error>(())
            });
        }
        while let Some(done) = tasks.join_next().await {
            done??;
        }
        Ok(())
    }

    /// Writes out the audit lines still queued and closes the pool, so that a server can
    /// open the database next.
    pub async fn close(self) -> Result<()> {
        self.core.audit.flush().await?;
        self.core.db.close().await;
        Ok(())
    }
}

/// The `seed` command.
#[derive(clap::Args)]
pub struct SeedArgs {
    #[arg(long, env = "TESSERA_DATABASE_URL")]
    database_url: String,
    /// The master key (a new one when absent; it is printed).
    #[arg(long, env = "TESSERA_MASTER_KEY")]
    master_key: Option<String>,
}

impl SeedArgs {
    pub async fn run(self) -> Result<()> {
        let key = self
            .master_key
            .unwrap_or_else(tessera::crypto::master_key::Keyring::generate_encoded);
        let seeder = Seeder::open(&self.database_url, &key).await?;
        let seeded = seeder.seed().await?;
        seeder.close().await?;
        let clients = |list: &[(SigningAlg, Credentials)]| -> Vec<serde_json::Value> {
            list.iter()
                .map(|(alg, c)| {
                    serde_json::json!({
                        "alg": alg.as_str(), "client_id": c.client_id,
                        "client_secret": c.secret, "authorization": c.basic()
                    })
                })
                .collect()
        };
        let out = serde_json::json!({
            "database_url": self.database_url,
            "master_key": key,
            "client_credentials": clients(&seeded.services),
            "web": clients(&seeded.web),
            "redirect_uri": REDIRECT_URI,
            "user": {"username": USERNAME, "password": PASSWORD, "sub": seeded.sub}
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn seeds_clients_a_user_codes_and_refresh_tokens_on_sqlite() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let db = Database::fresh(Backend::Sqlite, dir.path(), "seed", "").await?;
        let key = tessera::crypto::master_key::Keyring::generate_encoded();
        let seeder = Seeder::open(&db.url, &key).await?;
        let seeded = seeder.seed().await?;
        assert_eq!(seeded.services.len(), 3);
        assert_eq!(seeded.web.len(), 3);
        let web = seeded.web(SigningAlg::ES256)?;
        let codes = seeder.codes(&web.client_id, &seeded.sub, 5).await?;
        let tokens = seeder
            .refresh_tokens(&web.client_id, &seeded.sub, 5)
            .await?;
        assert_eq!((codes.len(), tokens.len()), (5, 5));
        let core = seeder.core.clone();
        // Each seeded value is stored under its hash, as the grants look it up.
        let live =
            tessera::store::refresh_tokens::live(&core.db, &hash_secret(&tokens[0]), core.now())
                .await?
                .context("the seeded refresh token is not live")?;
        assert_eq!(live.client_id, web.client_id);
        assert_eq!(live.sub, seeded.sub);
        let service = core
            .client(&seeded.service(SigningAlg::EdDSA)?.client_id)
            .await?;
        assert!(core.hasher.verify(
            &seeded.service(SigningAlg::EdDSA)?.secret,
            service.secret_hash.as_deref().unwrap_or_default()
        ));
        drop(core);
        seeder.close().await
    }
}
