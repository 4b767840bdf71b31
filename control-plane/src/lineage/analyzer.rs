//! Lineage of one statement: which datasets it reads and writes, and which columns feed which.
//!
//! Queries are analyzed with a *target* (the table an INSERT/CREATE writes, or the subquery/CTE
//! a nested query defines). Every select item becomes a column of the target, fed by the columns
//! its expression reads, resolved through the FROM clause of its own SELECT. Subqueries and CTEs
//! are nodes of their own, so column paths run through them; the script graph later reports
//! only first-source to final-target pairs.

use sqlparser::ast::{
    AlterTableOperation, AssignmentTarget, CopyIntoSnowflakeKind, CopySource, CopyTarget,
    CreateTableLikeKind, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Insert, JoinConstraint,
    JoinOperator, MergeAction, MergeInsertKind, MergeUpdateKind, ObjectType, Query, RenameTableNameKind,
    Select, SelectItem, SelectItemQualifiedWildcardKind, SetExpr, Statement, TableFactor, TableObject,
    TableWithJoins, UpdateTableFromKind, Value, With,
};
use sqlparser::tokenizer::TokenWithSpan;

use super::EdgeKind;
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

/// A FROM-clause entry columns can be attributed to.
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

/// Columns of a query target that received lineage, and the wildcard sources feeding `*`.
#[derive(Default)]
struct TargetState {
    columns: Vec<String>,
    star_sources: Vec<ColumnNode>,
}

impl TargetState {
    fn add_column(&mut self, name: &str) {
        if !self.columns.iter().any(|known| known == name) {
            self.columns.push(name.to_string());
        }
    }
}

/// Analyzes statements against the script graph (which hands out subquery ids).
pub(super) struct Analyzer<'a, 't> {
    graph: &'a mut ScriptGraph,
    source: &'a SourceText<'t>,
    tokens: &'a [TokenWithSpan],
    out: StatementLineage,
    known: KnownColumns,
}

/// Analyzes one parsed statement; procedural blocks yield one result per inner statement.
pub(super) fn analyze_statement(
    statement: &Statement,
    graph: &mut ScriptGraph,
    source: &SourceText<'_>,
    tokens: &[TokenWithSpan],
) -> Vec<StatementLineage> {
    let mut results = Vec::new();
    for inner in flatten_statements(statement) {
        let mut analyzer = Analyzer {
            graph,
            source,
            tokens,
            out: StatementLineage::default(),
            known: KnownColumns::default(),
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
            SetExpr::Query(query)
                if query.with.is_none() && matches!(query.body.as_ref(), SetExpr::SetOperation { .. }) =>
            {
                stack.push(&query.body);
            }
            _ => branches.push(current),
        }
    }
    branches
}

impl Analyzer<'_, '_> {
    fn read(&mut self, dataset: Dataset) {
        self.out.reads.insert(dataset);
    }

    fn write(&mut self, dataset: Dataset) {
        self.out.writes.insert(dataset);
    }

    fn add_edge(&mut self, source: ColumnNode, target: ColumnNode, kind: EdgeKind) {
        if let ColumnNode::Resolved { parent, name } = &source {
            self.known.insert(parent, name);
        }
        if let ColumnNode::Resolved { parent, name } = &target {
            self.known.insert(parent, name);
        }
        self.out.column_edges.push((source, target, kind));
    }

