//! Unit tests of the lineage module: exact lineage per construct, errors, and a mutation test
//! showing malformed input never panics. No I/O.

use super::*;

fn lineage(dialect: &str, sql: &str) -> ScriptLineage {
    let (dialect, known) = dialect_for_name(dialect);
    assert!(known, "test uses a known dialect");
    match analyze_script(sql, dialect.as_ref()) {
        Ok(lineage) => lineage,
        Err(error) => panic!("lineage of {sql:?} failed: {error}"),
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_string()).collect()
}

fn edges(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(source, target)| ((*source).to_string(), (*target).to_string()))
        .collect()
}

#[track_caller]
fn assert_tables(result: &ScriptLineage, sources: &[&str], targets: &[&str]) {
    assert_eq!(result.source_tables, strings(sources), "source tables");
    assert_eq!(result.target_tables, strings(targets), "target tables");
}

#[track_caller]
fn assert_edges(result: &ScriptLineage, expected: &[(&str, &str)]) {
    assert_eq!(result.column_edges, edges(expected), "column edges");
}

// ------------------------------------------------------------------ names and dialects

#[test]
fn dialect_names_resolve_and_unknown_falls_back() {
    for name in [
        "ansi",
        "postgres",
        "mysql",
        "mariadb",
        "hive",
        "sparksql",
        "databricks",
        "snowflake",
        "bigquery",
        "tsql",
        "redshift",
        "athena",
        "oracle",
        "vertica",
        "duckdb",
        "sqlite",
    ] {
        assert!(dialect_for_name(name).1, "{name} is known");
    }
    let (dialect, known) = dialect_for_name("no-such-dialect");
    assert!(!known);
    let result = analyze_script("SELECT a FROM t", dialect.as_ref());
    assert_eq!(result.map(|l| l.source_tables), Ok(strings(&["<default>.t"])));
}

#[test]
fn select_reads_tables_with_canonical_names() {
    let result = lineage(
        "ansi",
        r#"SELECT o.Id FROM Sales.Orders o JOIN "Ref"."Region" r ON o.rid = r.id"#,
    );
    // Schemas are always lower-cased; a quoted table name keeps its case.
    assert_tables(&result, &["ref.Region", "sales.orders"], &[]);
    assert_edges(&result, &[]);
}

#[test]
fn quoted_identifiers_keep_case_per_dialect() {
    let result = lineage("mysql", "INSERT INTO `Db`.`Out` SELECT `Amount` FROM `Db`.`In`");
    assert_tables(&result, &["db.In"], &["db.Out"]);
    assert_edges(&result, &[("db.In.Amount", "db.Out.Amount")]);

    let result = lineage(
        "tsql",
        "INSERT INTO [dw].[Fact] SELECT [Qty] FROM [stage].[Lines]",
    );
    assert_edges(&result, &[("stage.Lines.Qty", "dw.Fact.Qty")]);

    let result = lineage("bigquery", "SELECT * FROM `project-1.sales.daily`");
    assert_tables(&result, &["project-1.sales.daily"], &[]);

    // BigQuery: one backtick-quoted name is lower-cased, separately quoted parts keep case.
    let result = lineage(
        "bigquery",
        "SELECT * FROM `Sales.Daily` JOIN `Sales`.`Weekly` ON TRUE",
    );
    assert_tables(&result, &["sales.Weekly", "sales.daily"], &[]);
}

#[test]
fn hive_unqualified_backtick_names_are_not_columns() {
    let result = lineage("hive", "INSERT INTO TABLE t SELECT `a`, s.`b` FROM s");
    assert_edges(&result, &[("<default>.s.b", "<default>.t.b")]);
}

// ------------------------------------------------------------------ DML and DDL

#[test]
fn insert_select_maps_columns_by_alias_and_name() {
    let result = lineage(
        "ansi",
        "INSERT INTO dw.customers SELECT c.id, c.full_name AS name, upper(c.city) AS city FROM crm.contacts c",
    );
    assert_tables(&result, &["crm.contacts"], &["dw.customers"]);
    assert_edges(
        &result,
        &[
            ("crm.contacts.city", "dw.customers.city"),
            ("crm.contacts.full_name", "dw.customers.name"),
            ("crm.contacts.id", "dw.customers.id"),
        ],
    );
}

