//! Positions in the script text and the raw text of select-list items.
//!
//! The lineage contract names an unaliased computed column after its text as written
//! (`max(col1)`, `a.col1 + a.col2`), so the select list is re-read from the token stream.

use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Location, Token, TokenWithSpan};

/// The script text with an index from (line, column) to byte offsets.
pub(super) struct SourceText<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> SourceText<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        let mut line_starts = vec![0];
        for (offset, byte) in text.bytes().enumerate() {
            if byte == b'\n' {
                line_starts.push(offset + 1);
            }
        }
        Self { text, line_starts }
    }

    pub(super) fn text(&self) -> &'a str {
        self.text
    }

    /// Byte offset of a 1-based (line, column-in-characters) location, clamped to the text.
    pub(super) fn offset(&self, location: Location) -> usize {
        let Some(line_index) = usize::try_from(location.line)
            .ok()
            .and_then(|line| line.checked_sub(1))
        else {
            return 0;
        };
        let Some(&line_start) = self.line_starts.get(line_index) else {
            return self.text.len();
        };
        let column = usize::try_from(location.column.saturating_sub(1)).unwrap_or(usize::MAX);
        let line_text = self.text.get(line_start..).unwrap_or_default();
        match line_text.char_indices().nth(column) {
            Some((offset, _)) => line_start + offset,
            None => self.text.len(),
        }
    }

    /// Location just past the end of the text (for errors found at end of input).
    pub(super) fn end_location(&self) -> Location {
        let line = self.line_starts.len();
        let last_start = self.line_starts.last().copied().unwrap_or(0);
        let column = self.text.get(last_start..).unwrap_or_default().chars().count() + 1;
        Location::new(line as u64, column as u64)
    }

    /// Text between two locations (start inclusive, end exclusive).
    pub(super) fn slice(&self, start: Location, end: Location) -> &'a str {
        let (from, to) = (self.offset(start), self.offset(end));
        self.text.get(from..to.max(from)).unwrap_or_default()
    }
}

pub(super) fn is_trivia(token: &Token) -> bool {
    matches!(token, Token::Whitespace(_))
}

/// Index of the token starting at `location`, if any.
pub(super) fn token_at(tokens: &[TokenWithSpan], location: Location) -> Option<usize> {
    let index = tokens
        .binary_search_by(|token| token.span.start.cmp(&location))
        .ok()?;
    Some(index)
}

fn keyword_of(token: &Token) -> Option<Keyword> {
    match token {
        Token::Word(word) if word.quote_style.is_none() => Some(word.keyword),
        _ => None,
    }
}

/// Keywords that end a select list when met outside parentheses.
const SELECT_LIST_END: &[Keyword] = &[
    Keyword::FROM,
    Keyword::INTO,
    Keyword::WHERE,
    Keyword::GROUP,
    Keyword::HAVING,
    Keyword::ORDER,
    Keyword::LIMIT,
    Keyword::UNION,
    Keyword::EXCEPT,
    Keyword::INTERSECT,
    Keyword::MINUS,
    Keyword::WINDOW,
    Keyword::QUALIFY,
    Keyword::LATERAL,
    Keyword::CLUSTER,
    Keyword::DISTRIBUTE,
    Keyword::SORT,
    Keyword::FETCH,
    Keyword::OFFSET,
    Keyword::CONNECT,
];

/// Skips whitespace and comments from `index`; returns the next significant token index.
fn skip_trivia(tokens: &[TokenWithSpan], mut index: usize) -> usize {
    while tokens.get(index).is_some_and(|token| is_trivia(&token.token)) {
        index += 1;
    }
    index
}

/// Index just past the parenthesised group opening at `index`.
fn skip_group(tokens: &[TokenWithSpan], index: usize) -> usize {
    let mut depth = 0usize;
    let mut at = index;
    while let Some(token) = tokens.get(at) {
        match token.token {
            Token::LParen => depth += 1,
            Token::RParen => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return at + 1;
                }
            }
            _ => {}
        }
        at += 1;
    }
    at
}

/// Raw text of each item of the select list whose SELECT keyword starts at `select_start`.
/// `None` when the list cannot be delimited with confidence.
pub(super) fn select_item_texts(
    source: &SourceText<'_>,
    tokens: &[TokenWithSpan],
    select_start: Location,
) -> Option<Vec<String>> {
    let select_index = token_at(tokens, select_start)?;
    if keyword_of(&tokens.get(select_index)?.token) != Some(Keyword::SELECT) {
        return None;
    }
    let mut index = skip_trivia(tokens, select_index + 1);
    // Modifiers between SELECT and the first item.
    loop {
        let token = tokens.get(index)?;
        match keyword_of(&token.token) {
            Some(Keyword::ALL | Keyword::DISTINCTROW | Keyword::STRAIGHT_JOIN) => {
                index = skip_trivia(tokens, index + 1);
            }
            Some(Keyword::DISTINCT) => {
                index = skip_trivia(tokens, index + 1);
                if tokens.get(index).and_then(|t| keyword_of(&t.token)) == Some(Keyword::ON) {
                    index = skip_trivia(tokens, index + 1);
                    if tokens.get(index).map(|t| &t.token) == Some(&Token::LParen) {
                        index = skip_trivia(tokens, skip_group(tokens, index));
                    }
                }
            }
            Some(Keyword::TOP) => {
                index = skip_trivia(tokens, index + 1);
                if tokens.get(index).map(|t| &t.token) == Some(&Token::LParen) {
                    index = skip_trivia(tokens, skip_group(tokens, index));
                } else {
                    index = skip_trivia(tokens, index + 1);
                }
                if tokens.get(index).and_then(|t| keyword_of(&t.token)) == Some(Keyword::PERCENT) {
                    index = skip_trivia(tokens, index + 1);
                }
                if tokens.get(index).and_then(|t| keyword_of(&t.token)) == Some(Keyword::WITH) {
                    index = skip_trivia(tokens, index + 2);
                }
            }
            _ => break,
        }
    }
    let mut items: Vec<String> = Vec::new();
    let mut depth = 0i64;
    let mut item_start: Option<usize> = None;
    let mut item_end: usize = index;
    let push_item = |start: Option<usize>, end: usize, items: &mut Vec<String>| {
        let text = match start {
            Some(start) => match (tokens.get(start), tokens.get(end)) {
                (Some(first), Some(last)) => source.slice(first.span.start, last.span.end),
                _ => "",
            },
            None => "",
        };
        items.push(text.to_string());
    };
    while let Some(token) = tokens.get(index) {
        let at_top = depth == 0;
        match &token.token {
            Token::LParen | Token::LBracket | Token::LBrace => depth += 1,
            Token::RParen | Token::RBracket | Token::RBrace => {
                depth -= 1;
                if depth < 0 {
                    break;
                }
            }
            Token::Comma if at_top => {
                push_item(item_start, item_end, &mut items);
                item_start = None;
                index += 1;
                continue;
            }
            Token::SemiColon | Token::EOF => break,
            other => {
                if at_top && keyword_of(other).is_some_and(|kw| SELECT_LIST_END.contains(&kw)) {
                    break;
                }
            }
        }
        if !is_trivia(&token.token) {
            if item_start.is_none() {
                item_start = Some(index);
            }
            item_end = index;
        }
        index += 1;
    }
    push_item(item_start, item_end, &mut items);
    Some(items)
}
