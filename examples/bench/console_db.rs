//! The console benchmark's PostgreSQL side: the connection, plans on or off, template hashes
//! and the row counts the walks must find.

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use tessera::model::{Actor, ScopeDef};
use tessera::service::clients::ClientSpec;
use tessera::service::resources::ResourceSpec;
use tessera::service::users::UserSpec;
use tessera::store::Db;

use crate::console::{DATABASE, KINDS, RESOURCE_A, RESOURCE_B};
use crate::seed::Seeder;

/// Switches auto_explain (ANALYZE, BUFFERS, every statement) on or off for the benchmark
/// database only; at NOTICE level the plan goes back to the client, and sqlx logs server
/// notices in the request's span.
pub async fn explain(pool: &sqlx::PgPool, on: bool) -> Result<()> {
    if !on {
        let reset = format!("ALTER DATABASE {DATABASE} RESET ALL");
        sqlx::query(sqlx::AssertSqlSafe(reset))
            .execute(pool)
            .await?;
        return Ok(());
    }
    sqlx::query("LOAD 'auto_explain'").execute(pool).await?;
    for setting in [
        "session_preload_libraries = 'auto_explain'",
        "auto_explain.log_min_duration = 0",
        "auto_explain.log_analyze = on",
        "auto_explain.log_buffers = on",
        "auto_explain.log_level = notice",
    ] {
        let sql = format!("ALTER DATABASE {DATABASE} SET {setting}");
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(pool).await?;
    }
    Ok(())
}

pub async fn postgres_version(url: &str) -> Result<String> {
    let (_db, pool) = postgres(url).await?;
    Ok(sqlx::query_scalar(
        "SELECT split_part(version(), ' on ', 1) || ', shared_buffers ' || \
         current_setting('shared_buffers') || ', work_mem ' || current_setting('work_mem') || \
         ', collation ' || datcollate FROM pg_database WHERE datname = current_database()",
    )
    .fetch_one(&pool)
    .await?)
}

pub async fn postgres(url: &str) -> Result<(Db, sqlx::PgPool)> {
    let db = Db::connect(url, 2).await?;
    let Db::Postgres(pool) = &db else {
        bail!("the console benchmark runs on PostgreSQL");
    };
    let pool = pool.clone();
    Ok((db, pool))
}

/// The two resources, and a client and a user made through the service layer then deleted:
/// their secret hash and argon2id PHC string (and the time) for the bulk seed.
pub async fn template_hashes(url: &str, key: &str) -> Result<(String, String, i64)> {
    let seeder = Seeder::open(url, key).await?;
    let core = seeder.core();
    let actor = Actor::cli();
    let resources = [
        (
            RESOURCE_A,
            "Orders",
            &[
                ("orders.read", "Read orders"),
                ("orders.write", "Change orders"),
            ][..],
        ),
        (
            RESOURCE_B,
            "Reports",
            &[("reports.read", "Read reports")][..],
        ),
    ];
    for (identifier, name, scopes) in resources {
        let scopes = scopes
            .iter()
            .map(|(n, d)| ScopeDef {
                name: (*n).into(),
                description: (*d).into(),
            })
            .collect();
        let spec = ResourceSpec {
            name: name.into(),
            scopes,
            ..ResourceSpec::new(identifier)
        };
        core.create_resource(spec, &actor).await?;
    }
    let template = ClientSpec {
        resources: vec![RESOURCE_A.into()],
        ..ClientSpec::new("seed-template")
    };
    let client = core.create_client(template, &actor).await?.client;
    let user = UserSpec {
        username: "seed-template".into(),
        email: None,
        email_verified: false,
        name: None,
        admin: false,
        claims: Default::default(),
    };
    let password = tessera::crypto::random::token::<18>();
    let user = core.create_user(user, &password, &actor).await?;
    let (_db, pool) = postgres(url).await?;
    let secret_hash: String =
        sqlx::query_scalar("SELECT secret_hash FROM clients WHERE client_id = $1")
            .bind(&client.client_id.0)
            .fetch_one(&pool)
            .await?;
    let pw_hash: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE sub = $1")
        .bind(&user.sub)
        .fetch_one(&pool)
        .await?;
    if !secret_hash.starts_with("h1$") || !pw_hash.starts_with("$argon2id$") {
        bail!("unexpected hash formats: {secret_hash} / {pw_hash:.30}…");
    }
    core.delete_client(&client.client_id.0, &actor).await?;
    sqlx::query("DELETE FROM users WHERE sub = $1")
        .bind(&user.sub)
        .execute(&pool)
        .await?;
    let now = core.now();
    seeder.close().await?;
    Ok((secret_hash, pw_hash, now))
}

/// Matches per kind, counted apart from the server's query: ILIKE with the wildcards escaped.
pub async fn expected(
    url: &str,
    clients: i64,
    users: i64,
) -> Result<BTreeMap<&'static str, usize>> {
    let (_db, pool) = postgres(url).await?;
    let mut out = BTreeMap::new();
    for (name, page, q, _) in KINDS {
        let n = match q {
            None if page == "clients" => clients,
            None => users,
            Some(q) => {
                let pattern = format!(
                    "{}%",
                    q.replace('\\', "\\\\")
                        .replace('%', "\\%")
                        .replace('_', "\\_")
                );
                let sql = if page == "clients" {
                    "SELECT count(*) FROM clients WHERE name ILIKE $1 OR client_id ILIKE $1"
                } else {
                    "SELECT count(*) FROM users WHERE username ILIKE $1 OR email ILIKE $1 \
                     OR name ILIKE $1"
                };
                sqlx::query_scalar(sql)
                    .bind(pattern)
                    .fetch_one(&pool)
                    .await?
            }
        };
        out.insert(name, usize::try_from(n)?);
    }
    Ok(out)
}