#[test]
fn insert_column_list_renames_targets_positionally() {
    let result = lineage(
        "ansi",
        "INSERT INTO report (region_code, revenue) SELECT region, price * qty FROM sales",
    );
    assert_edges(
        &result,
        &[
            ("<default>.sales.price", "<default>.report.revenue"),
            ("<default>.sales.qty", "<default>.report.revenue"),
            ("<default>.sales.region", "<default>.report.region_code"),
        ],
    );
}

#[test]
fn insert_values_has_target_only() {
    let result = lineage("ansi", "INSERT INTO audit_log VALUES (1, 'started')");
    assert_tables(&result, &[], &["<default>.audit_log"]);
    assert_edges(&result, &[]);
}

#[test]
fn insert_overwrite_with_partition_and_self_read() {
    let result = lineage(
        "hive",
        "INSERT OVERWRITE TABLE events PARTITION (dt='2024-05-01') SELECT id, payload FROM events WHERE dt = '2024-04-30'",
    );
    assert_tables(&result, &["<default>.events"], &["<default>.events"]);
    assert_edges(
        &result,
        &[
            ("<default>.events.id", "<default>.events.id"),
            ("<default>.events.payload", "<default>.events.payload"),
        ],
    );
}

#[test]
fn insert_overwrite_directory_targets_a_path() {
    let result = lineage(
        "hive",
        "INSERT OVERWRITE DIRECTORY 's3://exports/daily' SELECT * FROM metrics",
    );
    assert_tables(&result, &["<default>.metrics"], &["s3://exports/daily"]);
}

#[test]
fn spark_file_query_reads_a_path() {
    let result = lineage(
        "sparksql",
        "INSERT INTO bronze SELECT id FROM parquet.`s3://lake/raw/events`",
    );
    assert_tables(&result, &["s3://lake/raw/events"], &["<default>.bronze"]);
    assert_edges(&result, &[("id", "<default>.bronze.id")]);
}

#[test]
fn create_table_as_select_and_column_definitions() {
    let result = lineage(
        "sparksql",
        "CREATE TABLE kpis (k_day string, k_total string) AS SELECT day, sum(total) FROM orders GROUP BY day",
    );
    assert_tables(&result, &["<default>.orders"], &["<default>.kpis"]);
    assert_edges(
        &result,
        &[
            ("<default>.orders.day", "<default>.kpis.k_day"),
            ("<default>.orders.total", "<default>.kpis.k_total"),
        ],
    );
}

#[test]
fn create_table_like_and_plain_create() {
    let result = lineage("ansi", "CREATE TABLE staging LIKE production");
    assert_tables(&result, &["<default>.production"], &["<default>.staging"]);
    let result = lineage("ansi", "CREATE TABLE empty_one (a INT, b TEXT)");
    assert_tables(&result, &[], &["<default>.empty_one"]);
}

#[test]
fn create_view_with_column_list() {
    let result = lineage(
        "ansi",
        "CREATE VIEW v_totals (who, how_much) AS SELECT customer, amount FROM payments",
    );
    assert_tables(&result, &["<default>.payments"], &["<default>.v_totals"]);
    assert_edges(
        &result,
        &[
            ("<default>.payments.amount", "<default>.v_totals.how_much"),
            ("<default>.payments.customer", "<default>.v_totals.who"),
        ],
    );
}

#[test]
fn merge_maps_update_and_insert_branches_from_the_using_relation() {
    let result = lineage(
        "ansi",
        "MERGE INTO dim_user d USING stage_user s ON d.id = s.id \
         WHEN MATCHED THEN UPDATE SET d.email = s.email, d.seen = 1 \
         WHEN NOT MATCHED THEN INSERT (id, email) VALUES (s.id, s.email)",
    );
    assert_tables(&result, &["<default>.stage_user"], &["<default>.dim_user"]);
    assert_edges(
        &result,
        &[
            ("<default>.stage_user.email", "<default>.dim_user.email"),
            ("<default>.stage_user.id", "<default>.dim_user.id"),
        ],
    );
}

#[test]
fn merge_using_subquery_traces_through_it() {
    let result = lineage(
        "ansi",
        "MERGE INTO totals t USING (SELECT acct, sum(amt) AS s FROM ledger GROUP BY acct) l \
         ON t.acct = l.acct WHEN MATCHED THEN UPDATE SET t.total = l.s",
    );
    assert_tables(&result, &["<default>.ledger"], &["<default>.totals"]);
    assert_edges(&result, &[("<default>.ledger.amt", "<default>.totals.total")]);
}

