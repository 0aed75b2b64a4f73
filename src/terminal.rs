//! Text for an operator's terminal. Usernames typed at the sign-in form, client ids and names
//! come from outside: written raw, an escape sequence (`ESC [`, C1 `CSI`) could recolour,
//! move or retitle the terminal, and a bidirectional override could make a table row read as
//! something else (CVE-2021-42574, "Trojan Source"). Every CLI table cell goes through
//! [`escape`].

use std::borrow::Cow;

/// Characters that steer a terminal or the direction of text rather than show.
fn steers(c: char) -> bool {
    c.is_control() // C0, DEL and C1
        || matches!(
            c,
            '\u{061c}'              // Arabic letter mark
            | '\u{200e}' | '\u{200f}' // left-to-right / right-to-left marks
            | '\u{2028}' | '\u{2029}' // line and paragraph separators
            | '\u{202a}'..='\u{202e}' // embeddings and overrides
            | '\u{2066}'..='\u{2069}' // isolates
        )
}

/// `s` with every such character written as a Rust escape (`\u{1b}`, `\n`, `\u{202e}`);
/// borrowed when there is none.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(steers) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| match steers(c) {
                true => c.escape_default().to_string(),
                false => c.to_string(),
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_direction_characters_are_escaped() {
        assert_eq!(escape("alice"), "alice");
        assert!(matches!(escape("Zoë 名前"), Cow::Borrowed(_)));
        assert_eq!(escape("\u{1b}[31mred"), "\\u{1b}[31mred");
        assert_eq!(escape("a\tb\nc\u{7f}"), "a\\tb\\nc\\u{7f}");
        assert_eq!(escape("\u{9b}2J"), "\\u{9b}2J");
        assert_eq!(escape("txt\u{202e}exe.pdf"), "txt\\u{202e}exe.pdf");
        assert_eq!(escape("\u{2066}x\u{2069}"), "\\u{2066}x\\u{2069}");
    }
}
