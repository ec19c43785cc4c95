//! "Did you mean …?": the closest of a set of known names to a misspelt one.
//! Used by every room that reports an unknown name (spec keys, helpers,
//! parents); knows nothing of what the names are.

/// The candidate within two edits of `word`, if one is closest.
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    // Names are short; a long word is no typo of one, and the distance is quadratic.
    if word.len() > 64 {
        return None;
    }
    candidates
        .filter(|c| c.len() <= 64)
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_closest_name() {
        assert_eq!(
            closest("pathh", ["path", "parts", "method"].into_iter()),
            Some("path")
        );
        assert_eq!(closest("zzzz", ["path"].into_iter()), None);
        assert_eq!(closest(&"p".repeat(10_000), ["path"].into_iter()), None);
    }
}
