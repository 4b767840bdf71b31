//! Column references inside an expression.
//!
//! The walk is iterative (an explicit stack), so a long chain such as `a + b + c + ...` cannot
//! overflow the call stack. Nested queries are reported, not entered: the statement analyzer
//! analyzes them in their own scope.

use std::rc::Rc;

use sqlparser::ast::{
    AccessExpr, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArgumentClause, FunctionArguments,
    Ident, InTarget, JsonPathElem, ObjectName, Query, Subscript, WindowFrameBound, WindowSpec, WindowType,
};

use super::names::{ident_name, object_name_parts};

/// Something an expression reads.
#[derive(Debug)]
pub(super) enum Found<'a> {
    /// A column reference; `qualifier` is the canonical dotted prefix (`alias`, `schema.table`).
    Column {
        qualifier: Option<String>,
        name: String,
        aggregate: bool,
        /// Written as one unqualified backtick-quoted name (`` `col` ``).
        bare_backtick: bool,
    },
    /// A nested query (scalar subquery, `IN (SELECT ...)`, `EXISTS (...)`).
    Query { query: &'a Query, aggregate: bool },
}

/// Functions whose result summarises many rows.
const AGGREGATE_FUNCTIONS: &[&str] = &[
    "any_value",
    "approx_count_distinct",
    "approx_distinct",
    "approx_percentile",
    "approx_top_k",
    "arg_max",
    "arg_min",
    "array_agg",
    "avg",
    "bit_and",
    "bit_or",
    "bit_xor",
    "bool_and",
    "bool_or",
    "collect_list",
    "collect_set",
    "corr",
    "count",
    "count_if",
    "countif",
    "covar_pop",
    "covar_samp",
    "every",
    "group_concat",
    "json_agg",
    "json_object_agg",
    "jsonb_agg",
    "listagg",
    "max",
    "max_by",
    "median",
    "min",
    "min_by",
    "mode",
    "object_agg",
    "percentile",
    "percentile_approx",
    "percentile_cont",
    "percentile_disc",
    "stddev",
    "stddev_pop",
    "stddev_samp",
    "string_agg",
    "sum",
    "var_pop",
    "var_samp",
    "variance",
    "xmlagg",
];

/// Functions that take a bare date part (`DATEADD(day, 1, col)`), which is not a column.
const DATE_PART_FUNCTIONS: &[&str] = &[
    "date_add",
    "date_diff",
    "date_part",
    "date_sub",
    "date_trunc",
    "dateadd",
    "datediff",
    "datename",
    "datepart",
    "datetime_add",
    "datetime_diff",
    "datetime_sub",
    "datetime_trunc",
    "last_day",
    "time_slice",
    "timestamp_add",
    "timestamp_diff",
    "timestamp_sub",
    "timestamp_trunc",
    "timestampadd",
    "timestampdiff",
    "trunc",
];

const DATE_PARTS: &[&str] = &[
    "century",
    "d",
    "day",
    "dayofmonth",
    "dayofweek",
    "dayofyear",
    "days",
    "dd",
    "decade",
    "dow",
    "doy",
    "dw",
    "dy",
    "epoch",
    "h",
    "hh",
    "hour",
    "hours",
    "isodow",
    "isoweek",
    "isoyear",
    "m",
    "mcs",
    "mi",
    "microsecond",
    "microseconds",
    "millennium",
    "millisecond",
    "milliseconds",
    "mins",
    "minute",
    "minutes",
    "mm",
    "mon",
    "month",
    "months",
    "ms",
    "n",
    "nanosecond",
    "nanoseconds",
    "ns",
    "q",
    "qq",
    "quarter",
    "s",
    "second",
    "seconds",
    "ss",
    "us",
    "w",
    "week",
    "weekday",
    "weeks",
    "wk",
    "ww",
    "y",
    "year",
    "years",
    "yy",
    "yyyy",
];

/// Unqualified words that read like identifiers but name a value of the session, not a column.
const NILADIC_WORDS: &[&str] = &[
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "localtime",
    "localtimestamp",
    "session_user",
    "sysdate",
    "systimestamp",
];

fn last_name_part(name: &ObjectName) -> String {
    object_name_parts(name).pop().unwrap_or_default()
}

fn is_date_part_argument(function_name: &str, expr: &Expr) -> bool {
    if !DATE_PART_FUNCTIONS.contains(&function_name) {
        return false;
    }
    match expr {
        Expr::Identifier(ident) => {
            ident.quote_style.is_none() && DATE_PARTS.contains(&ident.value.to_lowercase().as_str())
        }
        _ => false,
    }
}

