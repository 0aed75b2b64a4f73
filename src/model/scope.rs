use std::fmt;

/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
pub fn is_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

/// A set of scope tokens, kept sorted and without duplicates so that equal sets compare and
/// print equally.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope(Vec<String>);

impl Scope {
    /// RFC 6749 §3.3: space-delimited, case-sensitive tokens. `None` when a token is malformed.
    pub fn parse(raw: &str) -> Option<Self> {
        let mut tokens = Vec::new();
        for token in raw.split(' ').filter(|t| !t.is_empty()) {
            if !is_scope_token(token) {
                return None;
            }
            tokens.push(token.to_owned());
        }
        Some(Self::from_tokens(tokens))
    }

    pub fn from_tokens(mut tokens: Vec<String>) -> Self {
        tokens.sort();
        tokens.dedup();
        Self(tokens)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn contains(&self, token: &str) -> bool {
        self.0.binary_search_by(|t| t.as_str().cmp(token)).is_ok()
    }

    pub fn is_subset_of(&self, other: &Scope) -> bool {
        self.iter().all(|t| other.contains(t))
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sorts_and_rejects_bad_tokens() {
        let s = Scope::parse("write  read read").expect("valid");
        assert_eq!(s.to_string(), "read write");
        assert!(s.contains("read") && !s.contains("admin"));
        assert!(Scope::parse("a\"b").is_none());
        assert!(Scope::parse("a\\b").is_none());
        assert!(Scope::parse("caf\u{e9}").is_none());
        assert!(Scope::parse("").expect("empty is valid").is_empty());
        assert!(Scope::parse("read").expect("ok").is_subset_of(&s));
    }
}
