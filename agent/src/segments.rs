//! Segment counts: each column's rows and NULLs within each value of the table's low-cardinality
//! columns, from one grouped pushdown query per segment column, so root-cause analysis in the
//! control plane can say which segment ("country = BR") explains a burst of NULLs.
//!
//! Owns choosing segment columns from the profile and the grouped query. Must not ship personal data:
//! a column the profiler flagged as PII is never a segment column, and only counts travel besides
//! the segment values.

use cwic_proto::agent::v1::{AssetObservation, ColumnProfile, SegmentCount};

use crate::checks::exec::CheckExecutor;

/// Segment columns per table, at most.
const MAX_SEGMENT_COLUMNS: usize = 3;
/// Values a segment column may have, at most (more is not a segment, and would not fit a batch).
const MAX_SEGMENT_VALUES: u64 = 20;
/// Columns counted per segment query, at most.
const MAX_COUNTED_COLUMNS: usize = 64;

/// Segment columns of a profiled table: non-PII text, boolean or integer columns with 2 to
/// [`MAX_SEGMENT_VALUES`] exactly counted distinct values, fewest values first.
pub fn segment_columns(profiles: &[ColumnProfile]) -> Vec<&str> {
    let mut candidates: Vec<(u64, &str)> = profiles
        .iter()
        .filter(|profile| {
            profile.error.is_empty()
                && !profile.pii
                && profile.distinct_exact
                && matches!(profile.kind.as_str(), "text" | "boolean" | "integer")
        })
        .filter_map(|profile| {
            profile
                .distinct
                .filter(|distinct| (2..=MAX_SEGMENT_VALUES).contains(distinct))
                .map(|distinct| (distinct, profile.column.as_str()))
        })
        .collect();
    candidates.sort();
    candidates
        .into_iter()
        .take(MAX_SEGMENT_COLUMNS)
        .map(|(_, column)| column)
        .collect()
}

/// Runs the grouped queries for `asset` (profiled) and returns its segment counts. A failing query
/// is returned as an error naming the segment column; the counts of the others are kept by the
/// caller's choice.
pub async fn measure(
    executor: &dyn CheckExecutor,
    asset: &AssetObservation,
) -> (Vec<SegmentCount>, Vec<String>) {
    let dialect = executor.dialect();
    let table = format!(
        "{}.{}",
        dialect.quote_ident(&asset.schema),
        dialect.quote_ident(&asset.name)
    );
    let mut counts = Vec::new();
    let mut errors = Vec::new();
    for segment in segment_columns(&asset.profiles) {
        let counted: Vec<&str> = asset
            .columns
            .iter()
            .map(|column| column.name.as_str())
            .filter(|column| *column != segment)
            .take(MAX_COUNTED_COLUMNS)
            .collect();
        if counted.is_empty() {
            continue;
        }
        let segment_text = dialect.as_text(&dialect.quote_ident(segment));
        // The executor reads every value as text.
        let mut sql = format!("SELECT {segment_text}, {}", dialect.as_text("count(*)"));
        for column in &counted {
            let count = format!("count({})", dialect.quote_ident(column));
            sql.push_str(&format!(", {}", dialect.as_text(&count)));
        }
        sql.push_str(&format!(" FROM {table} GROUP BY {segment_text}"));
        // One row more than a segment may have tells that the column grew past being one.
        let limit = MAX_SEGMENT_VALUES as usize + 2;
        let rows = match executor.fetch_rows(&sql, limit).await {
            Ok(rows) if rows.len() < limit => rows,
            Ok(_) => continue,
            Err(error) => {
                errors.push(format!("segment counts by {segment}: {error}"));
                continue;
            }
        };
        for row in rows {
            let number = |index: usize| -> u64 {
                row.get(index)
                    .and_then(|value| value.as_deref())
                    .and_then(|value| value.parse().ok())
                    .unwrap_or(0)
            };
            let segment_value = row.first().cloned().flatten().unwrap_or_default();
            let rows_in_segment = number(1);
            for (index, column) in counted.iter().enumerate() {
                counts.push(SegmentCount {
                    column: (*column).to_owned(),
                    segment_column: segment.to_owned(),
                    segment_value: segment_value.clone(),
                    rows: rows_in_segment,
                    nulls: rows_in_segment.saturating_sub(number(index + 2)),
                });
            }
        }
    }
    (counts, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(column: &str, kind: &str, distinct: u64, pii: bool) -> ColumnProfile {
        ColumnProfile {
            column: column.into(),
            kind: kind.into(),
            distinct: Some(distinct),
            distinct_exact: true,
            pii,
            ..Default::default()
        }
    }

    #[test]
    fn segment_columns_are_low_cardinality_and_never_personal_data() {
        let profiles = [
            profile("id", "integer", 10_000, false),
            profile("country", "text", 12, false),
            profile("email", "text", 3, true),
            profile("paid", "boolean", 2, false),
            profile("amount", "float", 4, false),
            profile("constant", "text", 1, false),
            profile("region", "text", 5, false),
            profile("tier", "integer", 3, false),
        ];
        assert_eq!(segment_columns(&profiles), vec!["paid", "tier", "region"]);
    }
}
