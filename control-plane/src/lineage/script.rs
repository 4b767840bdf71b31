//! Turns a script into statements, recovering from what the parser cannot read.
//!
//! The whole script is parsed at once when it can be. Otherwise it is split at top-level
//! semicolons and each piece goes down a ladder: other dialects, small repairs (split a
//! statement run-on without a semicolon, unwrap `(WITH ...)`, drop a clause the parser does not
//! know), recognised statements without lineage, a few token-level rules (Hive `FROM ... INSERT`,
//! `ALTER TABLE ... EXCHANGE PARTITION`), and finally a scan for DML inside procedural blocks.

use sqlparser::ast::{Ident, ObjectName, Statement};
use sqlparser::dialect::Dialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Location, Token, TokenWithSpan, Tokenizer};

use super::LineageError;
use super::dialects::fallback_dialects;
use super::names::TableName;
use super::source_text::{SourceText, is_trivia};

/// One unit of work for the analyzer.
pub(super) enum ScriptItem {
    /// A parsed statement and the tokenization (dialect index) it came from. Statements of one
    /// stored procedure the parser could not read whole share a `group` and count as one.
    Statement {
        statement: Box<Statement>,
        tokenization: usize,
        group: Option<usize>,
    },
    /// `ALTER TABLE target EXCHANGE PARTITION (...) WITH TABLE source`.
    Exchange { target: TableName, source: TableName },
}

/// Statements of a script plus what could not be read.
pub(super) struct ParsedScript {
    pub(super) items: Vec<ScriptItem>,
    /// Pieces that produced nothing, with the parse error of the caller's dialect.
    pub(super) skipped: Vec<LineageError>,
    /// Pieces handled (parsed, or recognised as carrying no lineage).
    pub(super) handled: usize,
}

/// Token streams of the script per dialect, computed on demand. Index 0 is the caller's dialect.
pub(super) struct Tokenizations<'d> {
    primary: &'d dyn Dialect,
    fallbacks: Vec<Box<dyn Dialect>>,
    tokens: Vec<Option<Result<Vec<TokenWithSpan>, LineageError>>>,
}

impl<'d> Tokenizations<'d> {
    pub(super) fn new(primary: &'d dyn Dialect) -> Self {
        let fallbacks = fallback_dialects(primary);
        let count = fallbacks.len() + 1;
        Self {
            primary,
            fallbacks,
            tokens: (0..count).map(|_| None).collect(),
        }
    }

    fn count(&self) -> usize {
        self.tokens.len()
    }

    pub(super) fn dialect(&self, index: usize) -> &dyn Dialect {
        match index.checked_sub(1) {
            None => self.primary,
            Some(fallback) => match self.fallbacks.get(fallback) {
                Some(dialect) => dialect.as_ref(),
                None => self.primary,
            },
        }
    }

    fn ensure(&mut self, index: usize, source: &SourceText<'_>) {
        if self.tokens.get(index).is_some_and(Option::is_none) {
            let result = Tokenizer::new(self.dialect(index), source.text())
                .tokenize_with_location()
                .map_err(|error| LineageError::syntax(error.location, &error.message, source));
            if let Some(slot) = self.tokens.get_mut(index) {
                *slot = Some(result);
            }
        }
    }

    /// Tokens of the script in dialect `index`, or the tokenizer error.
    fn get(&mut self, index: usize, source: &SourceText<'_>) -> Result<&[TokenWithSpan], LineageError> {
        self.ensure(index, source);
        match self.tokens.get(index) {
            Some(Some(Ok(tokens))) => Ok(tokens.as_slice()),
            Some(Some(Err(error))) => Err(error.clone()),
            _ => Ok(&[]),
        }
    }

    /// Tokens already computed for dialect `index` (empty when never computed or failed).
    pub(super) fn computed(&self, index: usize) -> &[TokenWithSpan] {
        match self.tokens.get(index) {
            Some(Some(Ok(tokens))) => tokens.as_slice(),
            _ => &[],
        }
    }
}