#[test]
fn update_from_joins_sources_by_alias() {
    let result = lineage(
        "postgres",
        "UPDATE stock s SET qty = d.qty, note = 'synced' FROM deliveries d WHERE s.sku = d.sku",
    );
    assert_tables(&result, &["<default>.deliveries"], &["<default>.stock"]);
    assert_edges(&result, &[("<default>.deliveries.qty", "<default>.stock.qty")]);
}

#[test]
fn update_with_join_and_tsql_target_alias() {
    let result = lineage(
        "mysql",
        "UPDATE items i JOIN prices p ON i.sku = p.sku SET i.price = p.price",
    );
    assert_tables(&result, &["<default>.prices"], &["<default>.items"]);
    assert_edges(&result, &[("<default>.prices.price", "<default>.items.price")]);

    let result = lineage(
        "tsql",
        "UPDATE i SET i.price = p.price FROM items i JOIN prices p ON i.sku = p.sku",
    );
    assert_tables(&result, &["<default>.prices"], &["<default>.items"]);
    assert_edges(&result, &[("<default>.prices.price", "<default>.items.price")]);
}

#[test]
fn statements_without_lineage_are_empty() {
    for (dialect, sql) in [
        ("ansi", "DROP TABLE IF EXISTS scratch"),
        ("ansi", "TRUNCATE TABLE scratch"),
        ("ansi", "DELETE FROM scratch WHERE id > 3"),
        ("sparksql", "SET spark.sql.shuffle.partitions"),
        ("sparksql", "REFRESH TABLE scratch"),
        ("hive", "ADD JAR /opt/udfs.jar"),
        ("databricks", "SHOW FUNCTIONS lower"),
    ] {
        assert_eq!(lineage(dialect, sql), ScriptLineage::default(), "{sql}");
    }
}

#[test]
fn rename_swap_and_exchange() {
    let result = lineage(
        "ansi",
        "CREATE TABLE t_new AS SELECT * FROM t_src; ALTER TABLE t_new RENAME TO t_final",
    );
    assert_tables(&result, &["<default>.t_src"], &["<default>.t_final"]);
    let result = lineage("snowflake", "ALTER TABLE live SWAP WITH shadow");
    assert_tables(&result, &["<default>.shadow"], &["<default>.live"]);
    let result = lineage(
        "hive",
        "ALTER TABLE live EXCHANGE PARTITION (dt='2024-01-01') WITH TABLE shadow",
    );
    assert_tables(&result, &["<default>.shadow"], &["<default>.live"]);
}

// ------------------------------------------------------------------ queries

#[test]
fn ctes_nested_and_chained_resolve_to_base_tables() {
    let result = lineage(
        "ansi",
        "WITH base AS (SELECT id, amount FROM payments), \
              big AS (SELECT id, amount * 2 AS doubled FROM base WHERE amount > 10) \
         INSERT INTO flagged SELECT b.id, b.doubled FROM big b",
    );
    assert_tables(&result, &["<default>.payments"], &["<default>.flagged"]);
    assert_edges(
        &result,
        &[
            ("<default>.payments.amount", "<default>.flagged.doubled"),
            ("<default>.payments.id", "<default>.flagged.id"),
        ],
    );
}

#[test]
fn recursive_cte_does_not_invent_sources() {
    let result = lineage(
        "postgres",
        "WITH RECURSIVE tree AS (\
           SELECT id AS node FROM nodes WHERE parent_id IS NULL \
           UNION ALL SELECT n.id FROM nodes n JOIN tree t ON n.parent_id = t.node) \
         INSERT INTO flat SELECT node FROM tree",
    );
    assert_tables(&result, &["<default>.nodes"], &["<default>.flat"]);
    assert_edges(&result, &[("<default>.nodes.id", "<default>.flat.node")]);
}

#[test]
fn subqueries_in_from_select_and_where() {
    let result = lineage(
        "ansi",
        "INSERT INTO out_t SELECT s.k, (SELECT max(v) FROM lookup) AS top_v \
         FROM (SELECT k FROM src WHERE k IN (SELECT k FROM allow_list)) s",
    );
    assert_tables(
        &result,
        &["<default>.allow_list", "<default>.lookup", "<default>.src"],
        &["<default>.out_t"],
    );
    assert_edges(
        &result,
        &[
            ("<default>.lookup.v", "<default>.out_t.top_v"),
            ("<default>.src.k", "<default>.out_t.k"),
        ],
    );
}

