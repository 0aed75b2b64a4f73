//! Latency percentiles and the Markdown tables the results are printed as.

use std::fmt::Write as _;
use std::time::Duration;

/// The latencies of one run, sorted, and how long it took.
pub struct Latencies {
    nanos: Vec<u64>,
    elapsed: Duration,
    /// Requests that got no answer within the timeout (not in `nanos`).
    pub timeouts: u64,
}

impl Latencies {
    pub fn new(mut nanos: Vec<u64>, elapsed: Duration, timeouts: u64) -> Self {
        nanos.sort_unstable();
        Self {
            nanos,
            elapsed,
            timeouts,
        }
    }

    pub fn count(&self) -> usize {
        self.nanos.len()
    }

    pub fn per_second(&self) -> f64 {
        self.nanos.len() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Nearest-rank percentile in milliseconds (`p` in 0..=100); 0 for an empty run.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.nanos.is_empty() {
            return 0.0;
        }
        let rank = ((p / 100.0) * self.nanos.len() as f64).ceil() as usize;
        let index = rank.clamp(1, self.nanos.len()) - 1;
        self.nanos.get(index).copied().unwrap_or_default() as f64 / 1e6
    }

    pub fn max_ms(&self) -> f64 {
        self.nanos.last().copied().unwrap_or_default() as f64 / 1e6
    }

    /// "req/s, p50, p90, p99, max" cells.
    pub fn cells(&self) -> Vec<String> {
        vec![
            thousands(self.per_second()),
            format!("{:.2}", self.percentile_ms(50.0)),
            format!("{:.2}", self.percentile_ms(90.0)),
            format!("{:.2}", self.percentile_ms(99.0)),
            format!("{:.1}", self.max_ms()),
        ]
    }

    pub fn one_line(&self) -> String {
        format!(
            "{} requests, {:.0} req/s; ms p50 {:.2} p90 {:.2} p99 {:.2} max {:.1}{}",
            self.count(),
            self.per_second(),
            self.percentile_ms(50.0),
            self.percentile_ms(90.0),
            self.percentile_ms(99.0),
            self.max_ms(),
            if self.timeouts > 0 {
                format!(", {} timeouts", self.timeouts)
            } else {
                String::new()
            }
        )
    }
}

/// 12345.6 → "12,346".
pub fn thousands(v: f64) -> String {
    let digits = format!("{:.0}", v.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The median (the mean of the middle two for an even count); 0 for none.
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return 0.0;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// KiB (as /proc reports them) → MB (10^6 bytes, as the goals are written).
pub fn mb(kib: u64) -> String {
    format!("{:.1}", kib as f64 * 1024.0 / 1e6)
}

/// A Markdown table; columns whose title is in `right` are right-aligned (numbers).
pub struct Table {
    titles: Vec<String>,
    numeric: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(titles: &[&str]) -> Self {
        Self {
            titles: titles.iter().map(|t| (*t).to_owned()).collect(),
            numeric: titles
                .iter()
                .map(|t| {
                    t.ends_with(" ms")
                        || t.ends_with("/s")
                        || t.ends_with(" MB")
                        || *t == "requests"
                })
                .collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn render(&self) -> String {
        let mut out = format!("| {} |\n|", self.titles.join(" | "));
        for numeric in &self.numeric {
            out.push_str(if *numeric { "---:|" } else { "---|" });
        }
        out.push('\n');
        for row in &self.rows {
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let run = Latencies::new(
            (1..=100).rev().map(|ms| ms * 1_000_000).collect(),
            Duration::from_secs(2),
            0,
        );
        assert_eq!(run.percentile_ms(50.0), 50.0);
        assert_eq!(run.percentile_ms(99.0), 99.0);
        assert_eq!(run.percentile_ms(100.0), 100.0);
        assert_eq!(run.max_ms(), 100.0);
        assert_eq!(run.per_second(), 50.0);
        assert_eq!(thousands(1234567.4), "1,234,567");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&mut []), 0.0);
    }

    #[test]
    fn markdown_table() {
        let mut t = Table::new(&["case", "req/s"]);
        t.row(vec!["token".into(), "1,000".into()]);
        assert_eq!(
            t.render(),
            "| case | req/s |\n|---|---:|\n| token | 1,000 |\n"
        );
    }
}