/// Column reference `(qualifier, name)` of an identifier chain.
pub(super) fn column_of_idents(idents: &[Ident]) -> Option<(Option<String>, String)> {
    let (last, prefix) = idents.split_last()?;
    let qualifier = (!prefix.is_empty()).then(|| prefix.iter().map(ident_name).collect::<Vec<_>>().join("."));
    Some((qualifier, ident_name(last)))
}

/// The column an expression is, when it is nothing but a column reference (possibly in
/// parentheses): `(qualifier, name)`.
pub(super) fn plain_column(expr: &Expr) -> Option<(Option<String>, String)> {
    match expr {
        Expr::Identifier(ident) => column_of_idents(std::slice::from_ref(ident)),
        Expr::CompoundIdentifier(idents) => column_of_idents(idents),
        Expr::CompoundFieldAccess { root, access_chain } => {
            let mut idents: Vec<Ident> = Vec::new();
            match root.as_ref() {
                Expr::Identifier(ident) => idents.push(ident.clone()),
                Expr::CompoundIdentifier(parts) => idents.extend(parts.iter().cloned()),
                _ => return None,
            }
            for access in access_chain {
                match access {
                    AccessExpr::Dot(Expr::Identifier(ident)) => idents.push(ident.clone()),
                    _ => return None,
                }
            }
            column_of_idents(&idents)
        }
        Expr::Nested(inner) => plain_column(inner),
        _ => None,
    }
}

#[derive(Clone, Default)]
struct Context {
    aggregate: bool,
    /// Names bound by enclosing lambda functions (`x -> x + 1`).
    lambda_params: Option<Rc<Vec<String>>>,
}

impl Context {
    fn binds(&self, name: &str) -> bool {
        self.lambda_params
            .as_ref()
            .is_some_and(|params| params.iter().any(|param| param == name))
    }
}

/// Collects what `root` reads, in source order.
pub(super) fn collect<'a>(root: &'a Expr, out: &mut Vec<Found<'a>>) {
    collect_with(root, Context::default(), out);
}

/// Collects what a function call reads (used for table functions in FROM).
pub(super) fn collect_function_args<'a>(args: &'a [FunctionArg], out: &mut Vec<Found<'a>>) {
    let mut stack: Vec<(&'a Expr, Context)> = Vec::new();
    for arg in args.iter().rev() {
        push_function_arg(arg, &Context::default(), &mut stack, out);
    }
    drain(stack, out);
}

fn collect_with<'a>(root: &'a Expr, context: Context, out: &mut Vec<Found<'a>>) {
    drain(vec![(root, context)], out);
}

fn push_function_arg<'a>(
    arg: &'a FunctionArg,
    context: &Context,
    stack: &mut Vec<(&'a Expr, Context)>,
    out: &mut Vec<Found<'a>>,
) {
    let arg_expr = match arg {
        FunctionArg::Named { arg, .. } | FunctionArg::Unnamed(arg) => arg,
        FunctionArg::ExprNamed { arg, .. } => arg,
    };
    match arg_expr {
        FunctionArgExpr::Expr(expr) => stack.push((expr, context.clone())),
        FunctionArgExpr::QualifiedWildcard(name) => out.push(Found::Column {
            qualifier: Some(object_name_parts(name).join(".")),
            name: "*".to_string(),
            aggregate: context.aggregate,
            bare_backtick: false,
        }),
        FunctionArgExpr::Wildcard | FunctionArgExpr::WildcardWithOptions(_) => {
            out.push(Found::Column {
                qualifier: None,
                name: "*".to_string(),
                aggregate: context.aggregate,
                bare_backtick: false,
            });
        }
    }
}

fn push_window<'a>(spec: &'a WindowSpec, context: &Context, stack: &mut Vec<(&'a Expr, Context)>) {
    let mut pending: Vec<&'a Expr> = spec.partition_by.iter().collect();
    pending.extend(spec.order_by.iter().map(|order| &order.expr));
    if let Some(frame) = &spec.window_frame {
        for bound in std::iter::once(&frame.start_bound).chain(frame.end_bound.as_ref()) {
            if let WindowFrameBound::Preceding(Some(expr)) | WindowFrameBound::Following(Some(expr)) = bound {
                pending.push(expr);
            }
        }
    }
    for expr in pending.into_iter().rev() {
        stack.push((expr, context.clone()));
    }
}

