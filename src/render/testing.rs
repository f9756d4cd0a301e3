//! What render's tests share: the text GitHub shows outside code spans, where nothing taken
//! from a plan or a SARIF file may be markup.

/// `text` with its code spans taken out, as GitHub reads them (CommonMark's rule, enough for
/// one line or a paragraph): a backtick run not escaped by `\` opens a span that the next run
/// of exactly the same length closes; a run that nothing closes is literal text.
pub fn outside_code_spans(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let run_at = |i: usize| chars[i..].iter().take_while(|c| **c == '`').count();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                out.extend(chars.get(i..i + 2).into_iter().flatten());
                i += 2;
            }
            '`' => {
                let run = run_at(i);
                let mut j = i + run;
                let close = loop {
                    if j >= chars.len() {
                        break None;
                    }
                    if chars[j] == '`' {
                        let r = run_at(j);
                        if r == run {
                            break Some(j + r);
                        }
                        j += r;
                    } else {
                        j += 1;
                    }
                };
                match close {
                    Some(end) => i = end,
                    None => {
                        out.extend(&chars[i..i + run]);
                        i += run;
                    }
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

#[test]
fn spans_close_on_a_run_of_their_own_length() {
    assert_eq!(outside_code_spans("a `b` c"), "a  c");
    assert_eq!(outside_code_spans("a ``b`c`` d"), "a  d");
    assert_eq!(outside_code_spans(r"a \`b` c"), r"a \`b` c");
    assert_eq!(outside_code_spans("a `b"), "a `b");
}
