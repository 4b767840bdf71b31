//! Fix scripts: for checks whose repair is well defined (trim, lower/upper case, invalid → NULL,
//! fill a default, delete exact duplicates keeping the first row) generate the SQL, preview it, and
//! apply it in one transaction that first copies the rows it touches into a before-image, so that
//! `fix --undo <id>` puts them back.
//!
//! Storage: PostgreSQL keeps the images in schema `cwic_fix` (`fix_<id>` = rows before,
//! `fix_<id>_after` = the `ctid`s of the rows after, `fixes` = the log); SQLite keeps
//! `cwic_fix_<id>` (rows before with their `rowid`, which an UPDATE keeps) and `cwic_fix_fixes`.
//! MySQL/MariaDB rows have no identity SQL can see, and DDL commits the open transaction there, so
//! the image tables (`cwic_fix_<id>` rows before, `cwic_fix_<id>_after` the same rows as the fix
//! left them) are created first, empty, and filled in the fix's transaction; undo deletes the rows
//! equal to the after-image (identical rows are interchangeable) and inserts the before-image.
//! Deleting duplicates needs an order to keep the first row by and is refused there.
//! Undo deletes the rows the fix produced and inserts the before-image, in one transaction, and
//! refuses when those rows have changed since.
//!
//! "Earliest" duplicate means first in physical order (`ctid` / `rowid`), the only order every
//! table has.

use super::dialect::Dialect;
use super::exec::CheckExecutor;
use super::model::Check;
use super::templates::{Ctx, FixKind};

/// A fix ready to preview or apply.
#[derive(Debug, Clone)]
pub struct FixPlan {
    pub kind: FixKind,
    pub dataset: String,
    pub check: String,
    /// The quoted table.
    table: String,
    /// Rows the fix changes (SQL condition).
    condition: String,
    /// `column = value` for updates; `None` deletes the rows.
    assignment: Option<(String, String)>,
    columns: Vec<String>,
}

pub fn describe(kind: FixKind) -> &'static str {
    match kind {
        FixKind::Trim => "trim leading and trailing spaces",
        FixKind::Lower => "lower-case the values",
        FixKind::Upper => "upper-case the values",
        FixKind::NullInvalid => "set invalid values to NULL",
        FixKind::FillDefault => "fill NULLs with the default",
        FixKind::DeleteDuplicates => "delete duplicate rows, keeping the first of each group",
    }
}

fn row_id(dialect: &dyn Dialect) -> &'static str {
    if dialect.name() == "postgres" {
        "ctid"
    } else {
        "rowid"
    }
}

/// Why a named check has no fix: it is not in the suite (a mistake in the request), or it has no
/// well-defined repair.
#[derive(Debug, thiserror::Error)]
pub enum NamedFixError {
    #[error("{0}")]
    NotInSuite(String),
    #[error("{0}")]
    NoFix(String),
}

/// The fix for check `name` of `suite` (in `dataset`, when several datasets have a check of that
/// name), planned against the table's current columns; or why there is none, as one sentence.
pub async fn plan_named(
    executor: &dyn CheckExecutor,
    suite: &super::model::CheckSuite,
    dataset: Option<&str>,
    name: &str,
) -> Result<FixPlan, NamedFixError> {
    let found: Vec<_> = suite
        .datasets
        .iter()
        .filter(|candidate| dataset.is_none_or(|wanted| wanted == candidate.dataset))
        .flat_map(|candidate| candidate.checks.iter().map(move |check| (candidate, check)))
        .filter(|(_, check)| check.name == name)
        .collect();
    let (dataset, check) = match found.as_slice() {
        [one] => *one,
        [] => return Err(NamedFixError::NotInSuite(format!("no check named `{name}`"))),
        _ => {
            return Err(NamedFixError::NotInSuite(format!(
                "`{name}` is in several datasets: name the dataset"
            )));
        }
    };
    let columns: Vec<String> = executor
        .columns(&dataset.dataset)
        .await
        .map_err(|error| {
            NamedFixError::NoFix(format!(
                "cannot read the columns of `{}`: {error}",
                dataset.dataset
            ))
        })?
        .into_iter()
        .map(|(column, _)| column)
        .collect();
    plan(
        executor.dialect(),
        &dataset.dataset,
        dataset.filter.as_deref(),
        check,
        &columns,
    )
    .map_err(|why| NamedFixError::NoFix(format!("check `{name}`: {why}")))
}

