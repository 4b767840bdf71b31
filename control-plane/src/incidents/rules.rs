//! Routing rule expressions (pure): boolean expressions over an incident's attributes.
//!
//! ```text
//! severity >= high and (tag = finance or source = warehouse) and not kind = schema_change
//! asset like 'analytics.*' and dimension in (completeness, validity)
//! owner = 'team-payments' or true
//! ```
//!
//! Fields: `severity` (ordered: low < medium < high < critical), `kind` (the incident's alert kind),
//! `dimension`, `tag`, `source`, `schema`, `asset` (qualified `schema.table`), `owner`. Operators:
//! `=`, `!=`, `in (…)`, `like` (`*` matches any run of characters), and for severity `<`, `<=`,
//! `>`, `>=`; `and`, `or`, `not`, parentheses, `true`. Values are bare words or quoted with `'`.
//! A field with several values (tags, dimensions, owners) holds `=`, `in` and `like` when one of
//! its values does, and `!=` when none equals. An unknown field, severity, kind or dimension is an
//! error at the column it starts, so a typo is caught when the rule is saved, not at 3 a.m.
//!
//! Written by hand (about 300 lines): the expression crates (evalexpr, cel) know neither ordered
//! severities nor many-valued fields, and their errors do not name our fields.

use super::Severity;

/// What a rule can ask of an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Severity,
    Kind,
    Dimension,
    Tag,
    Source,
    Schema,
    Asset,
    Owner,
}

impl Field {
    const ALL: [(&'static str, Field); 8] = [
        ("severity", Field::Severity),
        ("kind", Field::Kind),
        ("dimension", Field::Dimension),
        ("tag", Field::Tag),
        ("source", Field::Source),
        ("schema", Field::Schema),
        ("asset", Field::Asset),
        ("owner", Field::Owner),
    ];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    Like,
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    True,
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Compare {
        field: Field,
        op: Op,
        values: Vec<String>,
    },
}

/// Where and why an expression does not parse: `column` counts characters from 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for ExprError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "at column {}: {}", self.column, self.message)
    }
}

/// An incident as rules see it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attributes {
    pub severity: Option<Severity>,
    pub kind: String,
    pub dimensions: Vec<String>,
    pub tags: Vec<String>,
    pub source: Option<String>,
    pub schema: Option<String>,
    pub asset: Option<String>,
    pub owners: Vec<String>,
}

/// The quality dimensions a `dimension` value may name (DESIGN.md), and `score` for score drops.
pub const DIMENSIONS: [&str; 8] = [
    "completeness",
    "validity",
    "accuracy",
    "consistency",
    "uniqueness",
    "timeliness",
    "integrity",
    "score",
];

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Quoted(String),
    Op(Op),
    Open,
    Close,
    Comma,
}

fn tokenize(text: &str) -> Result<Vec<(usize, Token)>, ExprError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        let op = match two.as_str() {
            "!=" | "<>" => Some((Op::Ne, 2)),
            ">=" => Some((Op::Ge, 2)),
            "<=" => Some((Op::Le, 2)),
            "==" => Some((Op::Eq, 2)),
            _ => match c {
                '=' => Some((Op::Eq, 1)),
                '>' => Some((Op::Gt, 1)),
                '<' => Some((Op::Lt, 1)),
                _ => None,
            },
        };
        if let Some((op, width)) = op {
            tokens.push((column, Token::Op(op)));
            i += width;
            continue;
        }
        match c {
            '(' => tokens.push((column, Token::Open)),
            ')' => tokens.push((column, Token::Close)),
            ',' => tokens.push((column, Token::Comma)),
            '\'' | '"' => {
                let mut value = String::new();
                let mut j = i + 1;
                loop {
                    match chars.get(j) {
                        None => {
                            return Err(ExprError {
                                column,
                                message: format!("the text quoted here has no closing {c}"),
                            });
                        }
                        Some(&q) if q == c => break,
                        Some(&other) => value.push(other),
                    }
                    j += 1;
                }
                tokens.push((column, Token::Quoted(value)));
                i = j + 1;
                continue;
            }
            c if is_word_char(c) => {
                let start = i;
                while i < chars.len() && is_word_char(chars[i]) {
                    i += 1;
                }
                tokens.push((column, Token::Word(chars[start..i].iter().collect())));
                continue;
            }
            other => {
                return Err(ExprError {
                    column,
                    message: format!("unexpected character {other:?}"),
                });
            }
        }
        i += 1;
    }
    Ok(tokens)
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '*' | '#' | '@' | ':' | '/')
}

