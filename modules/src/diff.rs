//! Unified text diffs, as `--diff` shows them.

/// A unified diff of two texts, with `---`/`+++` headers.
pub fn unified(before: &str, after: &str, before_header: &str, after_header: &str) -> String {
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(before_header, after_header)
        .to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn shows_changed_lines() {
        let d = super::unified("a\nb\n", "a\nc\n", "before: f", "after: f");
        assert!(d.contains("-b\n"), "{d}");
        assert!(d.contains("+c\n"), "{d}");
        assert!(d.starts_with("--- before: f\n+++ after: f\n"), "{d}");
    }
}
