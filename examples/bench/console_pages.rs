//! The console driver: an admin signed in on one keep-alive connection, requesting each kind
//! of page, checking what the rows say, and walking "Next page" links.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::console::{ADMIN_PASSWORD, KINDS, Mode, PAGE_ROWS};
use crate::http::{Answer, Conn};
use crate::login::{Jar, hidden_field, unescape};
use crate::server::{Server, loadavg};

/// What the driver saw for one kind of page.
pub struct Driven {
    pub counted: usize,
    pub walk_rows_checked: Option<usize>,
    pub client_p50_ms: f64,
    pub load: String,
}

/// A signed-in admin's browser on one keep-alive connection.
struct Browser {
    conn: Conn,
    jar: Jar,
}

impl Browser {
    async fn sign_in(server: &Server) -> Result<Self> {
        let mut b = Self {
            conn: Conn::open(server.addr).await?,
            jar: Jar::default(),
        };
        let (answer, _) = b
            .request("/login?next=%2Fadmin%2Fclients", None, None)
            .await?;
        if answer.status.as_u16() != 200 {
            bail!("GET /login: {}", answer.status);
        }
        let form = serde_urlencoded::to_string([
            ("csrf", hidden_field(&answer.text(), "csrf")?.as_str()),
            ("next", "/admin/clients"),
            ("username", "admin"),
            ("password", ADMIN_PASSWORD),
        ])?;
        let (answer, _) = b.request("/login", None, Some(form)).await?;
        if answer.status.as_u16() != 303 || answer.header("location") != "/admin/clients" {
            bail!(
                "POST /login: {} to {:?}",
                answer.status,
                answer.header("location")
            );
        }
        Ok(b)
    }

    /// A GET (or a form POST when `form` is given) with the session cookies and an
    /// X-Request-Id; the answer and the client-side time.
    async fn request(
        &mut self,
        path: &str,
        request_id: Option<&str>,
        form: Option<String>,
    ) -> Result<(Answer, Duration)> {
        let cookie = self.jar.header();
        let mut headers = vec![("cookie", cookie.as_str())];
        if let Some(id) = request_id {
            headers.push(("x-request-id", id));
        }
        let sent = Instant::now();
        let answer = match form {
            Some(body) => self.conn.post_form(path, &headers, body).await?,
            None => self.conn.get(path, &headers).await?,
        };
        let took = sent.elapsed();
        self.jar.take(&answer);
        Ok((answer, took))
    }
}

/// (id, the searched values) per table row: clients name + id; users username, email, name.
fn rows_of(page_kind: &str, page: &str) -> Vec<(String, Vec<String>)> {
    let link = format!("<td><a href=\"/admin/{page_kind}/");
    let mut rows = Vec::new();
    for row in page.split("<tr>").skip(1) {
        let row = row.split("</tr>").next().unwrap_or_default();
        let Some(rest) = row.trim_start().strip_prefix(link.as_str()) else {
            continue;
        };
        let Some((id, rest)) = rest.split_once("\">") else {
            continue;
        };
        let first = rest.split("</a>").next().unwrap_or_default();
        let id = unescape(id);
        let cell = |n: usize| {
            row.split("<td>")
                .nth(n)
                .and_then(|c| c.split('<').next())
                .map(|c| unescape(c).trim().to_owned())
                .unwrap_or_default()
        };
        let values = if page_kind == "clients" {
            vec![unescape(first).trim().to_owned(), id.clone()]
        } else {
            vec![unescape(first).trim().to_owned(), cell(3), cell(2)]
        };
        rows.push((id, values));
    }
    rows
}

fn next_link(page: &str) -> Option<String> {
    let end = page.find("\">Next page")?;
    let start = page[..end].rfind("<a href=\"")? + "<a href=\"".len();
    Some(unescape(&page[start..end]))
}

/// One kind of page being driven: its first URL, what it must show, and the counted times.
struct Kind<'a> {
    name: &'a str,
    page: &'a str,
    q: Option<&'a str>,
    /// `m`, `p`: the request-id prefix of counted requests (`w` for the others).
    phase: &'a str,
    seq: usize,
    samples: Vec<Duration>,
}

/// The rows of a page and its "Next page" link.
type Page = (Vec<(String, Vec<String>)>, Option<String>);

