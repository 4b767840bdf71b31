//! Canonical names of datasets and columns, in the form the lineage contract prints.
//!
//! Unquoted identifiers are lower-cased, quoted ones keep their case and lose the quotes, and a
//! table written without a schema gets the placeholder schema `<default>`.

use std::fmt;

use sqlparser::ast::{Ident, ObjectName, ObjectNamePart};

/// Schema placeholder for a table written without one.
pub(super) const DEFAULT_SCHEMA: &str = "<default>";

/// Canonical text of one identifier: quoted keeps its case, unquoted is lower-cased.
pub(super) fn ident_name(ident: &Ident) -> String {
    if ident.quote_style.is_some() {
        ident.value.clone()
    } else {
        ident.value.to_lowercase()
    }
}

/// Canonical text of each part of an object name.
pub(super) fn object_name_parts(name: &ObjectName) -> Vec<String> {
    name.0
        .iter()
        .map(|part| match part {
            ObjectNamePart::Identifier(ident) => ident_name(ident),
            ObjectNamePart::Function(function) => function.to_string().to_lowercase(),
        })
        .collect()
}

/// Canonical form of raw text that is not a plain identifier (a literal naming a table, or the
/// text of an unaliased select expression): text holding a quote character keeps its case and
/// loses the quotes around it, anything else is lower-cased.
pub(super) fn escape_raw_name(raw: &str) -> String {
    const QUOTES: [char; 3] = ['`', '"', '\''];
    if raw.contains(QUOTES) {
        let mut name = raw;
        for quote in QUOTES {
            name = name.trim_matches(quote);
        }
        name.to_string()
    } else {
        raw.to_lowercase()
    }
}

/// A table as `<schema>.<table>`, where the schema may itself hold dots (`db.schema`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct TableName {
    pub(super) schema: String,
    pub(super) name: String,
}

impl TableName {
    /// Builds a table name from canonical parts; `None` when there are no parts.
    pub(super) fn from_parts(parts: &[String]) -> Option<Self> {
        let (name, schema) = parts.split_last()?;
        // The schema part is always lower-cased (quoted or not), as the contract's names are.
        let schema = if schema.is_empty() {
            DEFAULT_SCHEMA.to_string()
        } else {
            schema.join(".").to_lowercase()
        };
        Some(Self {
            schema,
            name: name.clone(),
        })
    }

    /// Builds a table name from an object name as written in SQL.
    pub(super) fn from_object_name(name: &ObjectName) -> Option<Self> {
        Self::from_parts(&object_name_parts(name))
    }

    /// Builds a table name from a dotted canonical string (a column qualifier or a literal):
    /// everything before the last dot is the schema.
    pub(super) fn from_dotted(text: &str) -> Self {
        match text.rsplit_once('.') {
            Some((schema, name)) if !schema.is_empty() => Self {
                schema: schema.to_lowercase(),
                name: name.to_string(),
            },
            _ => Self {
                schema: DEFAULT_SCHEMA.to_string(),
                name: text.to_string(),
            },
        }
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.schema, self.name)
    }
}

/// Something that holds data: a table, or a file/URI path (`s3://...`, `hdfs://...`, a directory).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Dataset {
    Table(TableName),
    Path(String),
}

impl fmt::Display for Dataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dataset::Table(table) => table.fmt(f),
            Dataset::Path(path) => f.write_str(path),
        }
    }
}

/// File formats that Spark and Databricks accept as a path qualifier: ``parquet.`s3://bucket/x` ``.
const FILE_FORMATS: [&str; 9] = [
    "parquet",
    "csv",
    "json",
    "orc",
    "avro",
    "text",
    "delta",
    "binaryfile",
    "jdbc",
];

/// Recognises a Spark-style file query (``format.`path` ``) and returns the path it reads.
pub(super) fn file_path_of(name: &ObjectName) -> Option<String> {
    let [
        ObjectNamePart::Identifier(format),
        ObjectNamePart::Identifier(path),
    ] = name.0.as_slice()
    else {
        return None;
    };
    let is_format =
        format.quote_style.is_none() && FILE_FORMATS.contains(&format.value.to_lowercase().as_str());
    (is_format && path.quote_style == Some('`')).then(|| path.value.clone())
}