/// Builds the fix for a check, or says why there is none.
pub fn plan(
    dialect: &dyn Dialect,
    dataset: &str,
    dataset_filter: Option<&str>,
    check: &Check,
    table_columns: &[String],
) -> Result<FixPlan, String> {
    let kind = check
        .template
        .fix
        .ok_or_else(|| format!("template `{}` has no well-defined fix", check.template.name))?;
    let filter = match (dataset_filter, check.filter.as_deref()) {
        (Some(a), Some(b)) => Some(format!("({a}) AND ({b})")),
        (Some(a), None) | (None, Some(a)) => Some(a.to_owned()),
        (None, None) => None,
    };
    let table = dialect.table(dataset);
    let ctx = Ctx {
        dialect,
        table: table.clone(),
        params: &check.params,
        filter: filter.clone(),
        table_columns,
        not_null_columns: &[],
        baseline: None,
    };
    let column = check
        .params
        .text("column")
        .map(|column| dialect.quote_ident(column));
    if kind == FixKind::DeleteDuplicates && dialect.name() == "mysql" {
        return Err(
            "deleting duplicates keeps the first row of each group, and MySQL/MariaDB rows have \
                    no order or identity to tell which is first; delete them with your own statement"
                .into(),
        );
    }
    let (condition, assignment) = match kind {
        FixKind::Trim | FixKind::Lower | FixKind::Upper => {
            let column = column.ok_or("the check names no column")?;
            let function = match kind {
                FixKind::Trim => "TRIM",
                FixKind::Lower => "LOWER",
                _ => "UPPER",
            };
            let value = format!("{function}({column})");
            (
                format!("{} <> {}", dialect.exact(&column), dialect.exact(&value)),
                Some((column, value)),
            )
        }
        FixKind::NullInvalid => {
            let column = column.ok_or("the check names no column")?;
            let measure = (check.template.compile)(&ctx);
            let failing = measure.failing_rows.ok_or("the check has no row condition")?;
            (failing, Some((column, "NULL".to_owned())))
        }
        FixKind::FillDefault => {
            let column = column.ok_or("the check names no column")?;
            let value = dialect.literal(check.params.text("default").ok_or("the check has no `default`")?);
            (format!("{column} IS NULL"), Some((column, value)))
        }
        FixKind::DeleteDuplicates => {
            let keys: Vec<String> = if check.params.list("columns").is_empty() {
                table_columns.iter().map(|c| dialect.quote_ident(c)).collect()
            } else {
                check
                    .params
                    .list("columns")
                    .iter()
                    .map(|c| dialect.quote_ident(c))
                    .collect()
            };
            let id = row_id(dialect);
            let inner_filter = filter.as_ref().map(|f| format!(" WHERE {f}")).unwrap_or_default();
            (
                format!(
                    "{id} IN (SELECT cwic_id FROM (SELECT {id} AS cwic_id, ROW_NUMBER() OVER \
                     (PARTITION BY {} ORDER BY {id}) AS cwic_rn FROM {table}{inner_filter}) d WHERE cwic_rn > 1)",
                    keys.join(", ")
                ),
                None,
            )
        }
    };
    let condition = match &filter {
        Some(filter) if kind != FixKind::DeleteDuplicates => format!("({filter}) AND ({condition})"),
        _ => condition,
    };
    Ok(FixPlan {
        kind,
        dataset: dataset.to_owned(),
        check: check.name.clone(),
        table,
        condition,
        assignment,
        columns: table_columns.to_vec(),
    })
}

impl FixPlan {
    /// The statement that changes the data.
    pub fn statement(&self) -> String {
        match &self.assignment {
            Some((column, value)) => {
                format!(
                    "UPDATE {} SET {column} = {value} WHERE {}",
                    self.table, self.condition
                )
            }
            None => format!("DELETE FROM {} WHERE {}", self.table, self.condition),
        }
    }

