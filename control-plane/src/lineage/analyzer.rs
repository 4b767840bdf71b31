//! Lineage of one statement: which datasets it reads and writes, and which columns feed which.
//!
//! Queries are analyzed with a *target* (the table an INSERT/CREATE writes, or the subquery/CTE
//! a nested query defines). Every select item becomes a column of the target, fed by the columns
//! its expression reads, resolved through the FROM clause of its own SELECT. Subqueries and CTEs
//! are nodes of their own, so column paths run through them; the script graph later reports
//! only first-source to final-target pairs.
//!
//! The rules follow the lineage contract's reference engine (sqllineage) closely, including its
//! scoping: each query level is a *scope* that sees the datasets read and the columns produced
//! by itself and its nested subqueries, but not by sibling CTEs, whose bodies are analyzed after
//! the query that uses them. That is why `SELECT * FROM cte` keeps a `cte.*` wildcard while
//! `SELECT * FROM (subquery)` expands to the subquery's columns.

use sqlparser::ast::{
    AlterTableOperation, AssignmentTarget, BinaryOperator, CopyIntoSnowflakeKind, CopySource, CopyTarget,
    CreateTableLikeKind, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Insert, MergeAction,
    MergeInsertKind, MergeUpdateKind, ObjectName, ObjectNamePart, ObjectType, Query, RenameTableNameKind,
    Select, SelectItem, SelectItemQualifiedWildcardKind, SetExpr, Statement, TableFactor, TableObject,
    TableWithJoins, UpdateTableFromKind, Value, With,
};
use sqlparser::tokenizer::TokenWithSpan;

use super::EdgeKind;
use super::dialects::Quirks;
use super::expr::{self, Found};
use super::graph::{ColumnNode, KnownColumns, Parent, ScriptGraph, StatementLineage};
use super::names::{Dataset, TableName, escape_raw_name, file_path_of, ident_name, object_name_parts};
use super::source_text::{SourceText, select_item_texts};

/// Name scope: CTEs visible here and the relations of enclosing SELECTs (for correlated
/// references).
struct Env<'p> {
    ctes: Vec<(String, usize)>,
    relations: Vec<Relation>,
    parent: Option<&'p Env<'p>>,
}

impl<'p> Env<'p> {
    fn root() -> Env<'static> {
        Env {
            ctes: Vec::new(),
            relations: Vec::new(),
            parent: None,
        }
    }

    fn child(parent: &'p Env<'p>) -> Self {
        Env {
            ctes: Vec::new(),
            relations: Vec::new(),
            parent: Some(parent),
        }
    }

    fn find_cte(&self, name: &str) -> Option<usize> {
        let mut scope = Some(self);
        while let Some(env) = scope {
            if let Some((_, id)) = env.ctes.iter().rev().find(|(cte, _)| cte == name) {
                return Some(*id);
            }
            scope = env.parent;
        }
        None
    }

    fn find_relation(&self, qualifier: &str) -> Option<Parent> {
        let mut scope = Some(self);
        while let Some(env) = scope {
            if let Some(parent) = lookup_qualifier(&env.relations, qualifier) {
                return Some(parent);
            }
            scope = env.parent;
        }
        None
    }
}

/// A FROM-clause entry columns can be attributed to (a table, a subquery or a CTE; file paths
/// are read but never own columns).
#[derive(Debug, Clone)]
struct Relation {
    parent: Parent,
    alias: String,
    table: Option<TableName>,
}

/// Finds the relation a qualifier names: `schema.table`, then the bare table name, then an
/// alias.
fn lookup_qualifier(relations: &[Relation], qualifier: &str) -> Option<Parent> {
    let by_qualified = relations.iter().find(|relation| {
        relation
            .table
            .as_ref()
            .is_some_and(|table| table.to_string() == qualifier)
    });
    let by_name = || {
        relations.iter().find(|relation| {
            relation
                .table
                .as_ref()
                .is_some_and(|table| table.name == qualifier)
        })
    };
    let by_alias = || relations.iter().find(|relation| relation.alias == qualifier);
    by_qualified
        .or_else(by_name)
        .or_else(by_alias)
        .map(|relation| relation.parent.clone())
}

/// Distinct parents of a FROM clause, sorted.
fn distinct_parents(relations: &[Relation]) -> Vec<Parent> {
    let mut parents: Vec<Parent> = relations.iter().map(|r| r.parent.clone()).collect();
    parents.sort();
    parents.dedup();
    parents
}

/// What one query level sees: what it and its nested subqueries read, and the columns known
/// to exist per parent (in the order they appeared).
#[derive(Default)]
struct Scope {
    reads: Vec<Parent>,
    known: KnownColumns,
}

/// Columns of a query target as the mapping rules see them.
#[derive(Default)]
struct TargetState {
    /// Columns the target has so far: declared by the statement, then fed by earlier items.
    write_columns: Vec<String>,
    /// Target columns that received lineage, in order (the query's output for a scalar
    /// subquery).
    fed_columns: Vec<String>,
    /// Every source feeding `target.*`.
    star_sources: Vec<ColumnNode>,
    /// The target is also read by the query: no positional mapping, no wildcard expansion.
    target_is_read: bool,
}

/// One select item ready to be emitted: its target names and resolved sources.
struct PreparedItem {
    names: Vec<String>,
    sources: Vec<(ColumnNode, EdgeKind)>,
}

/// Analyzes statements against the script graph (which hands out subquery ids).
pub(super) struct Analyzer<'a, 't> {
    graph: &'a mut ScriptGraph,
    source: &'a SourceText<'t>,
    tokens: &'a [TokenWithSpan],
    out: StatementLineage,
    scopes: Vec<Scope>,
    quirks: Quirks,
}

/// Analyzes one parsed statement; control blocks yield one result per inner statement, while a
/// stored procedure counts as one statement (all it reads feeds all it writes).
pub(super) fn analyze_statement(
    statement: &Statement,
    graph: &mut ScriptGraph,
    source: &SourceText<'_>,
    tokens: &[TokenWithSpan],
    quirks: Quirks,
) -> Vec<StatementLineage> {
    let mut results = analyze_each(statement, graph, source, tokens, quirks);
    if matches!(statement, Statement::CreateProcedure { .. }) && results.len() > 1 {
        let mut combined = StatementLineage::default();
        for result in results.drain(..) {
            combined.absorb(result);
        }
        results.push(combined);
    }
    results
}

