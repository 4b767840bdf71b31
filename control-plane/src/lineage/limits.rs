//! Bounds on the SQL the analyzer accepts, checked on the raw text before anything is parsed.
//!
//! sqlparser limits recursion while it parses (nested parentheses, subqueries, prefix operators),
//! but operator chains are parsed in a loop: `a + a + … + a` with 50,000 terms becomes a tree
//! 50,000 levels deep, and dropping or walking that tree recurses once per level until the thread's
//! stack overflows and the whole process aborts. The same holds for chains of `UNION`, casts
//! (`::`), `AND`/`OR`, subscripts. So before a statement is parsed, [`check_script`] measures an
//! upper bound of the depth of any tree it could produce: along every nesting path (parentheses,
//! brackets), the number of terms in the current chain at each level. A comma, `;`, `WHEN`,
//! `THEN` or `ELSE` ends a chain (what follows becomes a sibling in a list, not a child); set
//! operations never end one (`SELECT a, b … UNION SELECT …` nests). The scan is linear, allocates
//! one small entry per open parenthesis, and never recurses.
//!
//! Must not: parse, allocate per token, or recurse.

use super::LineageError;

/// Largest script accepted, in bytes.
pub const MAX_SCRIPT_BYTES: usize = 4 * 1024 * 1024;
/// Most terms along one nesting path: an expression chain of about half as many operators. Real
/// statements stay far below (a `WHERE` of 200 `AND`ed comparisons is ~800); the analyzer's tree
/// walks stay well inside a 2 MiB thread stack at this depth, even in a debug build.
pub const MAX_NESTING: usize = 4_000;

#[derive(Default, Clone, Copy)]
struct Level {
    /// Terms of the current chain at this level (reset by `,` and `WHEN`/`THEN`/`ELSE`).
    chain: usize,
    /// Set operations at this level (never reset within the level).
    set_operations: usize,
}

/// Checks `sql` against [`MAX_SCRIPT_BYTES`] and [`MAX_NESTING`]; the error names the line and
/// column (1-based) where the bound was passed.
pub fn check_script(sql: &str) -> Result<(), LineageError> {
    if sql.len() > MAX_SCRIPT_BYTES {
        return Err(LineageError::TooLarge {
            bytes: sql.len(),
            limit: MAX_SCRIPT_BYTES,
        });
    }
    let bytes = sql.as_bytes();
    let mut levels: Vec<Level> = vec![Level::default()];
    // Sum of chain + set_operations over `levels`: the depth bound of the current path.
    let mut path: usize = 0;
    let mut at = 0;
    while at < bytes.len() {
        let byte = bytes[at];
        let start = at;
        let mut term = false;
        match byte {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => at += 1,
            b'-' if bytes.get(at + 1) == Some(&b'-') => at = skip_until(bytes, at + 2, b"\n"),
            b'/' if bytes.get(at + 1) == Some(&b'*') => at = skip_until(bytes, at + 2, b"*/"),
            b'\'' | b'"' | b'`' => {
                at = skip_quoted(bytes, at);
                term = true;
            }
            b'$' if bytes.get(at + 1) == Some(&b'$') => {
                at = skip_until(bytes, at + 2, b"$$");
                term = true;
            }
            b'(' | b'[' | b'{' => {
                at += 1;
                // The group is one term of its parent's chain; its inside is a new level.
                if let Some(level) = levels.last_mut() {
                    level.chain += 1;
                }
                path += 1;
                levels.push(Level::default());
            }
            b')' | b']' | b'}' => {
                at += 1;
                if levels.len() > 1
                    && let Some(level) = levels.pop()
                {
                    path -= level.chain + level.set_operations;
                }
            }
            b',' => {
                at += 1;
                end_chain(&mut levels, &mut path);
            }
            b';' => {
                at += 1;
                levels.truncate(1);
                levels[0] = Level::default();
                path = 0;
            }
            _ if is_word_byte(byte) => {
                while at < bytes.len() && is_word_byte(bytes[at]) {
                    at += 1;
                }
                let word = &bytes[start..at];
                if ["when", "then", "else"]
                    .iter()
                    .any(|w| word.eq_ignore_ascii_case(w.as_bytes()))
                {
                    end_chain(&mut levels, &mut path);
                } else if ["union", "intersect", "except", "minus"]
                    .iter()
                    .any(|w| word.eq_ignore_ascii_case(w.as_bytes()))
                {
                    if let Some(level) = levels.last_mut() {
                        level.set_operations += 1;
                    }
                    path += 1;
                } else {
                    term = true;
                }
            }
            _ => {
                // An operator: a run of punctuation (`||`, `::`, `->>`, `<=`) is one term.
                while at < bytes.len() && is_operator_byte(bytes[at]) {
                    at += 1;
                }
                if at == start {
                    at += 1;
                }
                term = true;
            }
        }
        if term {
            if let Some(level) = levels.last_mut() {
                level.chain += 1;
            }
            path += 1;
        }
        if path > MAX_NESTING {
            let (line, column) = line_and_column(sql, start);
            return Err(LineageError::TooDeep {
                line,
                column,
                limit: MAX_NESTING,
            });
        }
    }
    Ok(())
}