    /// Rows affected and a preview (`before → after` of the fixed column, or the rows to delete).
    pub async fn dry_run(
        &self,
        executor: &dyn CheckExecutor,
        limit: usize,
    ) -> anyhow::Result<(u64, Vec<String>)> {
        let dialect = executor.dialect();
        let count = executor
            .fetch_one(&format!(
                "SELECT {} FROM {} WHERE {}",
                dialect.as_text("COUNT(*)"),
                self.table,
                self.condition
            ))
            .await?;
        let affected = count
            .first()
            .cloned()
            .flatten()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let preview_sql = match &self.assignment {
            Some((column, value)) => format!(
                "SELECT {}, {} FROM {} WHERE {} LIMIT {limit}",
                dialect.as_text(column),
                dialect.as_text(value),
                self.table,
                self.condition
            ),
            None => {
                let list: Vec<String> = self
                    .columns
                    .iter()
                    .take(6)
                    .map(|c| dialect.as_text(&dialect.quote_ident(c)))
                    .collect();
                format!(
                    "SELECT {} FROM {} WHERE {} LIMIT {limit}",
                    list.join(", "),
                    self.table,
                    self.condition
                )
            }
        };
        let rows = executor.fetch_rows(&preview_sql, limit).await?;
        let show = |value: &Option<String>| match value {
            Some(text) => format!("{text:?}"),
            None => "NULL".to_owned(),
        };
        let preview = rows
            .iter()
            .map(|row| match &self.assignment {
                Some(_) => format!(
                    "{} → {}",
                    row.first().map(show).unwrap_or_default(),
                    row.get(1).map(show).unwrap_or_default()
                ),
                None => format!("delete ({})", row.iter().map(show).collect::<Vec<_>>().join(", ")),
            })
            .collect();
        Ok((affected, preview))
    }

    /// Applies the fix in one transaction with its before-image; returns the fix id and the rows
    /// changed.
    pub async fn apply(&self, executor: &dyn CheckExecutor) -> anyhow::Result<(String, u64)> {
        let dialect = executor.dialect();
        let id = uuid::Uuid::now_v7().simple().to_string()[..16].to_owned();
        let log_values = format!(
            "{}, {}, {}, {}",
            dialect.literal(&id),
            dialect.literal(&self.dataset),
            dialect.literal(&self.check),
            dialect.literal(describe(self.kind))
        );
        if dialect.name() == "mysql" {
            return self.apply_mysql(executor, id, &log_values).await;
        }
        let statements = if dialect.name() == "postgres" {
            let image = format!("cwic_fix.{}", dialect.quote_ident(&format!("fix_{id}")));
            let after = format!("cwic_fix.{}", dialect.quote_ident(&format!("fix_{id}_after")));
            let change = match &self.assignment {
                Some((column, value)) => format!(
                    "WITH changed AS (UPDATE {} SET {column} = {value} WHERE {} RETURNING ctid) \
                     INSERT INTO {after} SELECT ctid::text FROM changed",
                    self.table, self.condition
                ),
                None => self.statement(),
            };
            vec![
                "CREATE SCHEMA IF NOT EXISTS cwic_fix".to_owned(),
                "CREATE TABLE IF NOT EXISTS cwic_fix.fixes (id text PRIMARY KEY, dataset text, check_name text, \
                 fix text, applied_at timestamptz DEFAULT now(), undone_at timestamptz)"
                    .to_owned(),
                format!("CREATE TABLE {image} AS SELECT * FROM {} WHERE {}", self.table, self.condition),
                format!("CREATE TABLE {after} (row_ref text)"),
                change,
                format!("INSERT INTO cwic_fix.fixes (id, dataset, check_name, fix) VALUES ({log_values})"),
            ]
        } else {
            let image = dialect.quote_ident(&format!("cwic_fix_{id}"));
            vec![
                "CREATE TABLE IF NOT EXISTS cwic_fix_fixes (id TEXT PRIMARY KEY, dataset TEXT, check_name TEXT, \
                 fix TEXT, applied_at TEXT DEFAULT CURRENT_TIMESTAMP, undone_at TEXT)"
                    .to_owned(),
                format!(
                    "CREATE TABLE {image} AS SELECT rowid AS cwic_row_ref, * FROM {} WHERE {}",
                    self.table, self.condition
                ),
                self.statement(),
                format!("INSERT INTO cwic_fix_fixes (id, dataset, check_name, fix) VALUES ({log_values})"),
            ]
        };
        let affected = executor.execute_in_transaction(&statements).await?;
        let changed = affected.get(statements.len() - 2).copied().unwrap_or(0);
        Ok((id, changed))
    }
}