fn analyze_each(
    statement: &Statement,
    graph: &mut ScriptGraph,
    source: &SourceText<'_>,
    tokens: &[TokenWithSpan],
    quirks: Quirks,
) -> Vec<StatementLineage> {
    let mut results = Vec::new();
    for inner in flatten_statements(statement) {
        let mut analyzer = Analyzer {
            graph,
            source,
            tokens,
            out: StatementLineage::default(),
            scopes: vec![Scope::default()],
            quirks,
        };
        analyzer.statement(inner, &Env::root());
        if !analyzer.out.is_empty() {
            results.push(analyzer.out);
        }
    }
    results
}

/// The statement itself, or the statements inside a procedure, function or control block.
fn flatten_statements(statement: &Statement) -> Vec<&Statement> {
    use sqlparser::ast::{
        ConditionalStatementBlock, ConditionalStatements, CreateFunctionBody, CreateProcedureBody,
    };

    fn block_statements(statements: &ConditionalStatements) -> &[Statement] {
        match statements {
            ConditionalStatements::Sequence { statements } => statements,
            ConditionalStatements::BeginEnd(block) => &block.statements,
        }
    }
    fn blocks<'s>(blocks: impl Iterator<Item = &'s ConditionalStatementBlock>) -> Vec<&'s Statement> {
        blocks
            .flat_map(|block| block_statements(&block.conditional_statements).iter())
            .collect()
    }

    let mut result = Vec::new();
    let mut stack = vec![statement];
    while let Some(current) = stack.pop() {
        let children: Vec<&Statement> = match current {
            Statement::CreateProcedure { body, .. } => match body {
                CreateProcedureBody::As(statements) => block_statements(statements).iter().collect(),
                CreateProcedureBody::BeginAtomic(block) => block.statements.iter().collect(),
            },
            Statement::CreateFunction(function) => match &function.function_body {
                Some(CreateFunctionBody::AsBeginEnd(block) | CreateFunctionBody::BeginAtomic(block)) => {
                    block.statements.iter().collect()
                }
                _ => Vec::new(),
            },
            Statement::If(statement) => blocks(
                std::iter::once(&statement.if_block)
                    .chain(statement.elseif_blocks.iter())
                    .chain(statement.else_block.iter()),
            ),
            Statement::While(statement) => blocks(std::iter::once(&statement.while_block)),
            Statement::Case(statement) => {
                blocks(statement.when_blocks.iter().chain(statement.else_block.iter()))
            }
            _ => {
                result.push(current);
                continue;
            }
        };
        stack.extend(children.into_iter().rev());
    }
    result
}

fn table_of_expr(expr: &Expr) -> Option<TableName> {
    match expr {
        Expr::Identifier(ident) => TableName::from_parts(&[ident_name(ident)]),
        Expr::CompoundIdentifier(idents) => {
            TableName::from_parts(&idents.iter().map(ident_name).collect::<Vec<_>>())
        }
        _ => None,
    }
}