#[test]
fn union_branches_map_positionally_to_first_branch_names() {
    let result = lineage(
        "ansi",
        "INSERT INTO all_people SELECT name AS person, city FROM staff UNION ALL SELECT full_name, town FROM guests",
    );
    assert_edges(
        &result,
        &[
            ("<default>.guests.full_name", "<default>.all_people.person"),
            ("<default>.guests.town", "<default>.all_people.city"),
            ("<default>.staff.city", "<default>.all_people.city"),
            ("<default>.staff.name", "<default>.all_people.person"),
        ],
    );
}

#[test]
fn window_functions_read_partition_and_order_columns() {
    let result = lineage(
        "ansi",
        "INSERT INTO ranked SELECT user_id, rank() OVER (PARTITION BY team ORDER BY score DESC) AS pos FROM scores",
    );
    assert_edges(
        &result,
        &[
            ("<default>.scores.score", "<default>.ranked.pos"),
            ("<default>.scores.team", "<default>.ranked.pos"),
            ("<default>.scores.user_id", "<default>.ranked.user_id"),
        ],
    );
}

#[test]
fn lateral_view_and_unnest_add_no_datasets() {
    let result = lineage(
        "hive",
        "INSERT INTO tags SELECT id, tag FROM posts LATERAL VIEW explode(tag_list) t AS tag",
    );
    assert_tables(&result, &["<default>.posts"], &["<default>.tags"]);
    assert_edges(
        &result,
        &[
            ("<default>.posts.id", "<default>.tags.id"),
            ("<default>.posts.tag", "<default>.tags.tag"),
        ],
    );
    let result = lineage(
        "ansi",
        "INSERT INTO flat SELECT o.id, item FROM orders o CROSS JOIN UNNEST(o.items) AS u (item)",
    );
    assert_tables(&result, &["<default>.orders"], &["<default>.flat"]);
}

#[test]
fn wildcards_and_unattributable_columns() {
    let result = lineage("ansi", "INSERT INTO copy_t SELECT * FROM orig_t");
    assert_edges(&result, &[("<default>.orig_t.*", "<default>.copy_t.*")]);

    // Unqualified columns over a join cannot be attributed to one table.
    let result = lineage(
        "ansi",
        "INSERT INTO j SELECT shared_col, a.only_a FROM ta a JOIN tb b ON a.k = b.k",
    );
    assert_edges(
        &result,
        &[
            ("<default>.ta.only_a", "<default>.j.only_a"),
            ("shared_col", "<default>.j.shared_col"),
        ],
    );

    // `*` over a subquery with known columns expands to them.
    let result = lineage(
        "ansi",
        "INSERT INTO wide SELECT * FROM (SELECT x AS y FROM narrow) q",
    );
    assert_edges(&result, &[("<default>.narrow.x", "<default>.wide.y")]);
}

#[test]
fn expressions_and_functions_are_named_after_their_text() {
    let result = lineage(
        "ansi",
        "INSERT INTO calc SELECT price*qty, coalesce(disc, 0), CAST(ts AS date), ts2::date, now() FROM lines",
    );
    assert_edges(
        &result,
        &[
            ("<default>.lines.disc", "<default>.calc.coalesce(disc, 0)"),
            ("<default>.lines.price", "<default>.calc.price*qty"),
            ("<default>.lines.qty", "<default>.calc.price*qty"),
            ("<default>.lines.ts", "<default>.calc.cast(ts as date)"),
            ("<default>.lines.ts2", "<default>.calc.ts2"),
        ],
    );
}

#[test]
fn multi_statement_script_traces_through_temporary_tables() {
    let result = lineage(
        "ansi",
        "DROP TABLE IF EXISTS tmp_a;\n\
         CREATE TABLE tmp_a AS SELECT id, amount FROM raw_orders;\n\
         INSERT INTO final_orders SELECT id, amount * 100 AS cents FROM tmp_a;\n\
         DROP TABLE tmp_a;",
    );
    assert_tables(&result, &["<default>.raw_orders"], &["<default>.final_orders"]);
    assert_edges(
        &result,
        &[
            ("<default>.raw_orders.amount", "<default>.final_orders.cents"),
            ("<default>.raw_orders.id", "<default>.final_orders.id"),
        ],
    );
}