impl FixPlan {
    /// MySQL/MariaDB: the image tables first (DDL commits), then one transaction that fills them,
    /// changes the rows and logs the fix; the empty images are dropped when it fails.
    async fn apply_mysql(
        &self,
        executor: &dyn CheckExecutor,
        id: String,
        log_values: &str,
    ) -> anyhow::Result<(String, u64)> {
        let dialect = executor.dialect();
        let Some((column, value)) = &self.assignment else {
            anyhow::bail!("deleting rows is not a fix MySQL/MariaDB can undo");
        };
        let image = dialect.quote_ident(&format!("cwic_fix_{id}"));
        let after = dialect.quote_ident(&format!("cwic_fix_{id}_after"));
        executor
            .execute_in_transaction(&[
                "CREATE TABLE IF NOT EXISTS cwic_fix_fixes (id VARCHAR(64) PRIMARY KEY, dataset TEXT, \
                 check_name TEXT, fix TEXT, applied_at DATETIME(6) DEFAULT CURRENT_TIMESTAMP(6), \
                 undone_at DATETIME(6) NULL)"
                    .to_owned(),
                format!("CREATE TABLE {image} LIKE {}", self.table),
                format!("CREATE TABLE {after} LIKE {}", self.table),
            ])
            .await?;
        // The after-image is the before-image with the fix's expression applied, stored in the same
        // column types as the UPDATE stores it.
        let list: Vec<String> = self.columns.iter().map(|c| dialect.quote_ident(c)).collect();
        let changed_list: Vec<String> = list
            .iter()
            .map(|quoted| {
                if quoted == column {
                    value.clone()
                } else {
                    quoted.clone()
                }
            })
            .collect();
        let statements = vec![
            format!(
                "INSERT INTO {image} SELECT * FROM {} WHERE {}",
                self.table, self.condition
            ),
            format!(
                "INSERT INTO {after} ({}) SELECT {} FROM {image}",
                list.join(", "),
                changed_list.join(", ")
            ),
            self.statement(),
            format!("INSERT INTO cwic_fix_fixes (id, dataset, check_name, fix) VALUES ({log_values})"),
        ];
        match executor.execute_in_transaction(&statements).await {
            Ok(affected) => Ok((id, affected.get(2).copied().unwrap_or(0))),
            Err(error) => {
                let _ = executor
                    .execute_in_transaction(&[format!("DROP TABLE IF EXISTS {image}, {after}")])
                    .await;
                Err(error.into())
            }
        }
    }
}