struct Parser {
    tokens: Vec<(usize, Token)>,
    at: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at).map(|(_, t)| t)
    }

    fn column(&self) -> usize {
        self.tokens.get(self.at).map(|(c, _)| *c).unwrap_or(self.end)
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn error<T>(&self, message: impl Into<String>) -> Result<T, ExprError> {
        Err(ExprError {
            column: self.column(),
            message: message.into(),
        })
    }

    fn found(&self) -> String {
        match self.peek() {
            None => "the end".into(),
            Some(Token::Word(w)) => format!("`{w}`"),
            Some(Token::Quoted(q)) => format!("'{q}'"),
            Some(Token::Op(op)) => format!("`{}`", op_text(*op)),
            Some(Token::Open) => "`(`".into(),
            Some(Token::Close) => "`)`".into(),
            Some(Token::Comma) => "`,`".into(),
        }
    }

    fn or(&mut self) -> Result<Expr, ExprError> {
        let mut left = self.and()?;
        while self.keyword("or") {
            self.at += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, ExprError> {
        let mut left = self.not()?;
        while self.keyword("and") {
            self.at += 1;
            left = Expr::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, ExprError> {
        if self.keyword("not") {
            self.at += 1;
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, ExprError> {
        match self.peek() {
            Some(Token::Open) => {
                self.at += 1;
                let inner = self.or()?;
                if self.peek() != Some(&Token::Close) {
                    return self.error(format!("expected `)`, found {}", self.found()));
                }
                self.at += 1;
                Ok(inner)
            }
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("true") => {
                self.at += 1;
                Ok(Expr::True)
            }
            Some(Token::Word(w)) => {
                let name = w.to_ascii_lowercase();
                let Some((_, field)) = Field::ALL.iter().find(|(n, _)| *n == name) else {
                    let names: Vec<&str> = Field::ALL.iter().map(|(n, _)| *n).collect();
                    return self.error(format!("unknown field `{w}`: one of {}", names.join(", ")));
                };
                let field = *field;
                self.at += 1;
                self.comparison(field)
            }
            _ => self.error(format!(
                "expected a field (severity, kind, dimension, tag, source, schema, asset, owner), `not`, `(` or `true`, found {}",
                self.found()
            )),
        }
    }

    fn comparison(&mut self, field: Field) -> Result<Expr, ExprError> {
        let op_column = self.column();
        let op = match self.peek() {
            Some(Token::Op(op)) => *op,
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("in") => Op::In,
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("like") => Op::Like,
            _ => {
                return self.error(format!(
                    "expected an operator (=, !=, in, like …), found {}",
                    self.found()
                ));
            }
        };
        if matches!(op, Op::Lt | Op::Le | Op::Gt | Op::Ge) && field != Field::Severity {
            return Err(ExprError {
                column: op_column,
                message: format!("`{}` compares severities only", op_text(op)),
            });
        }
        self.at += 1;
        let values = if op == Op::In {
            if self.peek() != Some(&Token::Open) {
                return self.error(format!("expected `(` after `in`, found {}", self.found()));
            }
            self.at += 1;
            let mut values = vec![self.value(field)?];
            while self.peek() == Some(&Token::Comma) {
                self.at += 1;
                values.push(self.value(field)?);
            }
            if self.peek() != Some(&Token::Close) {
                return self.error(format!("expected `,` or `)`, found {}", self.found()));
            }
            self.at += 1;
            values
        } else {
            vec![self.value(field)?]
        };
        Ok(Expr::Compare { field, op, values })
    }

    fn value(&mut self, field: Field) -> Result<String, ExprError> {
        let column = self.column();
        let value = match self.peek() {
            Some(Token::Word(w)) => w.clone(),
            Some(Token::Quoted(q)) => q.clone(),
            _ => return self.error(format!("expected a value, found {}", self.found())),
        };
        let known: Option<Vec<&str>> = match field {
            Field::Severity => Some(vec!["low", "medium", "high", "critical"]),
            Field::Kind => Some(super::kinds::ALL.to_vec()),
            Field::Dimension => Some(DIMENSIONS.to_vec()),
            _ => None,
        };
        if let Some(known) = known
            && !known.contains(&value.as_str())
        {
            let name = Field::ALL
                .iter()
                .find(|(_, f)| *f == field)
                .map(|(n, _)| *n)
                .unwrap_or("");
            return Err(ExprError {
                column,
                message: format!("unknown {name} {value:?}: one of {}", known.join(", ")),
            });
        }
        self.at += 1;
        Ok(value)
    }
}

fn op_text(op: Op) -> &'static str {
    match op {
        Op::Eq => "=",
        Op::Ne => "!=",
        Op::Lt => "<",
        Op::Le => "<=",
        Op::Gt => ">",
        Op::Ge => ">=",
        Op::In => "in",
        Op::Like => "like",
    }
}

/// Parses `text`; an empty text is `true` (the rule matches every incident).
pub fn parse(text: &str) -> Result<Expr, ExprError> {
    let tokens = tokenize(text)?;
    if tokens.is_empty() {
        return Ok(Expr::True);
    }
    let mut parser = Parser {
        tokens,
        at: 0,
        end: text.chars().count() + 1,
    };
    let expr = parser.or()?;
    if parser.at < parser.tokens.len() {
        return parser.error(format!(
            "expected `and`, `or` or the end, found {}",
            parser.found()
        ));
    }
    Ok(expr)
}

/// `*` matches any run of characters, the rest itself (case-insensitive).
fn like(pattern: &str, value: &str) -> bool {
    let pattern = pattern.to_lowercase();
    let value = value.to_lowercase();
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == value;
    }
    let mut rest = value.as_str();
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(after) = rest.strip_prefix(part) else {
                return false;
            };
            rest = after;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            let Some(found) = rest.find(part) else {
                return false;
            };
            rest = &rest[found + part.len()..];
        }
    }
    true
}

impl Expr {
    /// Whether the expression holds for `attributes`.
    pub fn eval(&self, attributes: &Attributes) -> bool {
        match self {
            Expr::True => true,
            Expr::Not(inner) => !inner.eval(attributes),
            Expr::And(a, b) => a.eval(attributes) && b.eval(attributes),
            Expr::Or(a, b) => a.eval(attributes) || b.eval(attributes),
            Expr::Compare { field, op, values } => {
                if *field == Field::Severity {
                    let Some(severity) = attributes.severity else {
                        return false;
                    };
                    let wanted: Vec<Severity> = values.iter().filter_map(|v| Severity::parse(v)).collect();
                    let first = wanted.first().copied().unwrap_or(Severity::Low);
                    return match op {
                        Op::Eq | Op::Like => severity == first,
                        Op::Ne => severity != first,
                        Op::Lt => severity < first,
                        Op::Le => severity <= first,
                        Op::Gt => severity > first,
                        Op::Ge => severity >= first,
                        Op::In => wanted.contains(&severity),
                    };
                }
                let held: Vec<&str> = match field {
                    Field::Kind => vec![attributes.kind.as_str()],
                    Field::Dimension => attributes.dimensions.iter().map(String::as_str).collect(),
                    Field::Tag => attributes.tags.iter().map(String::as_str).collect(),
                    Field::Owner => attributes.owners.iter().map(String::as_str).collect(),
                    Field::Source => attributes.source.iter().map(String::as_str).collect(),
                    Field::Schema => attributes.schema.iter().map(String::as_str).collect(),
                    Field::Asset => attributes.asset.iter().map(String::as_str).collect(),
                    Field::Severity => Vec::new(),
                };
                let equals = |value: &str| held.iter().any(|h| h.eq_ignore_ascii_case(value));
                match op {
                    Op::Eq => equals(&values[0]),
                    Op::Ne => !equals(&values[0]),
                    Op::In => values.iter().any(|v| equals(v)),
                    Op::Like => held.iter().any(|h| like(&values[0], h)),
                    // Refused by the parser for fields other than severity.
                    Op::Lt | Op::Le | Op::Gt | Op::Ge => false,
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn incident() -> Attributes {
        Attributes {
            severity: Some(Severity::High),
            kind: "check_failed".into(),
            dimensions: vec!["completeness".into()],
            tags: vec!["finance".into(), "pii".into()],
            source: Some("warehouse".into()),
            schema: Some("analytics".into()),
            asset: Some("analytics.orders".into()),
            owners: vec!["team-payments".into()],
        }
    }

    fn holds(text: &str) -> bool {
        parse(text).unwrap().eval(&incident())
    }

    #[test]
    fn expressions_evaluate_over_the_incident() {
        assert!(holds(""));
        assert!(holds("true"));
        assert!(holds("severity >= high"));
        assert!(!holds("severity > high"));
        assert!(holds("severity in (critical, high)"));
        assert!(!holds("severity = critical"));
        assert!(holds("tag = finance and source = 'warehouse'"));
        assert!(holds("tag = pii"));
        assert!(!holds("tag != pii"));
        assert!(holds("tag != marketing"));
        assert!(holds(
            "severity = critical or (tag = finance and not kind = schema_change)"
        ));
        assert!(!holds("not (tag = finance)"));
        assert!(holds("asset like 'analytics.*'"));
        assert!(holds("asset like '*.ord*'"));
        assert!(!holds("asset like 'staging.*'"));
        assert!(holds(
            "dimension in (completeness, validity) AND owner = team-payments"
        ));
        assert!(holds("kind = check_failed and schema = analytics"));
        // `and` binds tighter than `or`.
        assert!(holds("severity = critical and tag = nothing or tag = finance"));
        assert!(!holds("severity = critical and (tag = nothing or tag = finance)"));
        // A missing attribute holds no equality.
        let tenant_level = Attributes {
            severity: Some(Severity::Critical),
            kind: "sla_breach".into(),
            ..Attributes::default()
        };
        assert!(!parse("asset like '*'").unwrap().eval(&tenant_level));
        assert!(parse("asset != 'x.y'").unwrap().eval(&tenant_level));
    }

    #[test]
    fn mistakes_are_named_at_their_column() {
        let error = |text: &str| parse(text).unwrap_err();
        let e = error("severity >= hihg");
        assert_eq!(e.column, 13);
        assert!(e.message.contains("unknown severity \"hihg\""), "{e}");
        let e = error("tags = finance");
        assert_eq!(e.column, 1);
        assert!(e.message.contains("unknown field `tags`"), "{e}");
        let e = error("tag > finance");
        assert_eq!(e.column, 5);
        assert!(e.message.contains("compares severities only"), "{e}");
        let e = error("severity = high and");
        assert_eq!(e.column, 20);
        assert!(e.message.contains("found the end"), "{e}");
        let e = error("(tag = a");
        assert!(e.message.contains("expected `)`"), "{e}");
        let e = error("tag = 'a");
        assert_eq!(e.column, 7);
        let e = error("kind = check_fail");
        assert!(e.message.contains("check_failed"), "{e}");
        let e = error("tag = a tag = b");
        assert_eq!(e.column, 9);
        assert!(e.to_string().starts_with("at column 9: expected `and`"), "{e}");
        let e = error("dimension in (completeness; validity)");
        assert!(e.message.contains("unexpected character ';'"), "{e}");
    }
}
