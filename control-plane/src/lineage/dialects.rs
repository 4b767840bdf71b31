//! Dialect names of the lineage contract and the fallback dialects tried when a statement does
//! not parse in the one the caller chose.

use std::any::TypeId;

use sqlparser::dialect::{
    BigQueryDialect, ClickHouseDialect, DatabricksDialect, Dialect, DuckDbDialect, GenericDialect,
    HiveDialect, MsSqlDialect, MySqlDialect, OracleDialect, PostgreSqlDialect, RedshiftSqlDialect,
    SQLiteDialect, SnowflakeDialect, SparkSqlDialect, TeradataDialect,
};

/// Resolve a dialect name as used in bench/lineage cases (ansi, postgres, mysql, mariadb, hive,
/// sparksql, databricks, snowflake, bigquery, tsql, redshift, athena, oracle, vertica, duckdb,
/// sqlite, ...). Returns the dialect and whether the name was known (unknown -> generic dialect;
/// caller warns).
///
/// `ansi` (and engines close to it: athena, trino, vertica, ...) maps to sqlparser's generic
/// dialect, which accepts the common extensions (`::` casts, backtick quoting) that the strict
/// ANSI dialect rejects.
pub fn dialect_for_name(name: &str) -> (Box<dyn Dialect>, bool) {
    let dialect: Box<dyn Dialect> = match name.trim().to_ascii_lowercase().as_str() {
        "ansi" | "generic" | "athena" | "trino" | "presto" | "vertica" | "db2" | "exasol" | "soql"
        | "starrocks" | "doris" => Box::new(GenericDialect),
        "postgres" | "postgresql" | "greenplum" | "materialize" | "cockroachdb" => {
            Box::new(PostgreSqlDialect {})
        }
        "mysql" | "mariadb" => Box::new(MySqlDialect {}),
        "hive" | "impala" => Box::new(HiveDialect {}),
        "sparksql" | "spark" => Box::new(SparkSqlDialect),
        "databricks" => Box::new(DatabricksDialect),
        "snowflake" => Box::new(SnowflakeDialect),
        "bigquery" => Box::new(BigQueryDialect),
        "tsql" | "mssql" | "sqlserver" => Box::new(MsSqlDialect {}),
        "redshift" => Box::new(RedshiftSqlDialect {}),
        "oracle" => Box::new(OracleDialect),
        "duckdb" => Box::new(DuckDbDialect {}),
        "sqlite" => Box::new(SQLiteDialect {}),
        "clickhouse" => Box::new(ClickHouseDialect {}),
        "teradata" => Box::new(TeradataDialect),
        _ => return (Box::new(GenericDialect), false),
    };
    (dialect, true)
}

fn is<D: Dialect>(dialect: &dyn Dialect) -> bool {
    dialect.dialect() == TypeId::of::<D>()
}

/// Whether the dialect is one of the Hive family (Hive, Spark SQL, Databricks).
fn is_hive_family(dialect: &dyn Dialect) -> bool {
    is::<HiveDialect>(dialect) || is::<SparkSqlDialect>(dialect) || is::<DatabricksDialect>(dialect)
}

/// Dialects to try, in order, when a statement does not parse in `primary`: the primary's own
/// family first, then the generic dialect, then the rest. The primary itself is not included.
pub(super) fn fallback_dialects(primary: &dyn Dialect) -> Vec<Box<dyn Dialect>> {
    let mut all: Vec<Box<dyn Dialect>> = Vec::new();
    if is_hive_family(primary) {
        all.push(Box::new(SparkSqlDialect));
        all.push(Box::new(DatabricksDialect));
        all.push(Box::new(HiveDialect {}));
    }
    if is::<MySqlDialect>(primary) || is::<BigQueryDialect>(primary) {
        all.push(Box::new(MySqlDialect {}));
        all.push(Box::new(BigQueryDialect));
    }
    if is::<PostgreSqlDialect>(primary) || is::<RedshiftSqlDialect>(primary) {
        all.push(Box::new(PostgreSqlDialect {}));
        all.push(Box::new(RedshiftSqlDialect {}));
    }
    all.push(Box::new(GenericDialect));
    all.push(Box::new(SparkSqlDialect));
    all.push(Box::new(DatabricksDialect));
    all.push(Box::new(HiveDialect {}));
    all.push(Box::new(MySqlDialect {}));
    all.push(Box::new(SnowflakeDialect));
    all.push(Box::new(PostgreSqlDialect {}));
    all.push(Box::new(BigQueryDialect));
    all.push(Box::new(MsSqlDialect {}));
    all.push(Box::new(RedshiftSqlDialect {}));
    all.push(Box::new(DuckDbDialect {}));
    all.push(Box::new(OracleDialect));
    let mut seen: Vec<TypeId> = vec![primary.dialect()];
    all.retain(|dialect| {
        let id = dialect.dialect();
        if seen.contains(&id) {
            false
        } else {
            seen.push(id);
            true
        }
    });
    all
}

/// Naming rules of the lineage contract that depend on the dialect.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Quirks {
    /// BigQuery: a table written as one backtick-quoted identifier (`` `tab` ``,
    /// `` `proj.dataset.tab` ``) has its table name lower-cased.
    pub(super) lowercase_single_quoted_tables: bool,
    /// Hive: an unqualified backtick-quoted name in an expression is not read as a column.
    pub(super) backtick_names_are_not_columns: bool,
}

pub(super) fn quirks_of(dialect: &dyn Dialect) -> Quirks {
    Quirks {
        lowercase_single_quoted_tables: is::<BigQueryDialect>(dialect),
        backtick_names_are_not_columns: is::<HiveDialect>(dialect),
    }
}