fn string_literal(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Value(value) => match &value.value {
            Value::SingleQuotedString(text) | Value::DoubleQuotedString(text) => Some(text.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// The first SELECT of a query body (the one a `SELECT ... INTO` would sit on).
fn first_select(body: &SetExpr) -> Option<&Select> {
    let mut current = body;
    loop {
        match current {
            SetExpr::Select(select) => return Some(select),
            SetExpr::Query(query) => current = &query.body,
            SetExpr::SetOperation { left, .. } => current = left,
            _ => return None,
        }
    }
}

/// Whether a query is only a VALUES list (no dataset involved).
fn is_values_query(query: &Query) -> bool {
    let mut current = query.body.as_ref();
    loop {
        match current {
            SetExpr::Values(_) => return true,
            SetExpr::Query(inner) => current = &inner.body,
            _ => return false,
        }
    }
}

/// Leaves of a set operation, left to right (nested parentheses without their own WITH are
/// flattened).
fn set_branches(body: &SetExpr) -> Vec<&SetExpr> {
    let mut branches = Vec::new();
    let mut stack = vec![body];
    while let Some(current) = stack.pop() {
        match current {
            SetExpr::SetOperation { left, right, .. } => {
                stack.push(right);
                stack.push(left);
            }
            // Parentheses around a branch without its own WITH do not open a new level.
            SetExpr::Query(query) if query.with.is_none() => stack.push(&query.body),
            _ => branches.push(current),
        }
    }
    branches
}

/// The first column a MERGE value reads directly: the value itself, or the first operand of a
/// flat chain of binary operators (`src.k + 1`).
fn first_direct_column(expr: &Expr) -> Option<String> {
    let mut operands: Vec<&Expr> = Vec::new();
    let mut stack = vec![expr];
    while let Some(current) = stack.pop() {
        match current {
            Expr::BinaryOp { left, right, op } if !matches!(op, BinaryOperator::Custom(_)) => {
                stack.push(right);
                stack.push(left);
            }
            other => operands.push(other),
        }
    }
    operands.into_iter().find_map(bare_column_name)
}

/// Name of a column reference written bare (not in parentheses).
fn bare_column_name(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Nested(_) => None,
        other => expr::plain_column(other).map(|(_, name)| name),
    }
}

impl Analyzer<'_, '_> {
    // ---------------------------------------------------------------- scopes and recording

    fn scope(&mut self) -> &mut Scope {
        if self.scopes.is_empty() {
            self.scopes.push(Scope::default());
        }
        let last = self.scopes.len() - 1;
        &mut self.scopes[last]
    }

    fn push_scope(&mut self) {
        self.scopes.push(Scope::default());
    }

    /// Closes a query level; what it saw becomes visible to the enclosing level.
    fn pop_scope(&mut self) {
        if self.scopes.len() < 2 {
            return;
        }
        let Some(child) = self.scopes.pop() else {
            return;
        };
        let parent = self.scope();
        for read in child.reads {
            if !parent.reads.contains(&read) {
                parent.reads.push(read);
            }
        }
        parent.known.absorb(child.known);
    }

    fn is_read(&mut self, parent: &Parent) -> bool {
        self.scope().reads.contains(parent)
    }

    /// Records a relation as read; datasets also become reads of the statement.
    fn record_read(&mut self, parent: &Parent) {
        if let Parent::Dataset(dataset) = parent {
            self.out.reads.insert(dataset.clone());
        }
        let scope = self.scope();
        if !scope.reads.contains(parent) {
            scope.reads.push(parent.clone());
        }
    }

    fn read(&mut self, dataset: Dataset) {
        self.record_read(&Parent::Dataset(dataset));
    }

    fn write(&mut self, dataset: Dataset) {
        self.out.writes.insert(dataset);
    }

    fn add_edge(&mut self, source: ColumnNode, target: ColumnNode, kind: EdgeKind) {
        let scope = self.scope();
        if let ColumnNode::Resolved { parent, name } = &source {
            scope.known.insert(parent, name);
        }
        if let ColumnNode::Resolved { parent, name } = &target {
            scope.known.insert(parent, name);
        }
        self.out.column_edges.push((source, target, kind));
    }

    /// Records columns a DDL/DML statement declares for a table.
    fn declare_columns(&mut self, parent: &Parent, names: &[String]) {
        for name in names {
            self.scope().known.insert(parent, name);
            self.out.known_columns.push((parent.clone(), name.clone()));
        }
    }

    /// Known columns of a parent in the current scope, without `*`.
    fn scope_columns(&mut self, parent: &Parent) -> Vec<String> {
        self.scope()
            .known
            .of(parent)
            .iter()
            .filter(|name| name.as_str() != "*")
            .cloned()
            .collect()
    }

    /// Canonical name of a table as written, with the dialect's naming rules.
    fn table_name(&self, name: &ObjectName) -> Option<TableName> {
        let mut table = TableName::from_object_name(name)?;
        if self.quirks.lowercase_single_quoted_tables {
            let spans: Vec<_> = name
                .0
                .iter()
                .map(|part| match part {
                    ObjectNamePart::Identifier(ident) => Some((ident.span, ident.quote_style.is_some())),
                    ObjectNamePart::Function(_) => None,
                })
                .collect();
            let single_quoted_token = spans.iter().all(|part| part.is_some_and(|(_, quoted)| quoted))
                && spans
                    .windows(2)
                    .all(|pair| pair[0].map(|p| p.0) == pair[1].map(|p| p.0));
            if single_quoted_token {
                table.name = table.name.to_lowercase();
            }
        }
        Some(table)
    }

    // ---------------------------------------------------------------- statements

    fn statement(&mut self, statement: &Statement, env: &Env<'_>) {
        match statement {
            Statement::Query(query) => self.top_query(query, env),
            Statement::Insert(insert) => self.insert(insert, env),
            Statement::CreateTable(create) => self.create_table(create, env),
            Statement::CreateView(view) => {
                let columns: Vec<String> = view
                    .columns
                    .iter()
                    .map(|column| ident_name(&column.name))
                    .collect();
                self.create_from_query(&view.name, &columns, Some(&view.query), env);
            }
            Statement::Update(update) => self.update(update, env),
            Statement::Merge(merge) => self.merge(merge, env),
            Statement::Directory { path, source, .. } => {
                let target = Dataset::Path(path.clone());
                self.write(target.clone());
                self.query(source, Some(&Parent::Dataset(target)), &[], env);
            }
            Statement::Copy {
                source, to, target, ..
            } => self.copy(source, *to, target, env),
            Statement::CopyIntoSnowflake {
                kind,
                into,
                from_obj,
                stage_params,
                from_query,
                ..
            } => self.copy_into_snowflake(
                kind,
                into,
                from_obj.as_ref(),
                stage_params.url.as_ref(),
                env,
                from_query.as_deref(),
            ),
            Statement::Unload {
                query,
                query_text,
                to,
                ..
            } => {
                if let Some(query) = query {
                    self.query(query, None, &[], env);
                } else if let Some(text) = query_text {
                    self.unload_text(text, env);
                }
                self.write(Dataset::Path(to.value.clone()));
            }
            Statement::Drop {
                object_type, names, ..
            } => {
                if matches!(
                    object_type,
                    ObjectType::Table | ObjectType::View | ObjectType::MaterializedView
                ) {
                    let dropped = names
                        .iter()
                        .filter_map(|name| self.table_name(name))
                        .map(Dataset::Table)
                        .collect::<Vec<_>>();
                    self.out.drops.extend(dropped);
                }
            }
            Statement::AlterTable(alter) => self.alter_table(alter),
            Statement::RenameTable(renames) => {
                for rename in renames {
                    if let (Some(old), Some(new)) = (
                        self.table_name(&rename.old_name),
                        self.table_name(&rename.new_name),
                    ) {
                        self.out.renames.push((Dataset::Table(old), Dataset::Table(new)));
                    }
                }
            }
            _ => {}
        }
    }

    /// `CREATE TABLE`: the table is written; `LIKE`/`CLONE` read the model table, `AS SELECT`
    /// feeds it (column definitions name its columns).
    fn create_table(&mut self, create: &sqlparser::ast::CreateTable, env: &Env<'_>) {
        if let Some(like) = &create.like {
            let (CreateTableLikeKind::Parenthesized(like) | CreateTableLikeKind::Plain(like)) = like;
            if let Some(source) = self.table_name(&like.name) {
                self.read(Dataset::Table(source));
            }
        }
        if let Some(clone) = &create.clone
            && let Some(source) = self.table_name(clone)
        {
            self.read(Dataset::Table(source));
        }
        let columns: Vec<String> = create
            .columns
            .iter()
            .map(|column| ident_name(&column.name))
            .collect();
        self.create_from_query(&create.name, &columns, create.query.as_deref(), env);
    }

    /// A table or view written by a DDL statement, optionally fed by a query.
    fn create_from_query(
        &mut self,
        name: &sqlparser::ast::ObjectName,
        columns: &[String],
        query: Option<&Query>,
        env: &Env<'_>,
    ) {
        let Some(table) = self.table_name(name) else {
            return;
        };
        let dataset = Dataset::Table(table);
        self.write(dataset.clone());
        let target = Parent::Dataset(dataset);
        self.declare_columns(&target, columns);
        if let Some(query) = query {
            self.query(query, Some(&target), columns, env);
        }
    }

    /// Snowflake `COPY INTO <table> FROM <stage|url|query>` and `COPY INTO <location> FROM ...`.
    fn copy_into_snowflake(
        &mut self,
        kind: &CopyIntoSnowflakeKind,
        into: &sqlparser::ast::ObjectName,
        from_obj: Option<&sqlparser::ast::ObjectName>,
        url: Option<&String>,
        env: &Env<'_>,
        from_query: Option<&Query>,
    ) {
        let as_dataset = |text: String| {
            if text.contains("://") || text.starts_with('@') || text.starts_with('\'') {
                Dataset::Path(text.trim_matches('\'').to_string())
            } else {
                Dataset::Table(TableName::from_dotted(&text))
            }
        };
        match kind {
            CopyIntoSnowflakeKind::Table => {
                if let Some(table) = self.table_name(into) {
                    self.write(Dataset::Table(table));
                }
                if let Some(from) = from_obj {
                    self.read(as_dataset(object_name_parts(from).join(".")));
                } else if let Some(url) = url {
                    self.read(Dataset::Path(url.clone()));
                }
            }
            CopyIntoSnowflakeKind::Location => {
                self.write(as_dataset(object_name_parts(into).join(".")));
                if let Some(table) = from_obj.and_then(|name| self.table_name(name)) {
                    self.read(Dataset::Table(table));
                }
            }
        }
        if let Some(query) = from_query {
            self.query(query, None, &[], env);
        }
    }

    /// `ALTER TABLE ... RENAME TO` (a rename) and Snowflake `ALTER TABLE ... SWAP WITH`.
    fn alter_table(&mut self, alter: &sqlparser::ast::AlterTable) {
        let Some(table) = self.table_name(&alter.name) else {
            return;
        };
        for operation in &alter.operations {
            match operation {
                AlterTableOperation::RenameTable { table_name } => {
                    let (RenameTableNameKind::As(new) | RenameTableNameKind::To(new)) = table_name;
                    if let Some(new) = self.table_name(new) {
                        self.out
                            .renames
                            .push((Dataset::Table(table.clone()), Dataset::Table(new)));
                    }
                }
                AlterTableOperation::SwapWith { table_name } => {
                    if let Some(other) = self.table_name(table_name) {
                        self.write(Dataset::Table(table.clone()));
                        self.read(Dataset::Table(other));
                    }
                }
                _ => {}
            }
        }
    }

    fn unload_text(&mut self, text: &str, env: &Env<'_>) {
        let dialect = sqlparser::dialect::GenericDialect;
        if let Ok(statements) = sqlparser::parser::Parser::parse_sql(&dialect, text) {
            // Positions inside the quoted text do not match the script, so no raw-text names.
            let saved = std::mem::take(&mut self.tokens);
            for statement in &statements {
                if let Statement::Query(query) = statement {
                    self.query(query, None, &[], env);
                }
            }
            self.tokens = saved;
        }
    }

    fn copy(&mut self, source: &CopySource, to: bool, target: &CopyTarget, env: &Env<'_>) {
        let path = match target {
            CopyTarget::File { filename } => Some(Dataset::Path(filename.clone())),
            _ => None,
        };
        match source {
            CopySource::Table { table_name, .. } => {
                let Some(table) = self.table_name(table_name) else {
                    return;
                };
                if to {
                    self.read(Dataset::Table(table));
                    if let Some(path) = path {
                        self.write(path);
                    }
                } else {
                    self.write(Dataset::Table(table));
                    if let Some(path) = path {
                        self.read(path);
                    }
                }
            }
            CopySource::Query(query) => {
                self.query(query, None, &[], env);
                if let Some(path) = path {
                    self.write(path);
                }
            }
        }
    }

    fn top_query(&mut self, query: &Query, env: &Env<'_>) {
        // `WITH ... INSERT/UPDATE/MERGE/DELETE`: the CTEs scope the inner statement.
        if let SetExpr::Insert(inner)
        | SetExpr::Update(inner)
        | SetExpr::Merge(inner)
        | SetExpr::Delete(inner) = query.body.as_ref()
        {
            let Some(with) = &query.with else {
                self.statement(inner, env);
                return;
            };
            let (scope, bodies) = self.register_ctes(with, env);
            self.statement(inner, &scope);
            self.analyze_cte_bodies(bodies, &scope);
            return;
        }
        let mut target = None;
        if let Some(select) = first_select(&query.body) {
            if let Some(into) = &select.into
                && let Some(table) = into.targets.first().and_then(table_of_expr)
            {
                let dataset = Dataset::Table(table);
                self.write(dataset.clone());
                target = Some(Parent::Dataset(dataset));
            }
            if self.swap_partitions(select) {
                return;
            }
        }
        self.query(query, target.as_ref(), &[], env);
    }

    /// Vertica `SELECT swap_partitions_between_tables('staging', min, max, 'target')`.
    fn swap_partitions(&mut self, select: &Select) -> bool {
        let Some(SelectItem::UnnamedExpr(Expr::Function(function))) = select.projection.first() else {
            return false;
        };
        let name = object_name_parts(&function.name).pop().unwrap_or_default();
        if name != "swap_partitions_between_tables" {
            return false;
        }
        let FunctionArguments::List(list) = &function.args else {
            return false;
        };
        let arg_text = |index: usize| match list.args.get(index) {
            Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(expr))) => {
                string_literal(expr).or_else(|| Some(expr.to_string().to_lowercase()))
            }
            _ => None,
        };
        let (Some(staging), Some(target)) = (arg_text(0), arg_text(3)) else {
            return false;
        };
        self.read(Dataset::Table(TableName::from_dotted(&staging)));
        self.write(Dataset::Table(TableName::from_dotted(&target)));
        true
    }

    /// `INSERT ALL|FIRST INTO t1 ... INTO t2 ... SELECT ...` (Oracle, Snowflake).
    fn multi_table_insert(&mut self, insert: &Insert, env: &Env<'_>) {
        let clauses: Vec<&sqlparser::ast::MultiTableInsertIntoClause> = insert
            .multi_table_into_clauses
            .iter()
            .chain(
                insert
                    .multi_table_when_clauses
                    .iter()
                    .flat_map(|when| when.into_clauses.iter()),
            )
            .chain(insert.multi_table_else_clause.iter().flatten())
            .collect();
        let source = insert.source.as_ref().map(|query| {
            let id = self.graph.new_subquery(None);
            let columns = self.query(query, Some(&Parent::SubQuery(id)), &[], env);
            (Parent::SubQuery(id), columns)
        });
        for clause in clauses {
            let Some(table) = self.table_name(&clause.table_name) else {
                continue;
            };
            let dataset = Dataset::Table(table);
            self.write(dataset.clone());
            let target = Parent::Dataset(dataset);
            let Some((parent, source_columns)) = &source else {
                continue;
            };
            let targets: Vec<String> = clause.columns.iter().map(ident_name).collect();
            let pairs: Vec<(String, String)> = match &clause.values {
                Some(values) => values
                    .values
                    .iter()
                    .zip(targets.iter())
                    .filter_map(|(value, target)| match value {
                        sqlparser::ast::MultiTableInsertValue::Expr(expr) => {
                            expr::plain_column(expr).map(|(_, name)| (name, target.clone()))
                        }
                        sqlparser::ast::MultiTableInsertValue::Default => None,
                    })
                    .collect(),
                None if targets.is_empty() => source_columns
                    .iter()
                    .map(|name| (name.clone(), name.clone()))
                    .collect(),
                None => source_columns
                    .iter()
                    .cloned()
                    .zip(targets.iter().cloned())
                    .collect(),
            };
            for (source_name, target_name) in pairs {
                self.add_edge(
                    ColumnNode::resolved(parent.clone(), source_name),
                    ColumnNode::resolved(target.clone(), target_name),
                    EdgeKind::Direct,
                );
            }
        }
    }

    fn insert(&mut self, insert: &Insert, env: &Env<'_>) {
        if !insert.multi_table_into_clauses.is_empty()
            || !insert.multi_table_when_clauses.is_empty()
            || insert.multi_table_else_clause.is_some()
        {
            self.multi_table_insert(insert, env);
            return;
        }
        let TableObject::TableName(name) = &insert.table else {
            if let Some(source) = &insert.source {
                self.query(source, None, &[], env);
            }
            return;
        };
        let Some(table) = self.table_name(name) else {
            return;
        };
        let dataset = Dataset::Table(table);
        self.write(dataset.clone());
        let target = Parent::Dataset(dataset);
        let columns: Vec<String> = insert
            .columns
            .iter()
            .filter_map(|column| object_name_parts(column).pop())
            .collect();
        self.declare_columns(&target, &columns);
        let Some(source) = &insert.source else {
            for assignment in &insert.assignments {
                self.read_nested(&assignment.value, env);
            }
            return;
        };
        if let SetExpr::Values(values) = source.body.as_ref() {
            // A scalar subquery among the values feeds the target like a SELECT would.
            let scope = Env::child(env);
            for row in &values.rows {
                for value in row.iter() {
                    let mut inner = value;
                    while let Expr::Nested(nested) = inner {
                        inner = nested;
                    }
                    match inner {
                        Expr::Subquery(query) => {
                            self.query(query, Some(&target), &columns, &scope);
                        }
                        other => self.read_nested(other, &scope),
                    }
                }
            }
            return;
        }
        self.query(source, Some(&target), &columns, env);
    }

    /// `UPDATE`: the target is the updated table (T-SQL may name it by a FROM alias); only
    /// `SET col = <column>` assignments carry column lineage, resolved through the FROM clause.
    fn update(&mut self, update: &sqlparser::ast::Update, env: &Env<'_>) {
        let TableFactor::Table { name, .. } = &update.table.relation else {
            return;
        };
        let Some(named_table) = self.table_name(name) else {
            return;
        };
        let mut reads: Vec<Relation> = Vec::new();
        let mut target: Option<TableName> = None;
        if !update.table.joins.is_empty() {
            // MySQL `UPDATE a JOIN b ... SET`: the first table is written, the joined ones read.
            target = Some(named_table.clone());
            for join in &update.table.joins {
                self.table_factor(&join.relation, env, &mut reads);
            }
        } else if name.0.len() > 1 {
            target = Some(named_table.clone());
        }
        if let Some(UpdateTableFromKind::BeforeSet(from) | UpdateTableFromKind::AfterSet(from)) = &update.from
        {
            for relation in self.relations_of_from(from, env) {
                let names_target =
                    target.is_none() && relation.table.is_some() && relation.alias == named_table.name;
                if names_target {
                    target = relation.table.clone();
                } else {
                    reads.push(relation);
                }
            }
        }
        let target_table = target.unwrap_or(named_table);
        for relation in &reads {
            self.record_read(&relation.parent);
        }
        let dataset = Dataset::Table(target_table);
        self.write(dataset.clone());
        let target = Parent::Dataset(dataset);
        for assignment in &update.assignments {
            let AssignmentTarget::ColumnName(column) = &assignment.target else {
                continue;
            };
            let Some(target_column) = object_name_parts(column).pop() else {
                continue;
            };
            let value = &assignment.value;
            let Some((qualifier, name)) = (!matches!(value, Expr::Nested(_)))
                .then(|| expr::plain_column(value))
                .flatten()
            else {
                continue;
            };
            for source in self.resolve(qualifier.as_deref(), &name, &reads, &Env::root()) {
                self.add_edge(
                    source,
                    ColumnNode::resolved(target.clone(), target_column.clone()),
                    EdgeKind::Direct,
                );
            }
        }
    }

    /// `MERGE`: every source column is attributed to the USING relation; `UPDATE SET col =
    /// <column>` and `INSERT (cols) VALUES (<columns>)` carry column lineage.
    fn merge(&mut self, merge: &sqlparser::ast::Merge, env: &Env<'_>) {
        let TableFactor::Table { name, .. } = &merge.table else {
            return;
        };
        let Some(table) = self.table_name(name) else {
            return;
        };
        let dataset = Dataset::Table(table);
        self.write(dataset.clone());
        let target = Parent::Dataset(dataset);
        let direct_source: Option<Parent> = match &merge.source {
            TableFactor::Table { name, .. } => self.table_name(name).map(|source| {
                let parent = Parent::Dataset(Dataset::Table(source));
                self.record_read(&parent);
                parent
            }),
            TableFactor::Derived { subquery, alias, .. } => {
                let alias_name = alias.as_ref().map(|alias| ident_name(&alias.name));
                let parent = Parent::SubQuery(self.graph.new_subquery(alias_name));
                self.record_read(&parent);
                self.query(subquery, Some(&parent), &[], env);
                Some(parent)
            }
            _ => None,
        };
        let source_column = |name: String| match &direct_source {
            Some(parent) => ColumnNode::resolved(parent.clone(), name),
            None => ColumnNode::Unresolved {
                name,
                candidates: Vec::new(),
            },
        };
        let mut edges = Vec::new();
        for clause in &merge.clauses {
            match &clause.action {
                MergeAction::Update(update) => {
                    let MergeUpdateKind::Set(assignments) = &update.kind else {
                        continue;
                    };
                    for assignment in assignments {
                        let AssignmentTarget::ColumnName(column) = &assignment.target else {
                            continue;
                        };
                        let source = bare_column_name(&assignment.value);
                        if let (Some(target_column), Some(name)) = (object_name_parts(column).pop(), source) {
                            edges.push((source_column(name), target_column));
                        }
                    }
                }
                MergeAction::Insert(insert) => {
                    let MergeInsertKind::Values(values) = &insert.kind else {
                        continue;
                    };
                    let columns: Vec<String> = insert
                        .columns
                        .iter()
                        .filter_map(|column| object_name_parts(column).pop())
                        .collect();
                    let Some(row) = values.rows.first() else {
                        continue;
                    };
                    for (value, target_column) in row.iter().zip(columns.iter()) {
                        if let Some(name) = first_direct_column(value) {
                            edges.push((source_column(name), target_column.clone()));
                        }
                    }
                }
                _ => {}
            }
        }
        for (source, target_column) in edges {
            self.add_edge(
                source,
                ColumnNode::resolved(target.clone(), target_column),
                EdgeKind::Direct,
            );
        }
    }

    // ---------------------------------------------------------------- queries

    /// Registers the CTEs of a WITH clause (all visible to each other and to the query) and
    /// returns the scope they define with the bodies still to analyze.
    fn register_ctes<'p, 'q>(
        &mut self,
        with: &'q With,
        env: &'p Env<'p>,
    ) -> (Env<'p>, Vec<(usize, &'q Query)>) {
        let mut scope = Env::child(env);
        let mut bodies = Vec::with_capacity(with.cte_tables.len());
        for cte in &with.cte_tables {
            let name = ident_name(&cte.alias.name);
            let id = self.graph.new_subquery(Some(name.clone()));
            scope.ctes.push((name, id));
            bodies.push((id, cte.query.as_ref()));
        }
        (scope, bodies)
    }

    /// Analyzes CTE bodies, each as its own query level, after the query that uses them.
    fn analyze_cte_bodies(&mut self, bodies: Vec<(usize, &Query)>, scope: &Env<'_>) {
        for (id, body) in bodies {
            self.query(body, Some(&Parent::SubQuery(id)), &[], scope);
        }
    }

    /// Analyzes a query feeding `target` (if any) as one query level; returns the target
    /// columns that received lineage, in order.
    fn query(
        &mut self,
        query: &Query,
        target: Option<&Parent>,
        write_columns: &[String],
        env: &Env<'_>,
    ) -> Vec<String> {
        self.push_scope();
        let columns = match &query.with {
            None => self.query_level(query, target, write_columns, env),
            Some(with) => {
                let (scope, bodies) = self.register_ctes(with, env);
                self.push_scope();
                let columns = self.query_level(query, target, write_columns, &scope);
                self.pop_scope();
                self.analyze_cte_bodies(bodies, &scope);
                columns
            }
        };
        self.pop_scope();
        columns
    }

    fn query_level(
        &mut self,
        query: &Query,
        target: Option<&Parent>,
        write_columns: &[String],
        env: &Env<'_>,
    ) -> Vec<String> {
        let columns = self.body(&query.body, target, write_columns, env);
        if let Some(order_by) = &query.order_by
            && let sqlparser::ast::OrderByKind::Expressions(orders) = &order_by.kind
        {
            for order in orders {
                self.read_nested(&order.expr, env);
            }
        }
        columns
    }

    /// One query level: every branch of a set operation is prepared (so all its reads are
    /// known), then emitted in order, then `target.*` is expanded where possible.
    fn body(
        &mut self,
        body: &SetExpr,
        target: Option<&Parent>,
        write_columns: &[String],
        env: &Env<'_>,
    ) -> Vec<String> {
        let mut prepared: Vec<Vec<PreparedItem>> = Vec::new();
        let mut fed_elsewhere: Vec<String> = Vec::new();
        for branch in set_branches(body) {
            match branch {
                SetExpr::Select(select) => prepared.push(self.prepare_select(select, env)),
                SetExpr::Table(table) => {
                    let Some(name) = &table.table_name else {
                        continue;
                    };
                    let mut parts: Vec<String> = table.schema_name.iter().map(ident_name).collect();
                    parts.push(ident_name(name));
                    if let Some(table) = TableName::from_parts(&parts) {
                        let parent = Parent::Dataset(Dataset::Table(table));
                        self.record_read(&parent);
                        prepared.push(vec![PreparedItem {
                            names: vec!["*".to_string()],
                            sources: vec![(ColumnNode::resolved(parent, "*"), EdgeKind::Direct)],
                        }]);
                    }
                }
                SetExpr::Values(values) => {
                    for row in &values.rows {
                        for value in row.iter() {
                            self.read_nested(value, env);
                        }
                    }
                }
                SetExpr::Query(query) => {
                    fed_elsewhere.extend(self.query(query, target, write_columns, env));
                }
                SetExpr::SetOperation { .. } => {}
                SetExpr::Insert(statement)
                | SetExpr::Update(statement)
                | SetExpr::Delete(statement)
                | SetExpr::Merge(statement) => self.statement(statement, env),
            }
        }
        let Some(target) = target else {
            return Vec::new();
        };
        // The statement's declared columns belong to the target at this level too.
        for name in write_columns {
            self.scope().known.insert(target, name);
        }
        let target_is_read = self.is_read(target);
        let mut state = TargetState {
            write_columns: if target_is_read {
                Vec::new()
            } else {
                write_columns.to_vec()
            },
            target_is_read,
            ..TargetState::default()
        };
        for items in prepared {
            self.emit_items(items, target, &mut state);
        }
        if !target_is_read {
            self.expand_wildcards(target, &mut state);
        }
        for column in fed_elsewhere {
            if !state.fed_columns.contains(&column) {
                state.fed_columns.push(column);
            }
        }
        state.fed_columns
    }

    /// Emits one SELECT's items into the target. An item with sources is renamed after the
    /// target's columns when the target has exactly as many columns as the SELECT has items
    /// (a DML column list, or the columns an earlier UNION branch fed).
    fn emit_items(&mut self, items: Vec<PreparedItem>, target: &Parent, state: &mut TargetState) {
        let item_count = items.len();
        for (index, item) in items.into_iter().enumerate() {
            if item.sources.is_empty() {
                continue;
            }
            let names = match state.write_columns.get(index) {
                Some(written) if state.write_columns.len() == item_count => vec![written.clone()],
                _ => item.names,
            };
            for name in names {
                for (source, kind) in &item.sources {
                    if name == "*" && !state.star_sources.contains(source) {
                        state.star_sources.push(source.clone());
                    }
                    self.add_edge(
                        source.clone(),
                        ColumnNode::resolved(target.clone(), name.clone()),
                        *kind,
                    );
                }
                if !state.target_is_read && !state.write_columns.contains(&name) {
                    state.write_columns.push(name.clone());
                }
                if !state.fed_columns.contains(&name) {
                    state.fed_columns.push(name);
                }
            }
        }
    }

    /// Reads of one SELECT (FROM, subqueries in WHERE and in the select list) and its items
    /// with resolved sources.
    fn prepare_select(&mut self, select: &Select, env: &Env<'_>) -> Vec<PreparedItem> {
        let relations = self.relations_of_from(&select.from, env);
        for relation in &relations {
            self.record_read(&relation.parent);
        }
        let scope = Env {
            ctes: Vec::new(),
            relations: relations.clone(),
            parent: Some(env),
        };
        for condition in [&select.selection, &select.prewhere].into_iter().flatten() {
            self.read_nested(condition, &scope);
        }
        let mut item_texts: Option<Option<Vec<String>>> = None;
        let mut items = Vec::with_capacity(select.projection.len());
        for (index, item) in select.projection.iter().enumerate() {
            let mut found: Vec<Found<'_>> = Vec::new();
            let (names, direct) = match item {
                SelectItem::UnnamedExpr(expr) => {
                    expr::collect(expr, &mut found);
                    let name = self.unaliased_item_name(expr, select, index, &mut item_texts);
                    (vec![name], expr::plain_column(expr).is_some())
                }
                SelectItem::ExprWithAlias { expr, alias } => {
                    expr::collect(expr, &mut found);
                    (vec![ident_name(alias)], expr::plain_column(expr).is_some())
                }
                SelectItem::ExprWithAliases { expr, aliases } => {
                    expr::collect(expr, &mut found);
                    (aliases.iter().map(ident_name).collect(), false)
                }
                SelectItem::Wildcard(_) => {
                    found.push(Found::Column {
                        qualifier: None,
                        name: "*".to_string(),
                        aggregate: false,
                        bare_backtick: false,
                    });
                    (vec!["*".to_string()], true)
                }
                SelectItem::QualifiedWildcard(kind, _) => {
                    match kind {
                        SelectItemQualifiedWildcardKind::ObjectName(name) => found.push(Found::Column {
                            qualifier: Some(object_name_parts(name).join(".")),
                            name: "*".to_string(),
                            aggregate: false,
                            bare_backtick: false,
                        }),
                        SelectItemQualifiedWildcardKind::Expr(expr) => expr::collect(expr, &mut found),
                    }
                    (vec!["*".to_string()], true)
                }
            };
            let sources = self.item_sources(found, direct, &relations, &scope);
            items.push(PreparedItem { names, sources });
        }
        for lateral in &select.lateral_views {
            self.read_nested(&lateral.lateral_view, &scope);
        }
        items
    }

    /// Source columns of one select item with the kind of each hop.
    fn item_sources(
        &mut self,
        found: Vec<Found<'_>>,
        direct: bool,
        relations: &[Relation],
        scope: &Env<'_>,
    ) -> Vec<(ColumnNode, EdgeKind)> {
        let mut sources: Vec<(ColumnNode, EdgeKind)> = Vec::new();
        for item in found {
            let resolved: Vec<(ColumnNode, EdgeKind)> = match item {
                Found::Column {
                    bare_backtick: true, ..
                } if self.quirks.backtick_names_are_not_columns => Vec::new(),
                Found::Column {
                    qualifier,
                    name,
                    aggregate,
                    ..
                } => {
                    let kind = if aggregate {
                        EdgeKind::Aggregate
                    } else if direct {
                        EdgeKind::Direct
                    } else {
                        EdgeKind::Expression
                    };
                    self.resolve(qualifier.as_deref(), &name, relations, scope)
                        .into_iter()
                        .map(|node| (node, kind))
                        .collect()
                }
                Found::Query { query, aggregate } => {
                    // A nested query feeds the item through its own output columns.
                    let parent = Parent::SubQuery(self.graph.new_subquery(None));
                    let columns = self.query(query, Some(&parent), &[], scope);
                    let kind = if aggregate {
                        EdgeKind::Aggregate
                    } else {
                        EdgeKind::Expression
                    };
                    columns
                        .into_iter()
                        .map(|column| (ColumnNode::resolved(parent.clone(), column), kind))
                        .collect()
                }
            };
            for (node, kind) in resolved {
                match sources.iter_mut().find(|(known, _)| known == &node) {
                    Some((_, existing)) => *existing = (*existing).min(kind),
                    None => sources.push((node, kind)),
                }
            }
        }
        sources
    }

    /// Relations of a FROM clause; nested queries are analyzed on the way. Reads are recorded
    /// by the caller. Join conditions carry no lineage (and, as in the reference rules, their
    /// subqueries are not read).
    fn relations_of_from(&mut self, from: &[TableWithJoins], env: &Env<'_>) -> Vec<Relation> {
        let mut relations = Vec::new();
        for table in from {
            self.table_with_joins(table, env, &mut relations);
        }
        relations
    }

    fn table_with_joins(&mut self, table: &TableWithJoins, env: &Env<'_>, relations: &mut Vec<Relation>) {
        self.table_factor(&table.relation, env, relations);
        for join in &table.joins {
            self.table_factor(&join.relation, env, relations);
        }
    }

    fn table_factor(&mut self, factor: &TableFactor, env: &Env<'_>, relations: &mut Vec<Relation>) {
        match factor {
            TableFactor::Table {
                name, alias, args, ..
            } => {
                if let Some(args) = args {
                    // A table-valued function: no dataset, but its arguments may read some.
                    let mut found = Vec::new();
                    expr::collect_function_args(&args.args, &mut found);
                    self.nested_queries(found, env);
                    return;
                }
                let alias = alias.as_ref().map(|alias| ident_name(&alias.name));
                let parts = object_name_parts(name);
                if let [single] = parts.as_slice()
                    && let Some(id) = env.find_cte(single)
                {
                    relations.push(Relation {
                        parent: Parent::SubQuery(id),
                        alias: alias.unwrap_or_else(|| single.clone()),
                        table: None,
                    });
                    return;
                }
                if let Some(path) = file_path_of(name) {
                    // A file path is read, but columns are never attributed to it.
                    self.read(Dataset::Path(path));
                    return;
                }
                if let Some(table) = self.table_name(name) {
                    relations.push(Relation {
                        parent: Parent::Dataset(Dataset::Table(table.clone())),
                        alias: alias.unwrap_or_else(|| table.name.clone()),
                        table: Some(table),
                    });
                }
            }
            TableFactor::Derived { subquery, alias, .. } => {
                if is_values_query(subquery) {
                    self.query(subquery, None, &[], env);
                    return;
                }
                let alias_name = alias.as_ref().map(|alias| ident_name(&alias.name));
                let columns: Vec<String> = alias
                    .as_ref()
                    .map(|alias| alias.columns.iter().map(|c| ident_name(&c.name)).collect())
                    .unwrap_or_default();
                let id = self.graph.new_subquery(alias_name.clone());
                self.query(subquery, Some(&Parent::SubQuery(id)), &columns, env);
                relations.push(Relation {
                    parent: Parent::SubQuery(id),
                    alias: alias_name.unwrap_or_else(|| format!("subquery_{id}")),
                    table: None,
                });
            }
            TableFactor::TableFunction { expr, .. } => self.read_nested(expr, env),
            TableFactor::Function { args, .. } => {
                let mut found = Vec::new();
                expr::collect_function_args(args, &mut found);
                self.nested_queries(found, env);
            }
            TableFactor::UNNEST { array_exprs, .. } => {
                for expr in array_exprs {
                    self.read_nested(expr, env);
                }
            }
            TableFactor::JsonTable { json_expr, .. } | TableFactor::OpenJsonTable { json_expr, .. } => {
                self.read_nested(json_expr, env);
            }
            TableFactor::NestedJoin { table_with_joins, .. } => {
                self.table_with_joins(table_with_joins, env, relations)
            }
            TableFactor::Pivot { table, .. }
            | TableFactor::Unpivot { table, .. }
            | TableFactor::MatchRecognize { table, .. } => self.table_factor(table, env, relations),
            _ => {}
        }
    }

    /// Analyzes the nested queries an expression holds, for the datasets they read.
    fn read_nested(&mut self, expr: &Expr, env: &Env<'_>) {
        let mut found = Vec::new();
        expr::collect(expr, &mut found);
        self.nested_queries(found, env);
    }

    fn nested_queries(&mut self, found: Vec<Found<'_>>, env: &Env<'_>) {
        for item in found {
            if let Found::Query { query, .. } = item {
                let id = self.graph.new_subquery(None);
                self.query(query, Some(&Parent::SubQuery(id)), &[], env);
            }
        }
    }

    /// Resolves a column reference against the relations of its SELECT.
    fn resolve(
        &self,
        qualifier: Option<&str>,
        name: &str,
        relations: &[Relation],
        env: &Env<'_>,
    ) -> Vec<ColumnNode> {
        match qualifier {
            None if name == "*" => distinct_parents(relations)
                .into_iter()
                .map(|parent| ColumnNode::resolved(parent, "*"))
                .collect(),
            None => {
                let mut parents = distinct_parents(relations);
                if parents.len() == 1
                    && let Some(parent) = parents.pop()
                {
                    vec![ColumnNode::resolved(parent, name)]
                } else {
                    vec![ColumnNode::Unresolved {
                        name: name.to_string(),
                        candidates: parents,
                    }]
                }
            }
            Some(qualifier) => {
                // `a.b.c`: the full prefix may name a table (`schema.table.col`); otherwise the
                // part right before the column is the qualifier (the contract's convention).
                let last = qualifier.rsplit('.').next().unwrap_or(qualifier);
                let parent = lookup_qualifier(relations, qualifier)
                    .or_else(|| env.find_relation(qualifier))
                    .or_else(|| {
                        (last != qualifier)
                            .then(|| lookup_qualifier(relations, last).or_else(|| env.find_relation(last)))
                            .flatten()
                    })
                    .unwrap_or_else(|| Parent::Dataset(Dataset::Table(TableName::from_dotted(last))));
                vec![ColumnNode::resolved(parent, name)]
            }
        }
    }

    /// Target column name of an unaliased select item: a bare column (or a Postgres-style
    /// `col::type`) keeps the column's name, anything else (even `(col)`) is named after its
    /// text as written.
    fn unaliased_item_name(
        &self,
        expr: &Expr,
        select: &Select,
        index: usize,
        item_texts: &mut Option<Option<Vec<String>>>,
    ) -> String {
        let bare_column = match expr {
            Expr::Nested(_) => None,
            Expr::Cast {
                kind: sqlparser::ast::CastKind::DoubleColon,
                expr: inner,
                ..
            } => expr::plain_column(inner),
            other => expr::plain_column(other),
        };
        if let Some((_, name)) = bare_column {
            return name;
        }
        let item_count = select.projection.len();
        let texts = item_texts.get_or_insert_with(|| {
            select_item_texts(self.source, self.tokens, select.select_token.0.span.start)
                .filter(|texts| texts.len() == item_count)
        });
        match texts.as_ref().and_then(|texts| texts.get(index)) {
            Some(text) if !text.is_empty() => escape_raw_name(text),
            // Text not recoverable (e.g. SQL rebuilt by a repair): the parser's rendering.
            _ => escape_raw_name(&expr.to_string()),
        }
    }

    /// Replaces `target.*` fed by a subquery's `*` with the subquery's known columns: by
    /// position when the target already has as many columns (or for a UNION of wildcards),
    /// else by name. A table target loses its `*` column then.
    fn expand_wildcards(&mut self, target: &Parent, state: &mut TargetState) {
        if !state.write_columns.iter().any(|name| name == "*") {
            return;
        }
        let star_sources = std::mem::take(&mut state.star_sources);
        let in_union = matches!(target, Parent::Dataset(Dataset::Table(_)))
            && state.write_columns.len() == 1
            && star_sources.len() > 1;
        let mut expanded = false;
        for source in &star_sources {
            let ColumnNode::Resolved {
                parent: parent @ Parent::SubQuery(_),
                ..
            } = source
            else {
                continue;
            };
            let source_columns = self.scope_columns(parent);
            if source_columns.is_empty() {
                continue;
            }
            let mut target_columns = self.scope_columns(target);
            let positional = in_union || target_columns.len() == source_columns.len();
            for (index, column) in source_columns.into_iter().enumerate() {
                let target_column = match target_columns.get(index) {
                    Some(existing) if positional => existing.clone(),
                    _ => {
                        if !target_columns.contains(&column) {
                            target_columns.push(column.clone());
                        }
                        column.clone()
                    }
                };
                self.add_edge(
                    ColumnNode::resolved(parent.clone(), column),
                    ColumnNode::resolved(target.clone(), target_column.clone()),
                    EdgeKind::Direct,
                );
                if !state.fed_columns.contains(&target_column) {
                    state.fed_columns.push(target_column);
                }
            }
            expanded = true;
        }
        if expanded && matches!(target, Parent::Dataset(_)) {
            let star = ColumnNode::resolved(target.clone(), "*");
            self.out.column_edges.retain(|(_, to, _)| to != &star);
            self.scope().known.remove(target, "*");
            state.fed_columns.retain(|name| name != "*");
        }
    }
}