impl LineageError {
    pub(super) fn syntax(location: Location, message: &str, source: &SourceText<'_>) -> Self {
        let location = if location.line == 0 {
            source.end_location()
        } else {
            location
        };
        LineageError::Syntax {
            line: location.line,
            column: location.column,
            message: message.trim().trim_end_matches('.').to_lowercase(),
        }
    }

    /// Converts a parser error; its text carries the location as ` at Line: l, Column: c`.
    fn from_parser(error: &ParserError, fallback: Location, source: &SourceText<'_>) -> Self {
        let text = match error {
            ParserError::TokenizerError(text) | ParserError::ParserError(text) => text.as_str(),
            ParserError::RecursionLimitExceeded => "nesting is too deep",
        };
        let (message, location) = match text.rsplit_once(" at Line: ") {
            Some((message, position)) => {
                let mut numbers = position
                    .split(", Column: ")
                    .map(|number| number.trim().parse::<u64>().ok());
                match (numbers.next().flatten(), numbers.next().flatten()) {
                    (Some(line), Some(column)) => (message, Location::new(line, column)),
                    _ => (text, fallback),
                }
            }
            None if matches!(error, ParserError::RecursionLimitExceeded) => (text, fallback),
            None => (text, Location::empty()),
        };
        Self::syntax(location, message, source)
    }
}

fn parse_tokens(dialect: &dyn Dialect, tokens: Vec<TokenWithSpan>) -> Result<Vec<Statement>, ParserError> {
    Parser::new(dialect)
        .with_tokens_with_locations(tokens)
        .parse_statements()
}

fn keyword(token: &TokenWithSpan) -> Option<Keyword> {
    match &token.token {
        Token::Word(word) if word.quote_style.is_none() => Some(word.keyword),
        _ => None,
    }
}

fn word_upper(token: &TokenWithSpan) -> Option<String> {
    match &token.token {
        Token::Word(word) if word.quote_style.is_none() => Some(word.value.to_ascii_uppercase()),
        _ => None,
    }
}

/// Indices of significant (non-whitespace, non-comment) tokens.
fn significant(tokens: &[TokenWithSpan]) -> Vec<usize> {
    (0..tokens.len())
        .filter(|&i| {
            tokens
                .get(i)
                .is_some_and(|t| !is_trivia(&t.token) && t.token != Token::EOF)
        })
        .collect()
}

/// Keywords that start a statement; a parse error on one of them means a missing semicolon.
const STATEMENT_START: &[Keyword] = &[
    Keyword::SELECT,
    Keyword::INSERT,
    Keyword::UPDATE,
    Keyword::DELETE,
    Keyword::MERGE,
    Keyword::CREATE,
    Keyword::DROP,
    Keyword::ALTER,
    Keyword::WITH,
    Keyword::TRUNCATE,
    Keyword::DECLARE,
    Keyword::SET,
    Keyword::EXEC,
    Keyword::EXECUTE,
    Keyword::USE,
    Keyword::PRINT,
    Keyword::IF,
    Keyword::WHILE,
    Keyword::BEGIN,
    Keyword::RETURN,
    Keyword::GRANT,
    Keyword::REVOKE,
    Keyword::CALL,
    Keyword::COPY,
    Keyword::UNLOAD,
    Keyword::SHOW,
    Keyword::DESCRIBE,
    Keyword::EXPLAIN,
    Keyword::ANALYZE,
    Keyword::MSCK,
    Keyword::CACHE,
    Keyword::UNCACHE,
    Keyword::LOAD,
    Keyword::OPTIMIZE,
    Keyword::VACUUM,
    Keyword::COMMIT,
    Keyword::ROLLBACK,
];

/// Keywords where DML may begin inside a procedural block.
const DML_START: &[Keyword] = &[
    Keyword::SELECT,
    Keyword::INSERT,
    Keyword::WITH,
    Keyword::MERGE,
    Keyword::UPDATE,
    Keyword::CREATE,
];

