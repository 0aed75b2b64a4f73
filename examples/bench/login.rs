//! The password-login driver: per worker one keep-alive connection, and per login a fresh
//! browser session (no cookies): `GET /authorize` → `GET /login` → `POST /login` with the
//! right password, which must redirect to the client with a code. Only the POST is timed (it
//! is the argon2 verification).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::task::JoinSet;

use crate::http::{Answer, Conn};
use crate::report::Latencies;

pub struct Login {
    pub client_id: String,
    pub redirect_uri: String,
    pub username: String,
    pub password: String,
}

/// `workers` concurrent sign-ins in a loop for `duration`.
pub async fn drive(
    addr: SocketAddr,
    login: &Login,
    workers: usize,
    duration: Duration,
) -> Result<Latencies> {
    let query = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", login.client_id.as_str()),
        ("redirect_uri", login.redirect_uri.as_str()),
        ("scope", "openid profile"),
        ("state", "s"),
    ])?;
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = JoinSet::new();
    for _ in 0..workers {
        let authorize = format!("/authorize?{query}");
        let (redirect, username, password) = (
            login.redirect_uri.clone(),
            login.username.clone(),
            login.password.clone(),
        );
        tasks.spawn(async move {
            let mut conn = Conn::open(addr).await?;
            let mut nanos = Vec::new();
            while Instant::now() < deadline {
                let timed = sign_in(&mut conn, &authorize, &redirect, &username, &password).await?;
                nanos.push(timed.as_nanos() as u64);
            }
            Ok::<_, anyhow::Error>(nanos)
        });
    }
    let mut all = Vec::new();
    while let Some(done) = tasks.join_next().await {
        all.extend(done??);
    }
    Ok(Latencies::new(all, started.elapsed(), 0))
}

/// One sign-in from a cookie-less browser; returns how long the `POST /login` took.
async fn sign_in(
    conn: &mut Conn,
    authorize: &str,
    redirect: &str,
    username: &str,
    password: &str,
) -> Result<Duration> {
    let mut jar = Jar::default();
    let answer = conn.get(authorize, &[]).await?;
    jar.take(&answer);
    let login_page = answer.header("location").to_owned();
    if !answer.status.is_redirection() || !login_page.contains("/login") {
        bail!("GET /authorize: {} to {login_page:?}", answer.status);
    }
    let answer = conn.get(&login_page, &[("cookie", &jar.header())]).await?;
    jar.take(&answer);
    if answer.status.as_u16() != 200 {
        bail!("GET {login_page}: {}", answer.status);
    }
    let page = answer.text();
    let form = serde_urlencoded::to_string([
        ("csrf", hidden_field(&page, "csrf")?.as_str()),
        ("request", hidden_field(&page, "request")?.as_str()),
        ("username", username),
        ("password", password),
    ])?;
    let sent = Instant::now();
    let answer = conn
        .post_form("/login", &[("cookie", &jar.header())], form)
        .await?;
    let took = sent.elapsed();
    let location = answer.header("location");
    if !answer.status.is_redirection()
        || !location.starts_with(redirect)
        || !location.contains("code=")
    {
        bail!("POST /login: {} to {location:?}", answer.status);
    }
    Ok(took)
}

/// The value of `<input type="hidden" name="NAME" value="…">` in a page.
pub fn hidden_field(page: &str, name: &str) -> Result<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&marker)
        .with_context(|| format!("no hidden field {name} in the page"))?
        + marker.len();
    let end = page[start..]
        .find('"')
        .with_context(|| format!("unterminated field {name}"))?;
    Ok(unescape(&page[start..start + end]))
}

/// Decodes the character references askama writes (`&#38;`, `&#34;` …) and the usual named
/// ones; anything else is kept as it is.
pub fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let decoded = rest.find(';').and_then(|end| {
            let entity = &rest[1..end];
            let c = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"))
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .or_else(|| entity.strip_prefix('#')?.parse().ok())
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The cookies a browser would keep for this server (name → value; no attributes needed).
#[derive(Default)]
pub struct Jar(Vec<(String, String)>);

impl Jar {
    pub fn take(&mut self, answer: &Answer) {
        for value in answer.headers.get_all("set-cookie") {
            let Ok(value) = value.to_str() else { continue };
            let pair = value.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                let name = name.trim().to_owned();
                self.0.retain(|(n, _)| *n != name);
                self.0.push((name, value.to_owned()));
            }
        }
    }

    pub fn header(&self) -> String {
        self.0
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_hidden_fields() -> Result<()> {
        let page =
            r#"<input type="hidden" name="csrf" value="a&amp;b"><input name="request" value="r1">"#;
        assert_eq!(hidden_field(page, "csrf")?, "a&b");
        assert_eq!(hidden_field(page, "request")?, "r1");
        assert!(hidden_field(page, "other").is_err());
        assert_eq!(
            unescape("a=1&#38;b=&#x27;2&#39;&amp;c&lt;&unknown;&"),
            "a=1&b='2'&c<&unknown;&"
        );
        Ok(())
    }
}
