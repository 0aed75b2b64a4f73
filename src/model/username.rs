//! The one form under which a username is compared, computed here in Rust so that both
//! databases agree (SQL's `LOWER` folds only ASCII on SQLite and follows the collation on
//! PostgreSQL): what a sign-in, a lockout and an admin's lookup key on.

use caseless::Caseless;
use unicode_normalization::UnicodeNormalization;

/// The most bytes of a typed username kept anywhere (lockout rows, audit events): a username
/// is at most 64 characters, so anything longer names no account, and a caller must not be
/// able to fill rows or logs with megabytes of it.
pub const MAX_TYPED_BYTES: usize = 256;

/// `s` cut to at most [`MAX_TYPED_BYTES`], on a character boundary.
pub fn capped(s: &str) -> &str {
    if s.len() <= MAX_TYPED_BYTES {
        return s;
    }
    let mut end = MAX_TYPED_BYTES;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Unicode compatibility caseless form (Unicode 16 §3.13, D146: NFKD(toCasefold(NFKD(
/// toCasefold(NFD(X)))))), composed with NFKC for storage, without surrounding whitespace and
/// capped: "ALICE", "Alice" and full-width "ａｌｉｃｅ" are all "alice". Two strings have the
/// same canonical form exactly when they are compatibility-caseless equal.
pub fn canonical(s: &str) -> String {
    let folded: String = capped(s)
        .nfd()
        .default_case_fold()
        .nfkd()
        .default_case_fold()
        .nfkc()
        .collect();
    capped(folded.trim()).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_name_meet() {
        for spelling in [
            "alice",
            "ALICE",
            "Alice",
            " alice\t",
            "ａｌｉｃｅ",
            "ＡＬＩＣＥ",
            "\u{3000}alice",
        ] {
            assert_eq!(canonical(spelling), "alice", "{spelling:?}");
        }
        // The Kelvin sign and the long s fold to plain letters; a ligature opens up.
        assert_eq!(canonical("\u{212a}ate"), "kate");
        assert_eq!(canonical("\u{17f}am"), "sam");
        assert_eq!(canonical("\u{fb00}"), "ff");
        assert_eq!(canonical("STRASSE"), canonical("straße"));
    }

    #[test]
    fn look_alikes_that_are_other_letters_stay_apart() {
        // Dotted capital I folds to i + combining dot, Cyrillic а is another letter: neither
        // is "alice", so neither can reach (or lock) that account.
        assert_ne!(canonical("al\u{130}ce"), "alice");
        assert_ne!(canonical("\u{430}lice"), "alice");
    }

    #[test]
    fn typed_input_is_capped_on_a_character_boundary() {
        let long = "é".repeat(300);
        let cut = capped(&long);
        assert!(cut.len() <= MAX_TYPED_BYTES && cut.len() >= MAX_TYPED_BYTES - 1);
        assert!(canonical(&long).len() <= MAX_TYPED_BYTES);
        // NFKC may grow a string 18-fold (U+FDFA): the result is capped again.
        assert!(canonical(&"\u{fdfa}".repeat(80)).len() <= MAX_TYPED_BYTES);
        assert_eq!(capped("short"), "short");
    }
}