/// Leading words of statements that never carry lineage (some of which the parser rejects).
const NO_LINEAGE_WORDS: &[&str] = &[
    "SET",
    "SHOW",
    "USE",
    "DESC",
    "DESCRIBE",
    "ANALYZE",
    "REFRESH",
    "CACHE",
    "UNCACHE",
    "CLEAR",
    "ADD",
    "LIST",
    "RESET",
    "MSCK",
    "GRANT",
    "REVOKE",
    "DELETE",
    "TRUNCATE",
    "COMMENT",
    "OPTIMIZE",
    "VACUUM",
    "GO",
    "COMMIT",
    "ROLLBACK",
    "KILL",
    "LOCK",
    "UNLOCK",
    "DEALLOCATE",
    "PREPARE",
    "EXPLAIN",
];

/// Keywords after which a query body may follow a clause the parser does not know.
fn query_start_at(tokens: &[TokenWithSpan], sig: &[usize], position: usize) -> bool {
    let Some(token) = sig.get(position).and_then(|&i| tokens.get(i)) else {
        return false;
    };
    match keyword(token) {
        Some(Keyword::SELECT | Keyword::WITH | Keyword::VALUES | Keyword::FROM) => true,
        Some(Keyword::AS) => {
            let next = sig.get(position + 1).and_then(|&i| tokens.get(i));
            next.is_some_and(|next| {
                matches!(keyword(next), Some(Keyword::SELECT | Keyword::WITH)) || next.token == Token::LParen
            })
        }
        _ => false,
    }
}

struct Splitter<'s, 't, 'd> {
    source: &'s SourceText<'t>,
    tokenizations: Tokenizations<'d>,
    items: Vec<ScriptItem>,
    skipped: Vec<LineageError>,
    handled: usize,
    /// Group of the procedure whose pieces are being read, if any.
    group: Option<usize>,
}

