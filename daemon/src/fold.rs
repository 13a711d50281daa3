//! Case folding for identity keys: the one function every case-insensitive match of an
//! identity goes through (email keys, SCIM userName and group displayName keys, the SCIM
//! filter's string comparisons, email domains), and its SQL twin in `store`.
//!
//! Only the ASCII letters `A`-`Z` fold; every other character stays as it is. Unicode
//! lowercasing maps some non-ASCII characters onto ASCII ones (KELVIN SIGN U+212A becomes
//! `k`, and several others), so two different addresses would share one key and one
//! person's sign-in would find another person's account. With ASCII-only folding two keys are
//! equal exactly when the texts differ in the case of ASCII letters alone.

/// The key `text` is matched by, case-insensitively: ASCII letters lowercased, nothing else
/// changed.
pub fn fold_case(text: &str) -> String {
    text.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::fold_case;

    #[test]
    fn only_ascii_letters_fold() {
        assert_eq!(fold_case("Kim@ACME.example"), "kim@acme.example");
        // KELVIN SIGN, ANGSTROM SIGN, dotted capital I, fullwidth K, long s: none of them
        // becomes an ASCII letter or any other character.
        for text in [
            "\u{212A}im",
            "\u{212B}",
            "\u{130}",
            "\u{FF2B}",
            "\u{17F}",
            "\u{C9}MILE",
        ] {
            let folded = fold_case(text);
            let kept: String = text.chars().filter(|c| !c.is_ascii()).collect();
            let still: String = folded.chars().filter(|c| !c.is_ascii()).collect();
            assert_eq!(kept, still, "{text:?}");
        }
        assert_ne!(fold_case("\u{212A}im"), fold_case("Kim"));
    }
}