    /// Records columns a DDL/DML statement declares for a table.
    fn declare_columns(&mut self, parent: &Parent, names: &[String]) {
        for name in names {
            self.known.insert(parent, name);
            self.out.known_columns.push((parent.clone(), name.clone()));
        }
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
                        .filter_map(TableName::from_object_name)
                        .map(Dataset::Table);
                    self.out.drops.extend(dropped);
                }
            }
            Statement::AlterTable(alter) => self.alter_table(alter),
            Statement::RenameTable(renames) => {
                for rename in renames {
                    if let (Some(old), Some(new)) = (
                        TableName::from_object_name(&rename.old_name),
                        TableName::from_object_name(&rename.new_name),
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
            if let Some(source) = TableName::from_object_name(&like.name) {
                self.read(Dataset::Table(source));
            }
        }
        if let Some(clone) = &create.clone
            && let Some(source) = TableName::from_object_name(clone)
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
        let Some(table) = TableName::from_object_name(name) else {
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
                if let Some(table) = TableName::from_object_name(into) {
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
                if let Some(table) = from_obj.and_then(TableName::from_object_name) {
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
        let Some(table) = TableName::from_object_name(&alter.name) else {
            return;
        };
        for operation in &alter.operations {
            match operation {
                AlterTableOperation::RenameTable { table_name } => {
                    let (RenameTableNameKind::As(new) | RenameTableNameKind::To(new)) = table_name;
                    if let Some(new) = TableName::from_object_name(new) {
                        self.out
                            .renames
                            .push((Dataset::Table(table.clone()), Dataset::Table(new)));
                    }
                }
                AlterTableOperation::SwapWith { table_name } => {
                    if let Some(other) = TableName::from_object_name(table_name) {
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
                let Some(table) = TableName::from_object_name(table_name) else {
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
            let scope = self.cte_scope(query.with.as_ref(), env);
            self.statement(inner, &scope);
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
            let Some(table) = TableName::from_object_name(&clause.table_name) else {
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
        let Some(table) = TableName::from_object_name(name) else {
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
            let scope = self.cte_scope(source.with.as_ref(), env);
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

    fn update(&mut self, update: &sqlparser::ast::Update, env: &Env<'_>) {
        let TableFactor::Table { name, alias, .. } = &update.table.relation else {
            return;
        };
        let Some(mut target_table) = TableName::from_object_name(name) else {
            return;
        };
        let target_alias = alias.as_ref().map(|alias| ident_name(&alias.name));
        let mut relations = Vec::new();
        for join in &update.table.joins {
            self.table_factor(&join.relation, env, &mut relations);
        }
        if let Some(UpdateTableFromKind::BeforeSet(from) | UpdateTableFromKind::AfterSet(from)) = &update.from
        {
            relations.extend(self.relations_of_from(from, env));
        }
        // T-SQL `UPDATE t SET ... FROM tab1 t`: the target is named by a FROM alias.
        let mut target_relation = None;
        if target_alias.is_none() && target_table.schema == super::names::DEFAULT_SCHEMA {
            target_relation = relations.iter().position(|relation| {
                relation.alias == target_table.name
                    && relation
                        .table
                        .as_ref()
                        .is_some_and(|table| table.name != relation.alias)
            });
            if let Some(table) = target_relation
                .and_then(|index| relations.get(index))
                .and_then(|relation| relation.table.clone())
            {
                target_table = table;
            }
        }
        for (index, relation) in relations.iter().enumerate() {
            if Some(index) == target_relation {
                continue;
            }
            if let Parent::Dataset(dataset) = &relation.parent {
                self.out.reads.insert(dataset.clone());
            }
        }
        let dataset = Dataset::Table(target_table.clone());
        self.write(dataset.clone());
        let target = Parent::Dataset(dataset);
        // Without a FROM clause the only relation is the updated table itself.
        let relations = if relations.is_empty() {
            vec![Relation {
                parent: target.clone(),
                alias: target_alias.unwrap_or_else(|| target_table.name.clone()),
                table: Some(target_table),
            }]
        } else {
            relations
        };
        for assignment in &update.assignments {
            let AssignmentTarget::ColumnName(column) = &assignment.target else {
                continue;
            };
            let Some(target_column) = object_name_parts(column).pop() else {
                continue;
            };
            let Some((qualifier, name)) = expr::plain_column(&assignment.value) else {
                continue;
            };
            for source in self.resolve(qualifier.as_deref(), &name, &relations, env) {
                self.add_edge(
                    source,
                    ColumnNode::resolved(target.clone(), target_column.clone()),
                    EdgeKind::Direct,
                );
            }
        }
    }

    fn merge(&mut self, merge: &sqlparser::ast::Merge, env: &Env<'_>) {
        let TableFactor::Table { name, .. } = &merge.table else {
            return;
        };
        let Some(table) = TableName::from_object_name(name) else {
            return;
        };
        let dataset = Dataset::Table(table);
        self.write(dataset.clone());
        let target = Parent::Dataset(dataset);
        let mut relations = Vec::new();
        self.table_factor(&merge.source, env, &mut relations);
        for relation in &relations {
            if let Parent::Dataset(dataset) = &relation.parent {
                self.out.reads.insert(dataset.clone());
            }
        }
        // Every source column of a MERGE comes from the USING relation.
        let Some(direct_source) = relations.first().map(|relation| relation.parent.clone()) else {
            return;
        };
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
                        let (Some(target_column), Some((_, source_column))) = (
                            object_name_parts(column).pop(),
                            expr::plain_column(&assignment.value),
                        ) else {
                            continue;
                        };
                        self.add_edge(
                            ColumnNode::resolved(direct_source.clone(), source_column),
                            ColumnNode::resolved(target.clone(), target_column),
                            EdgeKind::Direct,
                        );
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
                        if let Some((_, source_column)) = expr::plain_column(value) {
                            self.add_edge(
                                ColumnNode::resolved(direct_source.clone(), source_column),
                                ColumnNode::resolved(target.clone(), target_column.clone()),
                                EdgeKind::Direct,
                            );
                        }
                    }
                }
                _ => {}
            }
        }
    }

    // ---------------------------------------------------------------- queries

    /// Analyzes the CTEs of a WITH clause and returns the scope they define.
    fn cte_scope<'p>(&mut self, with: Option<&With>, env: &'p Env<'p>) -> Env<'p> {
        let mut scope = Env::child(env);
        let Some(with) = with else {
            return scope;
        };
        for cte in &with.cte_tables {
            let name = ident_name(&cte.alias.name);
            let id = self.graph.new_subquery(Some(name.clone()));
            let recursive = with.recursive || matches!(cte.query.body.as_ref(), SetExpr::SetOperation { .. });
            if recursive {
                scope.ctes.push((name.clone(), id));
            }
            let columns: Vec<String> = cte
                .alias
                .columns
                .iter()
                .map(|column| ident_name(&column.name))
                .collect();
            self.query(&cte.query, Some(&Parent::SubQuery(id)), &columns, &scope);
            if !recursive {
                scope.ctes.push((name, id));
            }
        }
        scope
    }

    /// Analyzes a query feeding `target` (if any); returns the target columns that received
    /// lineage, in order.
    fn query(
        &mut self,
        query: &Query,
        target: Option<&Parent>,
        write_columns: &[String],
        env: &Env<'_>,
    ) -> Vec<String> {
        let scope = self.cte_scope(query.with.as_ref(), env);
        let columns = self.body(&query.body, target, write_columns, &scope);
        if let Some(order_by) = &query.order_by
            && let sqlparser::ast::OrderByKind::Expressions(orders) = &order_by.kind
        {
            for order in orders {
                self.read_nested(&order.expr, &scope);
            }
        }
        columns
    }

    fn body(
        &mut self,
        body: &SetExpr,
        target: Option<&Parent>,
        write_columns: &[String],
        env: &Env<'_>,
    ) -> Vec<String> {
        let mut state = TargetState::default();
        match body {
            SetExpr::SetOperation { .. } => {
                for (index, branch) in set_branches(body).into_iter().enumerate() {
                    let names: Vec<String> = if index == 0 || !write_columns.is_empty() {
                        write_columns.to_vec()
                    } else {
                        state.columns.clone()
                    };
                    self.branch(branch, target, &names, env, &mut state);
                }
            }
            other => self.branch(other, target, write_columns, env, &mut state),
        }
        self.expand_wildcards(target, &mut state);
        state.columns
    }

    fn branch(
        &mut self,
        body: &SetExpr,
        target: Option<&Parent>,
        write_columns: &[String],
        env: &Env<'_>,
        state: &mut TargetState,
    ) {
        match body {
            SetExpr::Select(select) => self.select(select, target, write_columns, env, state),
            SetExpr::Query(query) => {
                for column in self.query(query, target, write_columns, env) {
                    state.add_column(&column);
                }
            }
            SetExpr::SetOperation { .. } => {
                for column in self.body(body, target, write_columns, env) {
                    state.add_column(&column);
                }
            }
            SetExpr::Values(values) => {
                for row in &values.rows {
                    for value in row.iter() {
                        self.read_nested(value, env);
                    }
                }
            }
            SetExpr::Insert(statement)
            | SetExpr::Update(statement)
            | SetExpr::Delete(statement)
            | SetExpr::Merge(statement) => self.statement(statement, env),
            SetExpr::Table(table) => {
                let Some(name) = &table.table_name else {
                    return;
                };
                let mut parts: Vec<String> = Vec::new();
                if let Some(schema) = &table.schema_name {
                    parts.push(ident_name(schema));
                }
                parts.push(ident_name(name));
                if let Some(table) = TableName::from_parts(&parts) {
                    let dataset = Dataset::Table(table);
                    self.read(dataset.clone());
                    if let Some(target) = target {
                        let source = ColumnNode::resolved(Parent::Dataset(dataset), "*");
                        self.emit(source.clone(), target, "*", EdgeKind::Direct, state);
                        state.star_sources.push(source);
                    }
                }
            }
        }
    }

    fn emit(
        &mut self,
        source: ColumnNode,
        target: &Parent,
        name: &str,
        kind: EdgeKind,
        state: &mut TargetState,
    ) {
        self.add_edge(source, ColumnNode::resolved(target.clone(), name), kind);
        state.add_column(name);
    }

    /// Relations of a FROM clause; nested queries are analyzed on the way. Datasets are not
    /// recorded as reads here (the caller decides).
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
            let constraint = match &join.join_operator {
                JoinOperator::Join(c)
                | JoinOperator::Inner(c)
                | JoinOperator::Left(c)
                | JoinOperator::LeftOuter(c)
                | JoinOperator::Right(c)
                | JoinOperator::RightOuter(c)
                | JoinOperator::FullOuter(c)
                | JoinOperator::CrossJoin(c)
                | JoinOperator::Semi(c)
                | JoinOperator::LeftSemi(c)
                | JoinOperator::RightSemi(c)
                | JoinOperator::Anti(c)
                | JoinOperator::LeftAnti(c)
                | JoinOperator::RightAnti(c)
                | JoinOperator::StraightJoin(c)
                | JoinOperator::AsOf { constraint: c, .. } => Some(c),
                _ => None,
            };
            if let Some(JoinConstraint::On(condition)) = constraint {
                self.read_nested(condition, env);
            }
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
                    relations.push(Relation {
                        parent: Parent::Dataset(Dataset::Path(path)),
                        alias: alias.unwrap_or_default(),
                        table: None,
                    });
                    return;
                }
                if let Some(table) = TableName::from_parts(&parts) {
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

    fn select(
        &mut self,
        select: &Select,
        target: Option<&Parent>,
        write_columns: &[String],
        env: &Env<'_>,
        state: &mut TargetState,
    ) {
        let relations = self.relations_of_from(&select.from, env);
        for relation in &relations {
            if let Parent::Dataset(dataset) = &relation.parent {
                self.out.reads.insert(dataset.clone());
            }
        }
        let scope = Env {
            ctes: Vec::new(),
            relations: relations.clone(),
            parent: Some(env),
        };
        for lateral in &select.lateral_views {
            self.read_nested(&lateral.lateral_view, &scope);
        }

        let item_count = select.projection.len();
        let use_write_columns = write_columns.len() == item_count;
        let mut item_texts: Option<Option<Vec<String>>> = None;
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
                    });
                    (vec!["*".to_string()], true)
                }
                SelectItem::QualifiedWildcard(kind, _) => {
                    match kind {
                        SelectItemQualifiedWildcardKind::ObjectName(name) => found.push(Found::Column {
                            qualifier: Some(object_name_parts(name).join(".")),
                            name: "*".to_string(),
                            aggregate: false,
                        }),
                        SelectItemQualifiedWildcardKind::Expr(expr) => expr::collect(expr, &mut found),
                    }
                    (vec!["*".to_string()], true)
                }
            };
            let sources = self.item_sources(found, direct, &relations, &scope);
            let Some(target) = target else {
                continue;
            };
            for name in names {
                let target_name = match write_columns.get(index) {
                    Some(written) if use_write_columns && name != "*" => written.clone(),
                    _ => name,
                };
                for (source, kind) in &sources {
                    let subquery_star = matches!(
                        source,
                        ColumnNode::Resolved { parent: Parent::SubQuery(_), name } if name == "*"
                    );
                    if target_name == "*" && subquery_star {
                        state.star_sources.push(source.clone());
                    }
                    self.emit(source.clone(), target, &target_name, *kind, state);
                }
            }
        }

        for condition in [
            &select.selection,
            &select.having,
            &select.qualify,
            &select.prewhere,
        ]
        .into_iter()
        .flatten()
        {
            self.read_nested(condition, &scope);
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

    /// Source columns of one select item with the kind of each hop.
    fn item_sources(
        &mut self,
        found: Vec<Found<'_>>,
        direct: bool,
        relations: &[Relation],
        scope: &Env<'_>,
    ) -> Vec<(ColumnNode, EdgeKind)> {
        let mut sources = Vec::new();
        for item in found {
            match item {
                Found::Column {
                    qualifier,
                    name,
                    aggregate,
                } => {
                    let kind = if aggregate {
                        EdgeKind::Aggregate
                    } else if direct {
                        EdgeKind::Direct
                    } else {
                        EdgeKind::Expression
                    };
                    for node in self.resolve(qualifier.as_deref(), &name, relations, scope) {
                        sources.push((node, kind));
                    }
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
                    for column in columns {
                        sources.push((ColumnNode::resolved(parent.clone(), column), kind));
                    }
                }
            }
        }
        sources
    }

    /// Replaces `target.*` fed by a subquery's `*` with the subquery's known columns.
    fn expand_wildcards(&mut self, target: Option<&Parent>, state: &mut TargetState) {
        let Some(target) = target else {
            return;
        };
        let mut expanded = false;
        for source in std::mem::take(&mut state.star_sources) {
            let ColumnNode::Resolved {
                parent: parent @ Parent::SubQuery(_),
                ..
            } = &source
            else {
                continue;
            };
            let columns: Vec<String> = self
                .known
                .of(parent)
                .iter()
                .filter(|name| name.as_str() != "*")
                .cloned()
                .collect();
            if columns.is_empty() {
                continue;
            }
            for column in columns {
                self.emit(
                    ColumnNode::resolved(parent.clone(), column.clone()),
                    target,
                    &column,
                    EdgeKind::Direct,
                    state,
                );
            }
            expanded = true;
        }
        if expanded && matches!(target, Parent::Dataset(_)) {
            let star = ColumnNode::resolved(target.clone(), "*");
            self.out.column_edges.retain(|(_, to, _)| to != &star);
            self.known.remove(target, "*");
            state.columns.retain(|name| name != "*");
        }
    }
}