/// Parses a script into statements, recovering from unparsable pieces where it can.
pub(super) fn parse_script<'d>(
    source: &SourceText<'_>,
    dialect: &'d dyn Dialect,
) -> Result<(ParsedScript, Tokenizations<'d>), LineageError> {
    let mut splitter = Splitter {
        source,
        tokenizations: Tokenizations::new(dialect),
        items: Vec::new(),
        skipped: Vec::new(),
        handled: 0,
        group: None,
    };
    // The caller's dialect, or the first fallback whose tokenizer accepts the text.
    let mut primary = None;
    let mut first_error = None;
    for index in 0..splitter.tokenizations.count() {
        match splitter.tokenizations.get(index, source) {
            Ok(_) => {
                primary = Some(index);
                break;
            }
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    let Some(primary) = primary else {
        return Err(first_error
            .unwrap_or_else(|| LineageError::syntax(Location::new(1, 1), "cannot tokenize sql", source)));
    };
    splitter.run(primary);
    let parsed = ParsedScript {
        items: splitter.items,
        skipped: splitter.skipped,
        handled: splitter.handled,
    };
    Ok((parsed, splitter.tokenizations))
}

impl Splitter<'_, '_, '_> {
    fn tokens(&mut self, index: usize) -> Vec<TokenWithSpan> {
        self.tokenizations
            .get(index, self.source)
            .map(<[TokenWithSpan]>::to_vec)
            .unwrap_or_default()
    }

    fn push_statements(&mut self, statements: Vec<Statement>, tokenization: usize) {
        self.handled += 1;
        let group = self.group;
        self.items
            .extend(statements.into_iter().map(|statement| ScriptItem::Statement {
                statement: Box::new(statement),
                tokenization,
                group,
            }));
    }

    fn run(&mut self, primary: usize) {
        let tokens = self.tokens(primary);
        let dialect = self.tokenizations.dialect(primary);
        if let Ok(statements) = parse_tokens(dialect, tokens.clone()) {
            self.push_statements(statements, primary);
            return;
        }
        // Split at semicolons outside parentheses.
        let mut depth = 0i64;
        let mut start = 0usize;
        let mut pieces: Vec<(usize, usize)> = Vec::new();
        for (index, token) in tokens.iter().enumerate() {
            match token.token {
                Token::LParen => depth += 1,
                Token::RParen => depth = (depth - 1).max(0),
                Token::SemiColon if depth == 0 => {
                    pieces.push((start, index));
                    start = index + 1;
                }
                _ => {}
            }
        }
        pieces.push((start, tokens.len()));
        // A stored procedure spans pieces until its BEGIN ... END blocks close.
        let mut block_depth = 0i64;
        let mut next_group = 0usize;
        for (from, to) in pieces {
            let piece: Vec<TokenWithSpan> = tokens.get(from..to).map(<[_]>::to_vec).unwrap_or_default();
            let sig = significant(&piece);
            if sig.is_empty() {
                continue;
            }
            if self.group.is_none() && starts_procedure(&piece, &sig) {
                self.group = Some(next_group);
                next_group += 1;
                block_depth = 0;
            }
            if self.group.is_some() {
                block_depth += block_balance(&piece, &sig);
            }
            self.piece(primary, piece);
            if block_depth <= 0 {
                self.group = None;
            }
        }
    }

    /// Recovery ladder for one piece (a statement, possibly unparsable).
    fn piece(&mut self, primary: usize, piece: Vec<TokenWithSpan>) {
        let dialect = self.tokenizations.dialect(primary);
        let first_error = match parse_tokens(dialect, piece.clone()) {
            Ok(statements) => {
                self.push_statements(statements, primary);
                return;
            }
            Err(error) => error,
        };
        let sig = significant(&piece);
        let (Some(&first), Some(&last)) = (sig.first(), sig.last()) else {
            return;
        };
        let (Some(first_token), Some(last_token)) = (piece.get(first), piece.get(last)) else {
            return;
        };
        let piece_start = first_token.span.start;
        let error = LineageError::from_parser(&first_error, piece_start, self.source);

        // 1. Statements that never carry lineage, whatever the parser thinks of them.
        let first_word = piece.get(first).and_then(word_upper).unwrap_or_default();
        if NO_LINEAGE_WORDS.contains(&first_word.as_str()) || first_token.token == Token::Div {
            self.handled += 1;
            return;
        }

        // 2. Other dialects.
        let (from, to) = (first_token.span.start, last_token.span.end);
        for index in 0..self.tokenizations.count() {
            if index == primary {
                continue;
            }
            let Ok(all) = self.tokenizations.get(index, self.source) else {
                continue;
            };
            // Tokens are in source order: locate the piece by binary search.
            let low = all.partition_point(|t| t.span.start < from);
            let high = all.partition_point(|t| t.span.start < to);
            let subset: Vec<TokenWithSpan> = all
                .get(low..high.max(low))
                .unwrap_or_default()
                .iter()
                .filter(|t| t.span.end <= to && t.token != Token::EOF)
                .cloned()
                .collect();
            if significant(&subset).is_empty() {
                continue;
            }
            if let Ok(statements) = parse_tokens(self.tokenizations.dialect(index), subset) {
                self.push_statements(statements, index);
                return;
            }
        }

        // 3. Token-level rules for statements the parser does not know.
        if let Some(item) = exchange_partition(&piece, &sig) {
            self.handled += 1;
            self.items.push(item);
            return;
        }
        if first_word == "FROM" && self.hive_multi_insert(primary, &piece, &sig) {
            return;
        }
        if first_word == "ALTER" {
            // Other ALTER forms (columns, partitions, properties) carry no lineage.
            self.handled += 1;
            return;
        }

        // 4. Repairs in the caller's dialect.
        if self.repair(primary, piece.clone(), 0) {
            return;
        }

        // 5. DML inside procedural blocks.
        if self.scan_for_dml(primary, &piece, &sig) {
            return;
        }
        self.skipped.push(error);
    }

    /// Tries small repairs; returns whether the piece was handled.
    fn repair(&mut self, primary: usize, mut tokens: Vec<TokenWithSpan>, depth: usize) -> bool {
        const MAX_REPAIRS: usize = 6;
        let dialect = self.tokenizations.dialect(primary);
        for _ in 0..MAX_REPAIRS {
            let error = match parse_tokens(dialect, tokens.clone()) {
                Ok(statements) => {
                    self.push_statements(statements, primary);
                    return true;
                }
                Err(error) => error,
            };
            let sig = significant(&tokens);
            if sig.is_empty() {
                return false;
            }
            // `INSERT INTO t (WITH ... SELECT ...)`: drop the parentheses around the query.
            if let Some(unwrapped) = unwrap_parenthesised_with(&tokens, &sig) {
                tokens = unwrapped;
                continue;
            }
            let ParserError::ParserError(text) = &error else {
                return false;
            };
            let location = match LineageError::from_parser(&error, Location::empty(), self.source) {
                LineageError::Syntax { line, column, .. } if text.contains(" at Line: ") => {
                    Location::new(line, column)
                }
                _ => return false,
            };
            // Position (in significant tokens) of the token the parser stopped at.
            let Some(position) = sig
                .iter()
                .position(|&i| tokens.get(i).is_some_and(|t| t.span.start >= location))
            else {
                return false;
            };
            if position == 0 {
                return false;
            }
            let Some(&at) = sig.get(position) else {
                return false;
            };
            let next_keyword = sig
                .get(position + 1)
                .and_then(|&n| tokens.get(n))
                .and_then(keyword);
            let starts_statement = match tokens.get(at).and_then(keyword) {
                // `IF NOT EXISTS` / `IF EXISTS` is a clause, not a statement.
                Some(Keyword::IF) => !matches!(next_keyword, Some(Keyword::NOT | Keyword::EXISTS)),
                Some(kw) => STATEMENT_START.contains(&kw),
                None => false,
            };
            if starts_statement && depth < 16 {
                // A statement run on without a semicolon (T-SQL): split and handle both halves.
                let tail = tokens.split_off(at);
                let head_ok = self.repair(primary, tokens, depth + 1);
                let tail_ok = self.repair(primary, tail, depth + 1);
                return head_ok || tail_ok;
            }
            // Drop an unknown clause up to where a query starts, or to the end.
            if position < 2 {
                return false;
            }
            let mut nesting = 0i64;
            let mut end = None;
            for p in position..sig.len() {
                let Some(token) = sig.get(p).and_then(|&i| tokens.get(i)) else {
                    break;
                };
                if nesting == 0 && p > position && query_start_at(&tokens, &sig, p) {
                    end = sig.get(p).copied();
                    break;
                }
                // Never drop a nested statement (procedure bodies): the DML scan handles those.
                if p > position
                    && keyword(token).is_some_and(|kw| {
                        matches!(
                            kw,
                            Keyword::INSERT
                                | Keyword::UPDATE
                                | Keyword::MERGE
                                | Keyword::DELETE
                                | Keyword::CREATE
                                | Keyword::BEGIN
                                | Keyword::DECLARE
                        )
                    })
                {
                    return false;
                }
                match token.token {
                    Token::LParen => nesting += 1,
                    Token::RParen => nesting -= 1,
                    _ => {}
                }
            }
            let end = end.unwrap_or(tokens.len());
            if end <= at {
                return false;
            }
            tokens.drain(at..end);
        }
        false
    }

    /// Hive `FROM src INSERT ... SELECT ... [INSERT ... SELECT ...]`: moves the FROM clause into
    /// each INSERT so every branch parses on its own.
    fn hive_multi_insert(&mut self, primary: usize, piece: &[TokenWithSpan], sig: &[usize]) -> bool {
        let mut depth = 0i64;
        let mut inserts: Vec<usize> = Vec::new();
        for &i in sig {
            let Some(token) = piece.get(i) else { continue };
            match token.token {
                Token::LParen => depth += 1,
                Token::RParen => depth -= 1,
                _ => {}
            }
            if depth == 0 && keyword(token) == Some(Keyword::INSERT) {
                inserts.push(i);
            }
        }
        let (Some(&first_insert), Some(&from_keyword)) = (inserts.first(), sig.first()) else {
            return false;
        };
        let from_clause: Vec<TokenWithSpan> = piece
            .get(from_keyword..first_insert)
            .map(<[_]>::to_vec)
            .unwrap_or_default();
        let mut bounds = inserts.clone();
        bounds.push(piece.len());
        let dialect = self.tokenizations.dialect(primary);
        let mut statements = Vec::new();
        for window in bounds.windows(2) {
            let [start, end] = window else { continue };
            let Some(segment) = piece.get(*start..*end) else {
                continue;
            };
            let Some(select) = segment.iter().position(|t| keyword(t) == Some(Keyword::SELECT)) else {
                continue;
            };
            let mut nesting = 0i64;
            let mut insert_at = segment.len();
            for (offset, token) in segment.iter().enumerate().skip(select + 1) {
                match token.token {
                    Token::LParen => nesting += 1,
                    Token::RParen => nesting -= 1,
                    _ => {}
                }
                let ends_list = matches!(
                    keyword(token),
                    Some(
                        Keyword::WHERE
                            | Keyword::GROUP
                            | Keyword::HAVING
                            | Keyword::ORDER
                            | Keyword::LIMIT
                            | Keyword::CLUSTER
                            | Keyword::DISTRIBUTE
                            | Keyword::SORT
                            | Keyword::WINDOW
                            | Keyword::UNION
                    )
                );
                if nesting == 0 && ends_list {
                    insert_at = offset;
                    break;
                }
            }
            let mut rewritten: Vec<TokenWithSpan> =
                segment.get(..insert_at).map(<[_]>::to_vec).unwrap_or_default();
            rewritten.push(TokenWithSpan::wrap(Token::Whitespace(
                sqlparser::tokenizer::Whitespace::Space,
            )));
            rewritten.extend(from_clause.iter().cloned());
            rewritten.push(TokenWithSpan::wrap(Token::Whitespace(
                sqlparser::tokenizer::Whitespace::Space,
            )));
            rewritten.extend(segment.get(insert_at..).map(<[_]>::to_vec).unwrap_or_default());
            match parse_tokens(dialect, rewritten) {
                Ok(parsed) => statements.extend(parsed),
                Err(_) => return false,
            }
        }
        if statements.is_empty() {
            return false;
        }
        self.push_statements(statements, primary);
        true
    }

    /// Finds statements that parse, starting at DML keywords inside the piece.
    fn scan_for_dml(&mut self, primary: usize, piece: &[TokenWithSpan], sig: &[usize]) -> bool {
        let dialect = self.tokenizations.dialect(primary);
        let mut found = Vec::new();
        let mut depth = 0i64;
        let mut resume_at = 0usize;
        for (position, &i) in sig.iter().enumerate() {
            let Some(token) = piece.get(i) else { continue };
            let at_depth = depth;
            match token.token {
                Token::LParen => depth += 1,
                Token::RParen => depth -= 1,
                _ => {}
            }
            if position == 0 || i < resume_at || at_depth != 0 {
                continue;
            }
            if !keyword(token).is_some_and(|kw| DML_START.contains(&kw)) {
                continue;
            }
            let Some(rest) = piece.get(i..) else { continue };
            let mut parser = Parser::new(dialect).with_tokens_with_locations(rest.to_vec());
            if let Ok(statement) = parser.parse_statement() {
                resume_at = i + parser.index();
                found.push(statement);
            }
        }
        if found.is_empty() {
            return false;
        }
        self.push_statements(found, primary);
        true
    }
}

/// `( WITH ...)` opening right after a name or a column list: returns the tokens without the
/// parentheses.
fn unwrap_parenthesised_with(tokens: &[TokenWithSpan], sig: &[usize]) -> Option<Vec<TokenWithSpan>> {
    for (position, &i) in sig.iter().enumerate() {
        if tokens.get(i)?.token != Token::LParen || position == 0 {
            continue;
        }
        let next = sig.get(position + 1).and_then(|&n| tokens.get(n))?;
        if keyword(next) != Some(Keyword::WITH) {
            continue;
        }
        // Find the matching closing parenthesis.
        let mut depth = 0i64;
        for &j in sig.get(position..)? {
            match tokens.get(j)?.token {
                Token::LParen => depth += 1,
                Token::RParen => {
                    depth -= 1;
                    if depth == 0 {
                        let mut result = tokens.to_vec();
                        result.remove(j);
                        result.remove(i);
                        return Some(result);
                    }
                }
                _ => {}
            }
        }
        return None;
    }
    None
}

/// Reads `name[.name...]` starting at significant position `position`.
fn object_name_at(tokens: &[TokenWithSpan], sig: &[usize], mut position: usize) -> Option<ObjectName> {
    let mut idents = Vec::new();
    loop {
        let token = sig.get(position).and_then(|&i| tokens.get(i))?;
        let Token::Word(word) = &token.token else {
            return None;
        };
        idents.push(match word.quote_style {
            Some(quote) => Ident::with_quote(quote, word.value.clone()),
            None => Ident::new(word.value.clone()),
        });
        let dot = sig.get(position + 1).and_then(|&i| tokens.get(i));
        if dot.is_some_and(|t| t.token == Token::Period) {
            position += 2;
        } else {
            break;
        }
    }
    Some(ObjectName::from(idents))
}

/// `ALTER TABLE a EXCHANGE PARTITION (...) WITH TABLE b`: b's data moves into a.
fn exchange_partition(tokens: &[TokenWithSpan], sig: &[usize]) -> Option<ScriptItem> {
    let keyword_at = |p: usize| sig.get(p).and_then(|&i| tokens.get(i)).and_then(keyword);
    if keyword_at(0) != Some(Keyword::ALTER) || keyword_at(1) != Some(Keyword::TABLE) {
        return None;
    }
    let target = object_name_at(tokens, sig, 2)?;
    let exchange = (3..sig.len()).find(|&p| {
        sig.get(p)
            .and_then(|&i| tokens.get(i))
            .and_then(word_upper)
            .is_some_and(|word| word == "EXCHANGE")
    })?;
    let with_table = (exchange..sig.len().saturating_sub(1))
        .find(|&p| keyword_at(p) == Some(Keyword::WITH) && keyword_at(p + 1) == Some(Keyword::TABLE))?;
    let source = object_name_at(tokens, sig, with_table + 2)?;
    Some(ScriptItem::Exchange {
        target: TableName::from_object_name(&target)?,
        source: TableName::from_object_name(&source)?,
    })
}

/// `CREATE [OR REPLACE | OR ALTER] PROCEDURE|PROC ...`.
fn starts_procedure(tokens: &[TokenWithSpan], sig: &[usize]) -> bool {
    let words: Vec<String> = sig
        .iter()
        .take(4)
        .filter_map(|&i| tokens.get(i).and_then(word_upper))
        .collect();
    match words.as_slice() {
        [create, rest @ ..] if create == "CREATE" => match rest {
            [kind, ..] if kind == "PROCEDURE" || kind == "PROC" => true,
            [or, _, kind, ..] if or == "OR" => kind == "PROCEDURE" || kind == "PROC",
            _ => false,
        },
        _ => false,
    }
}

/// Net count of blocks a piece opens: `BEGIN` and `CASE` open one, `END` closes one (but not
/// `END IF`/`END LOOP`/..., which close statements that opened none; `BEGIN TRANSACTION` opens
/// none).
fn block_balance(tokens: &[TokenWithSpan], sig: &[usize]) -> i64 {
    let word = |position: usize| {
        sig.get(position)
            .and_then(|&i| tokens.get(i))
            .and_then(word_upper)
    };
    let mut balance = 0i64;
    for position in 0..sig.len() {
        match word(position).as_deref() {
            Some("BEGIN") => {
                let next = word(position + 1);
                if !matches!(
                    next.as_deref(),
                    Some("TRAN" | "TRANSACTION" | "WORK" | "DISTRIBUTED")
                ) {
                    balance += 1;
                }
            }
            Some("CASE") => balance += 1,
            Some("END") => {
                let next = word(position + 1);
                if !matches!(next.as_deref(), Some("IF" | "LOOP" | "WHILE" | "REPEAT" | "FOR")) {
                    balance -= 1;
                }
            }
            _ => {}
        }
    }
    balance
}