fn push_function<'a>(
    function: &'a Function,
    context: &Context,
    stack: &mut Vec<(&'a Expr, Context)>,
    out: &mut Vec<Found<'a>>,
) {
    let name = last_name_part(&function.name);
    let inner = Context {
        aggregate: context.aggregate || AGGREGATE_FUNCTIONS.contains(&name.as_str()),
        lambda_params: context.lambda_params.clone(),
    };
    // Pushed in reverse so the stack pops them in source order.
    if let Some(WindowType::WindowSpec(spec)) = &function.over {
        push_window(spec, context, stack);
    }
    if let Some(filter) = &function.filter {
        stack.push((filter, inner.clone()));
    }
    for order in function.within_group.iter().rev() {
        stack.push((&order.expr, inner.clone()));
    }
    for arguments in [&function.args, &function.parameters] {
        match arguments {
            FunctionArguments::None => {}
            FunctionArguments::Subquery(query) => {
                // Reported before the other arguments; order inside one call matters little.
                out.push(Found::Query {
                    query,
                    aggregate: inner.aggregate,
                });
            }
            FunctionArguments::List(list) => {
                for clause in list.clauses.iter().rev() {
                    match clause {
                        FunctionArgumentClause::OrderBy(orders) => {
                            for order in orders.iter().rev() {
                                stack.push((&order.expr, inner.clone()));
                            }
                        }
                        FunctionArgumentClause::Where(expr) | FunctionArgumentClause::Limit(expr) => {
                            stack.push((expr, inner.clone()));
                        }
                        _ => {}
                    }
                }
                for arg in list.args.iter().rev() {
                    if let FunctionArg::Unnamed(FunctionArgExpr::Expr(expr)) = arg
                        && is_date_part_argument(&name, expr)
                    {
                        continue;
                    }
                    push_function_arg(arg, &inner, stack, out);
                }
            }
        }
    }
}