impl Kind<'_> {
    /// One request, checked: 200, at most a page of rows, every row matching the search.
    async fn get(&mut self, browser: &mut Browser, path: &str, counted: bool) -> Result<Page> {
        self.seq += 1;
        let phase = if counted { self.phase } else { "w" };
        let rid = format!("{phase}_{}_{}", self.name, self.seq);
        let (answer, took) = browser.request(path, Some(&rid), None).await?;
        if answer.status.as_u16() != 200 {
            bail!("{}: GET {path}: {}", self.name, answer.status);
        }
        let page = answer.text();
        let rows = rows_of(self.page, &page);
        if rows.len() > PAGE_ROWS {
            bail!("{}: {} rows on one page", self.name, rows.len());
        }
        if let Some(q) = self.q {
            let q = q.to_lowercase();
            for (id, values) in &rows {
                let matches = |v: &String| !v.is_empty() && v.to_lowercase().starts_with(&q);
                if !values.iter().any(matches) {
                    bail!(
                        "{}: row {id} {values:?} does not start with {q:?}",
                        self.name
                    );
                }
            }
        }
        if counted {
            self.samples.push(took);
        }
        Ok((rows, next_link(&page)))
    }

    /// The same first page `warmup + count` times; each must hold min(50, expected) rows.
    async fn repeat(
        &mut self,
        b: &mut Browser,
        first: &str,
        warmup: usize,
        count: usize,
        want: usize,
    ) -> Result<()> {
        for i in 0..warmup + count {
            let (rows, _) = self.get(b, first, i >= warmup).await?;
            if rows.len() != want.min(PAGE_ROWS) {
                bail!(
                    "{}: {} rows on the first page, expected {}",
                    self.name,
                    rows.len(),
                    want.min(PAGE_ROWS)
                );
            }
        }
        Ok(())
    }

    /// The first page (not counted), then its Next links, the first `warmup` of them not
    /// counted either, again from the first page until `count` pages were counted. With
    /// `check`, the first pass goes to the end and must see every expected row exactly once;
    /// returns how many it saw.
    async fn walk(
        &mut self,
        b: &mut Browser,
        first: &str,
        (warmup, count): (usize, usize),
        (check, want): (bool, usize),
    ) -> Result<Option<usize>> {
        let (mut followed, mut passes, mut counted) = (0, 0, 0);
        let mut seen = HashSet::new();
        let mut checked = None;
        while counted < count || (check && checked.is_none()) {
            let (rows, mut next) = self.get(b, first, false).await?;
            passes += 1;
            if next.is_none() {
                bail!("{}: the first page has no Next link", self.name);
            }
            if passes == 1 {
                seen.extend(rows.into_iter().map(|r| r.0));
            }
            while let Some(path) = next.clone() {
                if !(counted < count || (check && passes == 1)) {
                    break;
                }
                let counts = followed >= warmup;
                let (rows, n) = self.get(b, &path, counts).await?;
                (counted, followed, next) = (counted + usize::from(counts), followed + 1, n);
                for (id, _) in rows.into_iter().filter(|_| passes == 1) {
                    if !seen.insert(id.clone()) {
                        bail!("{}: row {id} seen twice in one walk", self.name);
                    }
                }
            }
            if passes == 1 && next.is_none() && check {
                if seen.len() != want {
                    bail!(
                        "{}: the walk saw {} rows, expected {want}",
                        self.name,
                        seen.len()
                    );
                }
                checked = Some(seen.len());
            }
        }
        Ok(checked)
    }
}

/// Sends every kind: `warmup` requests not counted, then `count` counted ones (walks follow
/// Next links; with `check_walks` the first walk is checked end to end against `expected`).
pub async fn drive(
    server: &Server,
    phase: &str,
    (warmup, count): (usize, usize),
    check_walks: bool,
    expected: &BTreeMap<&str, usize>,
) -> Result<BTreeMap<&'static str, Driven>> {
    let mut browser = Browser::sign_in(server).await?;
    let mut report = BTreeMap::new();
    for (name, page, q, mode) in KINDS {
        let first = match q {
            Some(q) => format!("/admin/{page}?{}", serde_urlencoded::to_string([("q", q)])?),
            None => format!("/admin/{page}"),
        };
        let want = expected.get(name).copied().unwrap_or_default();
        let mut kind = Kind {
            name,
            page,
            q,
            phase,
            seq: 0,
            samples: Vec::new(),
        };
        let load_before = loadavg();
        let walk_rows_checked = match mode {
            Mode::Repeat => {
                kind.repeat(&mut browser, &first, warmup, count, want)
                    .await?;
                None
            }
            Mode::Walk => {
                let shape = (warmup, count);
                kind.walk(&mut browser, &first, shape, (check_walks, want))
                    .await?
            }
        };
        let mut samples = kind.samples;
        samples.sort();
        let p50 = samples
            .get(samples.len().div_ceil(2).saturating_sub(1))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0);
        let load = format!("{load_before} -> {}", loadavg());
        eprintln!(
            "==> {name}: {} requests, client-side p50 {p50:.1} ms, load {load}",
            samples.len()
        );
        let driven = Driven {
            counted: samples.len(),
            walk_rows_checked,
            client_p50_ms: p50,
            load,
        };
        report.insert(name, driven);
    }
    Ok(report)
}