fn end_chain(levels: &mut [Level], path: &mut usize) {
    if let Some(level) = levels.last_mut() {
        *path -= level.chain;
        level.chain = 0;
    }
}

fn is_word_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'@' | b'#') || byte >= 0x80
}

fn is_operator_byte(byte: u8) -> bool {
    matches!(
        byte,
        b'+' | b'*' | b'/' | b'%' | b'<' | b'>' | b'=' | b'!' | b'|' | b'&' | b'^' | b'~' | b':' | b'?'
    ) || (byte == b'-')
}

/// Index just past the closing quote of the literal or identifier opening at `at` (a doubled quote
/// and a backslash escape stay inside); the end of the text when it is not closed.
fn skip_quoted(bytes: &[u8], at: usize) -> usize {
    let quote = bytes[at];
    let mut i = at + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b if b == quote => {
                if bytes.get(i + 1) == Some(&quote) {
                    i += 2;
                } else {
                    return i + 1;
                }
            }
            _ => i += 1,
        }
    }
    bytes.len()
}

/// Index just past the first `end` at or after `from`; the end of the text when there is none.
fn skip_until(bytes: &[u8], from: usize, end: &[u8]) -> usize {
    bytes
        .get(from..)
        .and_then(|rest| rest.windows(end.len()).position(|window| window == end))
        .map_or(bytes.len(), |found| from + found + end.len())
}

/// 1-based line and column (in characters) of byte offset `at`.
fn line_and_column(sql: &str, at: usize) -> (u64, u64) {
    let before = sql.get(..at).unwrap_or(sql);
    let line = before.bytes().filter(|&b| b == b'\n').count() as u64 + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() as u64 + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(terms: usize, op: &str) -> String {
        let mut sql = String::from("INSERT INTO t SELECT a");
        for _ in 1..terms {
            sql.push_str(op);
            sql.push('a');
        }
        sql.push_str(" FROM s");
        sql
    }

    #[test]
    fn long_operator_chains_are_refused_with_their_place() {
        for op in ["+", " AND ", "||", "::", " OR "] {
            let error = check_script(&chain(50_000, op)).unwrap_err();
            assert!(
                matches!(
                    error,
                    LineageError::TooDeep {
                        line: 1,
                        limit: MAX_NESTING,
                        ..
                    }
                ),
                "{op}: {error}"
            );
        }
    }

    #[test]
    fn set_operation_chains_count_even_across_commas() {
        let sql = vec!["SELECT a, b FROM t"; 5_000].join(" UNION ALL ");
        assert!(matches!(check_script(&sql), Err(LineageError::TooDeep { .. })));
        let sql = vec!["SELECT a, b FROM t"; 100].join(" UNION ALL ");
        check_script(&sql).unwrap();
    }

    #[test]
    fn wide_but_shallow_statements_pass() {
        // 20,000 select items, a 5,000-row VALUES list, a CASE with 2,000 branches.
        let items: Vec<String> = (0..20_000).map(|i| format!("c{i} + 1 AS d{i}")).collect();
        check_script(&format!("SELECT {} FROM t", items.join(", "))).unwrap();
        let rows: Vec<String> = (0..5_000).map(|i| format!("({i}, 'x{i}', {i}.5)")).collect();
        check_script(&format!("INSERT INTO t VALUES {}", rows.join(", "))).unwrap();
        let branches: Vec<String> = (0..2_000).map(|i| format!("WHEN a = {i} THEN 'v{i}'")).collect();
        check_script(&format!("SELECT CASE {} ELSE 'z' END FROM t", branches.join(" "))).unwrap();
        // Statements of a script are measured one by one.
        let script = vec![chain(1_000, "+"); 20].join(";\n");
        check_script(&script).unwrap();
    }

    #[test]
    fn quotes_and_comments_hide_their_content() {
        let inside = "+a".repeat(10_000);
        check_script(&format!("SELECT '{inside}' FROM t -- {inside}\n/* {inside} */")).unwrap();
        check_script(&format!("SELECT \"it\"\"s\", 'it''s', $${inside}$$ FROM t")).unwrap();
    }

    #[test]
    fn the_place_is_reported_in_lines_and_columns() {
        let sql = format!("SELECT 1;\n  SELECT {}", "a+".repeat(MAX_NESTING));
        let Err(LineageError::TooDeep { line, column, .. }) = check_script(&sql) else {
            panic!("accepted");
        };
        assert_eq!(line, 2);
        assert!(column > MAX_NESTING as u64, "{column}");
    }

    #[test]
    fn oversized_scripts_are_refused() {
        let sql = "SELECT 1;".repeat(MAX_SCRIPT_BYTES / 8);
        assert!(matches!(check_script(&sql), Err(LineageError::TooLarge { .. })));
    }

    #[test]
    fn unclosed_quotes_and_stray_parentheses_do_not_break_the_scan() {
        check_script("SELECT 'open").unwrap();
        check_script("SELECT ))) (((").unwrap();
        check_script(&"(".repeat(100_000)).unwrap_err();
    }
}