#[test]
fn ambiguous_column_is_resolved_by_columns_known_from_earlier_statements() {
    let result = lineage(
        "ansi",
        "CREATE TABLE stage AS SELECT id, label FROM src;\n\
         INSERT INTO dst SELECT s.id, label FROM stage s JOIN other o ON s.id = o.id;",
    );
    assert_edges(
        &result,
        &[
            ("<default>.src.id", "<default>.dst.id"),
            ("<default>.src.label", "<default>.dst.label"),
        ],
    );
}

#[test]
fn procedure_bodies_and_tsql_without_semicolons() {
    let result = lineage(
        "tsql",
        "CREATE PROCEDURE load_it AS BEGIN INSERT INTO dst (a) SELECT a FROM src; END",
    );
    assert_tables(&result, &["<default>.src"], &["<default>.dst"]);
    assert_edges(&result, &[("<default>.src.a", "<default>.dst.a")]);

    let result = lineage(
        "tsql",
        "SELECT * INTO #work FROM src\nINSERT INTO dst SELECT * FROM #work",
    );
    assert_tables(&result, &["<default>.src"], &["<default>.dst"]);
}

#[test]
fn unparsable_hive_clause_is_dropped_not_fatal() {
    let result = lineage(
        "hive",
        "INSERT OVERWRITE LOCAL DIRECTORY '/tmp/out' ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' SELECT a FROM src",
    );
    assert_tables(&result, &["<default>.src"], &["/tmp/out"]);
}

#[test]
fn detailed_lineage_reports_edge_kinds() {
    let (dialect, _) = dialect_for_name("ansi");
    let detailed = analyze_script_detailed(
        "INSERT INTO t SELECT a, b + 1 AS b1, max(c) AS mc FROM s GROUP BY a, b",
        dialect.as_ref(),
    );
    let kinds: Vec<(String, EdgeKind)> = detailed
        .map(|d| d.column_edges.into_iter().map(|e| (e.target, e.kind)).collect())
        .unwrap_or_default();
    assert_eq!(
        kinds,
        vec![
            ("<default>.t.a".to_string(), EdgeKind::Direct),
            ("<default>.t.b1".to_string(), EdgeKind::Expression),
            ("<default>.t.mc".to_string(), EdgeKind::Aggregate),
        ]
    );
}

#[test]
fn script_lineage_serializes_edges_as_pairs() {
    let result = lineage("ansi", "INSERT INTO t SELECT a FROM s");
    let json = serde_json::to_string(&result).unwrap_or_default();
    assert_eq!(
        json,
        r#"{"source_tables":["<default>.s"],"target_tables":["<default>.t"],"column_edges":[["<default>.s.a","<default>.t.a"]]}"#
    );
}

#[test]
fn wildcard_over_a_subquery_expands_but_over_a_cte_stays_a_wildcard() {
    // A subquery's columns are known where it is used; a CTE body is read after its user.
    let result = lineage("ansi", "INSERT INTO t SELECT * FROM (SELECT a, b FROM s) q");
    assert_edges(
        &result,
        &[
            ("<default>.s.a", "<default>.t.a"),
            ("<default>.s.b", "<default>.t.b"),
        ],
    );
    let result = lineage(
        "ansi",
        "WITH q AS (SELECT a, b FROM s) INSERT INTO t SELECT * FROM q",
    );
    assert_edges(&result, &[("q.*", "<default>.t.*")]);
}

#[test]
fn stored_procedure_counts_as_one_statement() {
    // Everything the procedure reads feeds everything it writes, temporary tables included.
    let result = lineage(
        "tsql",
        "CREATE PROCEDURE p AS BEGIN SELECT k INTO #stage FROM src; INSERT INTO dst SELECT k FROM #stage; END",
    );
    assert_tables(
        &result,
        &["<default>.#stage", "<default>.src"],
        &["<default>.#stage", "<default>.dst"],
    );
    assert_edges(&result, &[("<default>.src.k", "<default>.dst.k")]);
}

#[test]
fn drop_removes_only_tables_without_lineage_or_columns() {
    let result = lineage("ansi", "INSERT INTO scratch VALUES (1); DROP TABLE scratch;");
    assert_tables(&result, &[], &[]);
    // Declared columns keep the table in the graph.
    let result = lineage("ansi", "CREATE TABLE scratch (a INT); DROP TABLE scratch;");
    assert_tables(&result, &[], &["<default>.scratch"]);
}