/// Rows `a` and `b` (aliases) equal in every column, values by type and texts byte for byte.
fn rows_equal(dialect: &dyn Dialect, columns: &[(String, String)], a: &str, b: &str) -> String {
    columns
        .iter()
        .map(|(name, _)| {
            let quoted = dialect.quote_ident(name);
            let (left, right) = (format!("{a}.{quoted}"), format!("{b}.{quoted}"));
            format!(
                "{left} <=> {right} AND {} <=> {}",
                dialect.exact(&left),
                dialect.exact(&right)
            )
        })
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// Restores the rows a fix changed; returns the number of rows put back.
pub async fn undo(executor: &dyn CheckExecutor, id: &str) -> anyhow::Result<u64> {
    anyhow::ensure!(
        !id.is_empty() && id.chars().all(|c| c.is_ascii_hexdigit()),
        "expected a fix id as printed by `cwic-agent fix --confirm`, found `{id}`"
    );
    let dialect = executor.dialect();
    let postgres = dialect.name() == "postgres";
    let mysql = dialect.name() == "mysql";
    let log = if postgres {
        "cwic_fix.fixes"
    } else {
        "cwic_fix_fixes"
    };
    let row = executor
        .fetch_one(&format!(
            "SELECT dataset, {} FROM {log} WHERE id = {}",
            dialect.as_text("undone_at"),
            dialect.literal(id)
        ))
        .await
        .map_err(|_| anyhow::anyhow!("no fix `{id}` recorded in this database"))?;
    let dataset = row.first().cloned().flatten().unwrap_or_default();
    anyhow::ensure!(
        row.get(1).cloned().flatten().is_none(),
        "fix `{id}` was already undone"
    );
    let table = dialect.table(&dataset);
    let columns = executor.columns(&dataset).await?;
    let list: Vec<String> = columns
        .iter()
        .map(|(name, _)| dialect.quote_ident(name))
        .collect();
    let list = list.join(", ");
    let mark = format!(
        "UPDATE {log} SET undone_at = {} WHERE id = {}",
        dialect.now(),
        dialect.literal(id)
    );
    let statements = if mysql {
        let image = dialect.quote_ident(&format!("cwic_fix_{id}"));
        let after = dialect.quote_ident(&format!("cwic_fix_{id}_after"));
        // Each distinct row the fix produced must still be there exactly as often: fewer means
        // changed since, more means identical rows the fix did not touch, which undo cannot tell apart.
        let equal = rows_equal(dialect, &columns, "c", "a");
        let mismatched = executor
            .fetch_one(&format!(
                "SELECT CAST(COUNT(*) AS CHAR) FROM {after} a WHERE (SELECT COUNT(*) FROM {after} b WHERE {}) \
                 <> (SELECT COUNT(*) FROM {table} c WHERE {equal})",
                rows_equal(dialect, &columns, "b", "a")
            ))
            .await?;
        anyhow::ensure!(
            mismatched.first().cloned().flatten().as_deref() == Some("0"),
            "the rows fix `{id}` changed were modified since (or now have identical copies); not undoing"
        );
        vec![
            format!(
                "DELETE c FROM {table} c JOIN {after} a ON {}",
                rows_equal(dialect, &columns, "c", "a")
            ),
            format!("INSERT INTO {table} ({list}) SELECT {list} FROM {image}"),
            mark,
        ]
    } else if postgres {
        let image = format!("cwic_fix.{}", dialect.quote_ident(&format!("fix_{id}")));
        let after = format!("cwic_fix.{}", dialect.quote_ident(&format!("fix_{id}_after")));
        // The rows the fix produced must still be there, unchanged in place.
        let expected = executor
            .fetch_one(&format!("SELECT CAST(COUNT(*) AS TEXT) FROM {after}"))
            .await?;
        let present = executor
            .fetch_one(&format!(
                "SELECT CAST(COUNT(*) AS TEXT) FROM {table} WHERE ctid IN (SELECT row_ref::tid FROM {after})"
            ))
            .await?;
        anyhow::ensure!(
            expected == present,
            "the rows fix `{id}` changed were modified since; not undoing"
        );
        vec![
            format!("DELETE FROM {table} WHERE ctid IN (SELECT row_ref::tid FROM {after})"),
            format!("INSERT INTO {table} ({list}) SELECT {list} FROM {image}"),
            mark,
        ]
    } else {
        let image = dialect.quote_ident(&format!("cwic_fix_{id}"));
        vec![
            format!("DELETE FROM {table} WHERE rowid IN (SELECT cwic_row_ref FROM {image})"),
            format!("INSERT INTO {table} (rowid, {list}) SELECT cwic_row_ref, {list} FROM {image}"),
            mark,
        ]
    };
    let affected = executor.execute_in_transaction(&statements).await?;
    Ok(affected.get(1).copied().unwrap_or(0))
}
