//! The ignore rules, `ADDRESS_GLOB[:ATTRIBUTE_PATH]`: parsing them, and matching an address and
//! an attribute path against them.

use super::*;

/// An ignore rule: `ADDRESS_GLOB[:ATTRIBUTE_PATH]`. The glob matches whole addresses (outputs as
/// `output.NAME`); `*` matches any run of characters (dots and brackets included), `?` any one
/// character, everything else itself. With a path, only `after`/`before` (and output value)
/// differences at or under that attribute path are dropped; without, everything about the
/// matching resources or outputs is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoreRule {
    text: String,
    glob: Vec<char>,
    path: Option<AttrPath>,
}

/// Why an ignore rule could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid ignore rule `{rule}`: {reason}")]
pub struct IgnoreRuleError {
    pub rule: String,
    pub reason: String,
}

impl IgnoreRule {
    pub fn parse(rule: &str) -> Result<IgnoreRule, IgnoreRuleError> {
        let fail = |reason: String| IgnoreRuleError {
            rule: rule.to_string(),
            reason,
        };
        let text = rule.trim();
        if text.is_empty() {
            return Err(fail("the rule is empty".into()));
        }
        let (glob, path) = split_rule(text);
        if glob.is_empty() {
            return Err(fail(
                "the address pattern before `:` is empty (use `*` to match every address)".into(),
            ));
        }
        if glob.chars().any(char::is_whitespace) {
            return Err(fail("addresses contain no spaces".into()));
        }
        let path = match path {
            None => None,
            Some(p) => Some(parse_attr_path(p).map_err(fail)?),
        };
        Ok(IgnoreRule {
            text: text.to_string(),
            glob: glob.chars().collect(),
            path,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn path(&self) -> Option<&AttrPath> {
        self.path.as_ref()
    }

    pub fn matches_address(&self, address: &str) -> bool {
        glob_match(&self.glob, address)
    }

    /// Whether the rule drops a difference about `address` at attribute `path` (`None` for a
    /// difference that is not about an attribute value).
    pub(super) fn covers(&self, address: &str, path: Option<&AttrPath>) -> bool {
        if !self.matches_address(address) {
            return false;
        }
        match (&self.path, path) {
            (None, _) => true,
            (Some(rule), Some(p)) => p.starts_with(rule),
            (Some(_), None) => false,
        }
    }
}

impl FromStr for IgnoreRule {
    type Err = IgnoreRuleError;
    fn from_str(s: &str) -> Result<IgnoreRule, IgnoreRuleError> {
        IgnoreRule::parse(s)
    }
}

impl fmt::Display for IgnoreRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Splits at the first `:` outside brackets and quotes (`x["a:b"]:tags` has its colon last).
pub(super) fn split_rule(rule: &str) -> (&str, Option<&str>) {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in rule.char_indices() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            ':' if depth == 0 => return (&rule[..i], Some(&rule[i + 1..])),
            _ => {}
        }
    }
    (rule, None)
}

/// Parses an attribute path as tfgate prints them: `tags.LastSeen`, `tokens[1]`,
/// `tags["Name with space"]`.
pub(super) fn parse_attr_path(text: &str) -> Result<AttrPath, String> {
    if text.is_empty() {
        return Err("the attribute path after `:` is empty".into());
    }
    let mut segs = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(inner) = rest.strip_prefix('[') {
            let (seg, after) = bracket_segment(inner)?;
            segs.push(seg);
            rest = after;
            continue;
        }
        let name = if segs.is_empty() {
            rest
        } else {
            rest.strip_prefix('.').ok_or_else(|| {
                format!("expected `.` or `[` before `{rest}` in the attribute path")
            })?
        };
        let end = name.find(['.', '[']).unwrap_or(name.len());
        let key = &name[..end];
        if key.is_empty() {
            return Err(
                "the attribute path has an empty name (two dots, or a dot at an end)".into(),
            );
        }
        if key.contains([']', '"']) || key.chars().any(char::is_whitespace) {
            return Err(format!(
                "`{key}` is not an attribute name; quote unusual keys as [\"key\"]"
            ));
        }
        segs.push(Seg::Key(key.to_string()));
        rest = &name[end..];
    }
    Ok(AttrPath(segs))
}

/// `0]…` or `"key"]…` (after the `[`): the segment and what follows the `]`.
pub(super) fn bracket_segment(inner: &str) -> Result<(Seg, &str), String> {
    if inner.starts_with('"') {
        let mut escaped = false;
        for (i, c) in inner.char_indices().skip(1) {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => {
                    let key: String = serde_json::from_str(&inner[..=i])
                        .map_err(|e| format!("bad quoted key {}: {e}", &inner[..=i]))?;
                    let after = inner[i + 1..]
                        .strip_prefix(']')
                        .ok_or("a quoted key must be followed by `]`")?;
                    return Ok((Seg::Key(key), after));
                }
                _ => {}
            }
        }
        return Err("unterminated quoted key".into());
    }
    let close = inner.find(']').ok_or("unterminated `[`")?;
    let index = &inner[..close];
    let n = index
        .parse::<usize>()
        .map_err(|_| format!("`[{index}]` is not a list index (quote map keys: [\"{index}\"])"))?;
    Ok((Seg::Index(n), &inner[close + 1..]))
}

/// `*` and `?` wildcard match over characters (iterative, linear backtracking).
pub(super) fn glob_match(pattern: &[char], text: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(c) if *c == '?' || *c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}