// ------------------------------------------------------------------ errors

#[test]
fn syntax_error_reports_line_and_column() {
    let (dialect, _) = dialect_for_name("ansi");
    let error = analyze_script("SELECT a,\n  b\nFROM t WHERE ) x", dialect.as_ref());
    let Err(LineageError::Syntax {
        line,
        column,
        message,
    }) = error
    else {
        panic!("expected a syntax error, got {error:?}");
    };
    assert_eq!((line, column), (3, 14));
    assert_eq!(message, "expected: an expression, found: )");
    let text = LineageError::Syntax {
        line,
        column,
        message,
    }
    .to_string();
    assert_eq!(
        text,
        "sql syntax error at line 3, column 14: expected: an expression, found: )"
    );
}

#[test]
fn error_at_end_of_input_points_past_the_last_character() {
    let (dialect, _) = dialect_for_name("postgres");
    let error = analyze_script("SELECT *\nFROM", dialect.as_ref());
    assert!(
        matches!(
            error,
            Err(LineageError::Syntax {
                line: 2,
                column: 5,
                ..
            })
        ),
        "{error:?}"
    );
}

#[test]
fn unterminated_string_is_a_tokenizer_error() {
    let (dialect, _) = dialect_for_name("ansi");
    let error = analyze_script("SELECT 'abc FROM t", dialect.as_ref());
    assert!(
        matches!(error, Err(LineageError::Syntax { line: 1, .. })),
        "{error:?}"
    );
}

#[test]
fn one_bad_statement_among_good_ones_is_skipped_with_a_warning() {
    let (dialect, _) = dialect_for_name("ansi");
    let detailed = analyze_script_detailed(
        "INSERT INTO t SELECT a FROM s;\nSELEC nonsense;",
        dialect.as_ref(),
    );
    let Ok(detailed) = detailed else {
        panic!("expected partial lineage, got {detailed:?}");
    };
    assert_eq!(detailed.target_tables, strings(&["<default>.t"]));
    assert_eq!(detailed.warnings.len(), 1);
    assert!(
        detailed.warnings[0].contains("line 2, column 1"),
        "{:?}",
        detailed.warnings
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let (dialect, _) = dialect_for_name("ansi");
    let sql = format!("SELECT {}1{}", "(".repeat(400), ")".repeat(400));
    assert!(analyze_script(&sql, dialect.as_ref()).is_err());
}

// ------------------------------------------------------------------ robustness

/// Tiny xorshift64* generator: deterministic, no dependency.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, bound: usize) -> usize {
        if bound == 0 {
            0
        } else {
            (self.next() % bound as u64) as usize
        }
    }
}

const SEEDS: &[&str] = &[
    "INSERT INTO t SELECT a, b + 1 AS c FROM s WHERE x IN (SELECT y FROM u)",
    "WITH c AS (SELECT * FROM base) INSERT OVERWRITE TABLE out PARTITION (dt='1') SELECT * FROM c",
    "MERGE INTO t USING (SELECT k, max(v) v FROM s GROUP BY k) q ON t.k = q.k WHEN MATCHED THEN UPDATE SET t.v = q.v",
    "UPDATE t SET a = s.a FROM s WHERE t.id = s.id",
    "CREATE TABLE x AS SELECT row_number() OVER (PARTITION BY a ORDER BY b) rn, 'lit' FROM y LATERAL VIEW explode(z) e AS w",
    "SELECT CASE WHEN a THEN b ELSE (SELECT 1) END, cast(c AS int), d::text FROM (t1 JOIN t2 USING (k)) LEFT JOIN t3 ON t3.k = t1.k",
    "CREATE PROCEDURE p AS BEGIN INSERT INTO a SELECT * FROM b; END",
    "INSERT INTO t (x, y) VALUES (1, (SELECT max(v) FROM s)); DROP TABLE s; ALTER TABLE t RENAME TO u",
];