fn drain<'a>(mut stack: Vec<(&'a Expr, Context)>, out: &mut Vec<Found<'a>>) {
    while let Some((expr, context)) = stack.pop() {
        let mut children: Vec<&'a Expr> = Vec::new();
        match expr {
            Expr::Identifier(ident) => {
                let name = ident_name(ident);
                let niladic = ident.quote_style.is_none() && NILADIC_WORDS.contains(&name.as_str());
                let variable = ident.quote_style.is_none()
                    && (name.starts_with('@') || name.starts_with(':') || name.starts_with('$'));
                if !niladic && !variable && !context.binds(&name) {
                    out.push(Found::Column {
                        qualifier: None,
                        name,
                        aggregate: context.aggregate,
                        bare_backtick: ident.quote_style == Some('`'),
                    });
                }
            }
            Expr::CompoundIdentifier(idents) => {
                let bound = idents
                    .first()
                    .is_some_and(|first| context.binds(&ident_name(first)));
                if !bound && let Some((qualifier, name)) = column_of_idents(idents) {
                    out.push(Found::Column {
                        qualifier,
                        name,
                        aggregate: context.aggregate,
                        bare_backtick: false,
                    });
                }
            }
            Expr::CompoundFieldAccess { root, access_chain } => {
                if let Some((qualifier, name)) = plain_column(expr) {
                    if !context.binds(qualifier.as_deref().unwrap_or(&name)) {
                        out.push(Found::Column {
                            qualifier,
                            name,
                            aggregate: context.aggregate,
                            bare_backtick: false,
                        });
                    }
                } else {
                    children.push(root);
                    for access in access_chain {
                        match access {
                            AccessExpr::Dot(_) => {}
                            AccessExpr::Subscript(Subscript::Index { index }) => children.push(index),
                            AccessExpr::Subscript(Subscript::Slice {
                                lower_bound,
                                upper_bound,
                                stride,
                            }) => children.extend([lower_bound, upper_bound, stride].into_iter().flatten()),
                        }
                    }
                }
            }
            Expr::JsonAccess { value, path } => {
                children.push(value);
                for element in &path.path {
                    if let JsonPathElem::Bracket { key } | JsonPathElem::ColonBracket { key } = element {
                        children.push(key);
                    }
                }
            }
            Expr::IsFalse(inner)
            | Expr::IsNotFalse(inner)
            | Expr::IsTrue(inner)
            | Expr::IsNotTrue(inner)
            | Expr::IsNull(inner)
            | Expr::IsNotNull(inner)
            | Expr::IsUnknown(inner)
            | Expr::IsNotUnknown(inner)
            | Expr::Nested(inner)
            | Expr::OuterJoin(inner)
            | Expr::Prior(inner)
            | Expr::UnaryOp { expr: inner, .. }
            | Expr::Ceil { expr: inner, .. }
            | Expr::Floor { expr: inner, .. }
            | Expr::Collate { expr: inner, .. }
            | Expr::Extract { expr: inner, .. }
            | Expr::Cast { expr: inner, .. }
            | Expr::Named { expr: inner, .. }
            | Expr::Prefixed { value: inner, .. }
            | Expr::IsJson { expr: inner, .. }
            | Expr::IsNormalized { expr: inner, .. } => children.push(inner),
            Expr::IsDistinctFrom(left, right)
            | Expr::IsNotDistinctFrom(left, right)
            | Expr::BinaryOp { left, right, .. }
            | Expr::AnyOp { left, right, .. }
            | Expr::AllOp { left, right, .. }
            | Expr::AtTimeZone {
                timestamp: left,
                time_zone: right,
            }
            | Expr::Position {
                expr: left,
                r#in: right,
            }
            | Expr::RLike {
                expr: left,
                pattern: right,
                ..
            } => {
                children.push(left);
                children.push(right);
            }
            Expr::Like {
                expr,
                pattern,
                escape_char,
                ..
            }
            | Expr::ILike {
                expr,
                pattern,
                escape_char,
                ..
            }
            | Expr::SimilarTo {
                expr,
                pattern,
                escape_char,
                ..
            } => {
                children.push(expr);
                children.push(pattern);
                if let Some(escape) = escape_char {
                    children.push(escape);
                }
            }
            Expr::In { expr, target, .. } => {
                children.push(expr);
                match target {
                    InTarget::List(list) => children.extend(list.iter()),
                    InTarget::Subquery(query) => out.push(Found::Query {
                        query,
                        aggregate: context.aggregate,
                    }),
                    InTarget::Unnest(array) => children.push(array),
                    InTarget::Table { .. } => {}
                }
            }
            Expr::Between { expr, low, high, .. } => {
                children.push(expr);
                children.push(low);
                children.push(high);
            }
            Expr::Convert { expr, styles, .. } => {
                children.push(expr);
                children.extend(styles.iter());
            }
            Expr::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                children.push(expr);
                children.extend(substring_from.iter().map(AsRef::as_ref));
                children.extend(substring_for.iter().map(AsRef::as_ref));
            }
            Expr::Trim {
                expr,
                trim_what,
                trim_characters,
                ..
            } => {
                children.extend(trim_what.iter().map(AsRef::as_ref));
                children.push(expr);
                children.extend(trim_characters.iter().flatten());
            }
            Expr::Overlay {
                expr,
                overlay_what,
                overlay_from,
                overlay_for,
            } => {
                children.push(expr);
                children.push(overlay_what);
                children.push(overlay_from);
                children.extend(overlay_for.iter().map(AsRef::as_ref));
            }
            Expr::Value(_) | Expr::TypedString(_) => {}
            Expr::Function(function) => push_function(function, &context, &mut stack, out),
            Expr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                children.extend(operand.iter().map(AsRef::as_ref));
                for when in conditions {
                    children.push(&when.condition);
                    children.push(&when.result);
                }
                children.extend(else_result.iter().map(AsRef::as_ref));
            }
            Expr::Exists { subquery, .. } | Expr::Subquery(subquery) => out.push(Found::Query {
                query: subquery,
                aggregate: context.aggregate,
            }),
            Expr::GroupingSets(sets) | Expr::Cube(sets) | Expr::Rollup(sets) => {
                children.extend(sets.iter().flatten());
            }
            Expr::Tuple(values) | Expr::Struct { values, .. } => children.extend(values.iter()),
            Expr::Dictionary(fields) => children.extend(fields.iter().map(|field| &*field.value)),
            Expr::Map(map) => {
                for entry in &map.entries {
                    children.push(&entry.key);
                    children.push(&entry.value);
                }
            }
            Expr::Array(array) => children.extend(array.elem.iter()),
            Expr::Interval(interval) => children.push(&interval.value),
            Expr::MatchAgainst { columns, .. } => {
                for column in columns {
                    let parts = object_name_parts(column);
                    if let Some((name, prefix)) = parts.split_last() {
                        out.push(Found::Column {
                            qualifier: (!prefix.is_empty()).then(|| prefix.join(".")),
                            name: name.clone(),
                            aggregate: context.aggregate,
                            bare_backtick: false,
                        });
                    }
                }
            }
            Expr::Wildcard(_) => out.push(Found::Column {
                qualifier: None,
                name: "*".to_string(),
                aggregate: context.aggregate,
                bare_backtick: false,
            }),
            Expr::QualifiedWildcard(name, _) => out.push(Found::Column {
                qualifier: Some(object_name_parts(name).join(".")),
                name: "*".to_string(),
                aggregate: context.aggregate,
                bare_backtick: false,
            }),
            Expr::Lambda(lambda) => {
                let mut params: Vec<String> = context
                    .lambda_params
                    .as_ref()
                    .map(|params| params.as_ref().clone())
                    .unwrap_or_default();
                params.extend(lambda.params.iter().map(|param| ident_name(&param.name)));
                stack.push((
                    &lambda.body,
                    Context {
                        aggregate: context.aggregate,
                        lambda_params: Some(Rc::new(params)),
                    },
                ));
            }
            Expr::MemberOf(member) => {
                children.push(&member.value);
                children.push(&member.array);
            }
        }
        for child in children.into_iter().rev() {
            stack.push((child, context.clone()));
        }
    }
}
