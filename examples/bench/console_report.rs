//! What the console run found: server time per kind of page from the JSON access log, the
//! plans auto_explain logged, and the summary.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

fn events(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.trim_start().starts_with('{'))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The request id of an event: a field of the access-log line, or of the request span the
/// event happened in (the span exists at debug level, which the plan pass turns on).
fn request_id(e: &Value) -> String {
    std::iter::once(&e["fields"])
        .chain(std::iter::once(&e["span"]))
        .chain(e["spans"].as_array().into_iter().flatten())
        .find_map(|s| s["request_id"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// The plan's node lines without costs, and the execution time.
fn digest(plan: &str) -> (String, Vec<String>) {
    let mut lines = plan.lines();
    let duration = lines
        .next()
        .and_then(|l| l.split("duration: ").nth(1))
        .and_then(|d| d.split(' ').next())
        .unwrap_or("?")
        .to_owned();
    const NODES: [&str; 12] = [
        "Scan",
        "Sort",
        "Limit",
        "Join",
        "Nested Loop",
        "Hash",
        "BitmapOr",
        "CTE",
        "Aggregate",
        "Unique",
        "Append",
        "Materialize",
    ];
    let keep = lines
        .filter(|l| !l.starts_with("Query Text") && !l.starts_with("Query Parameters"))
        .filter(|l| {
            NODES.iter().any(|n| l.contains(n))
                || l.contains("Index Cond")
                || l.contains("Rows Removed")
                || l.contains("Sort Method")
        })
        .map(|l| {
            let l = l.trim_end();
            let cost = l
                .find(" (cost=")
                .and_then(|a| Some((a, a + l[a..].find(')')?)));
            match cost {
                Some((a, b)) => format!("{}{}", l[..a].trim_end(), &l[b + 1..]),
                None => l.to_owned(),
            }
        })
        .collect();
    (duration, keep)
}

/// Server time (the access log's `micros`) per kind, from the measured pass's log; and the
/// problems seen (WARN / ERROR lines, non-200 answers).
pub fn server_times(log: &Path) -> (BTreeMap<String, Vec<u64>>, Vec<String>) {
    let mut micros: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut problems = Vec::new();
    for e in events(log) {
        let f = &e["fields"];
        if matches!(e["level"].as_str(), Some("WARN" | "ERROR")) {
            problems.push(f.to_string().chars().take(300).collect::<String>());
        }
        let rid = request_id(&e);
        if f["message"] == "request" && rid.starts_with("m_") {
            let kind = rid.split('_').nth(1).unwrap_or_default().to_owned();
            if f["status"] != 200 {
                problems.push(format!("{rid}: status {}", f["status"]));
            }
            // The access log writes the u128 as a number or, past u64, as a string.
            let us = f["micros"]
                .as_u64()
                .or_else(|| f["micros"].as_str()?.parse().ok())
                .unwrap_or_default();
            micros.entry(kind).or_default().push(us);
        }
    }
    (micros, problems)
}

/// The plan pass's auto_explain notices, in the span of the request that ran them: the page
/// queries (ORDER BY LOWER(…)) and the clients' grants query, by kind and request number.
fn plans(log: &Path) -> BTreeMap<String, BTreeMap<u64, Vec<String>>> {
    let mut plans: BTreeMap<String, BTreeMap<u64, Vec<String>>> = BTreeMap::new();
    for e in events(log) {
        let message = e["fields"]["message"].as_str().unwrap_or_default();
        let rid = request_id(&e);
        if e["target"] != "sqlx::postgres::notice"
            || !message.contains("plan:")
            || !rid.starts_with("p_")
            || !(message.contains("ORDER BY LOWER(") || message.contains("FROM client_grants"))
        {
            continue;
        }
        let mut parts = rid.split('_').skip(1);
        let (Some(kind), Some(seq)) = (parts.next(), parts.next().and_then(|s| s.parse().ok()))
        else {
            continue;
        };
        plans
            .entry(kind.to_owned())
            .or_default()
            .entry(seq)
            .or_default()
            .push(message.to_owned());
    }
    plans
}

/// Every plan (for `plans.txt`) and the digests of the first and last request of each kind
/// (the last would show a kept prepared statement that switched to a generic plan).
pub fn plan_texts(log: &Path) -> (String, String) {
    let mut all = String::new();
    let mut digests = String::new();
    for (kind, by_seq) in plans(log) {
        let (Some(&first), Some(&last)) = (by_seq.keys().next(), by_seq.keys().next_back()) else {
            continue;
        };
        for (seq, messages) in &by_seq {
            for m in messages {
                all.push_str(&format!("===== {kind}, request {seq}\n{m}\n\n"));
                let grants = m.contains("FROM client_grants");
                // The last request's plans, and the first's page query.
                let shown = *seq == last || (*seq == first && !grants);
                if !shown {
                    continue;
                }
                let (duration, keep) = digest(m);
                let what = if grants { "grants" } else { "page" };
                digests.push_str(&format!(
                    "{kind}, request {seq} ({what} query, {duration} ms):\n```\n{}\n```\n",
                    keep.join("\n")
                ));
            }
        }
    }
    (all, digests)
}