const FRAGMENTS: &[&str] = &[
    "(",
    ")",
    ",",
    ";",
    "'",
    "\"",
    "`",
    "[",
    "]",
    "*",
    ".",
    "::",
    "--",
    "/*",
    "*/",
    "$$",
    "\n",
    "SELECT",
    "FROM",
    "WITH",
    "AS",
    "JOIN",
    "ON",
    "UNION",
    "INSERT",
    "INTO",
    "CASE",
    "END",
    "BEGIN",
    "OVER",
    "PARTITION",
    "é",
    "\u{1F600}",
    "\\",
    "@v",
    "?",
    "1e",
    "0x",
];

fn mutate(rng: &mut XorShift, seed: &str) -> String {
    let mut chars: Vec<char> = seed.chars().collect();
    for _ in 0..=rng.below(4) {
        let len = chars.len();
        match rng.below(5) {
            0 if len > 0 => {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(8)).min(len);
                chars.drain(start..end);
            }
            1 => {
                let at = rng.below(len + 1);
                let fragment = FRAGMENTS[rng.below(FRAGMENTS.len())];
                for (offset, c) in fragment.chars().enumerate() {
                    chars.insert(at + offset, c);
                }
            }
            2 if len > 1 => {
                let (a, b) = (rng.below(len), rng.below(len));
                chars.swap(a, b);
            }
            3 if len > 0 => {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(12)).min(len);
                let copy: Vec<char> = chars[start..end].to_vec();
                let at = rng.below(len + 1);
                for (offset, c) in copy.into_iter().enumerate() {
                    chars.insert(at + offset, c);
                }
            }
            _ => chars.truncate(rng.below(len + 1)),
        }
    }
    chars.into_iter().collect()
}

#[test]
fn random_mutations_of_valid_sql_never_panic() {
    let dialects: Vec<Box<dyn sqlparser::dialect::Dialect>> =
        ["ansi", "hive", "tsql", "mysql", "postgres", "bigquery"]
            .iter()
            .map(|name| dialect_for_name(name).0)
            .collect();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for round in 0..1200 {
        let seed = SEEDS[round % SEEDS.len()];
        let sql = mutate(&mut rng, seed);
        let dialect = &dialects[rng.below(dialects.len())];
        // Either outcome is fine; the property is that it returns.
        let _ = analyze_script_detailed(&sql, dialect.as_ref());
    }
}

#[test]
fn random_bytes_never_panic() {
    let (dialect, _) = dialect_for_name("ansi");
    let mut rng = XorShift(42);
    for _ in 0..300 {
        let len = rng.below(80);
        let bytes: Vec<u8> = (0..len).map(|_| (rng.next() & 0x7F) as u8).collect();
        let sql = String::from_utf8_lossy(&bytes).into_owned();
        let _ = analyze_script(&sql, dialect.as_ref());
    }
}

/// The deepest statements the limits let through are analyzed and dropped on a thread with the
/// default 2 MiB stack (a tokio worker's), in whatever build the tests run in.
#[test]
fn statements_at_the_nesting_limit_fit_a_small_stack() {
    let terms = limits::MAX_NESTING / 2 - 20;
    let shapes: Vec<String> = vec![
        format!("INSERT INTO t SELECT a{} FROM s", "+a".repeat(terms - 1)),
        format!(
            "INSERT INTO t SELECT x FROM s WHERE a = 1{}",
            " OR a = 1".repeat(terms / 4)
        ),
        format!(
            "INSERT INTO t SELECT a::text{} FROM s",
            "::text".repeat(terms - 2)
        ),
        format!(
            "INSERT INTO t {}",
            vec!["SELECT a, b FROM s"; limits::MAX_NESTING / 6].join(" UNION ALL ")
        ),
    ];
    for sql in shapes {
        let outcome = std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(move || {
                let (dialect, _) = dialect_for_name("postgres");
                analyze_script(&sql, dialect.as_ref()).map(|lineage| lineage.target_tables)
            })
            .unwrap()
            .join()
            .expect("analysis did not overflow its stack");
        assert_eq!(outcome.unwrap(), vec!["<default>.t".to_owned()]);
    }
}

#[test]
fn chains_past_the_limit_are_refused_before_parsing() {
    let (dialect, _) = dialect_for_name("postgres");
    for terms in [50_000, 1_000_000] {
        let sql = format!("INSERT INTO t SELECT a{} FROM s", "+a".repeat(terms - 1));
        let error = analyze_script(&sql, dialect.as_ref()).unwrap_err();
        assert!(error.is_over_limit(), "{error}");
        assert!(
            error.to_string().contains("nested too deeply at line 1"),
            "{error}"
        );
    }
}
