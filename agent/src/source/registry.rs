//! The engines the agent can read, and the choice of one from a source URL.
//!
//! Owns the scheme → engine table: the only place that knows which engines exist. Must not know what
//! an engine does beyond its [`Engine`] description; the engine's module does the rest.

use std::sync::Arc;

use futures::future::BoxFuture;

use super::{Capabilities, Source, SourceError, SourceResult};

/// Every engine. Adding one: its module (implementing [`Source`] and defining its `ENGINE`), and a
/// line here.
pub static ENGINES: &[&Engine] = &[
    &super::postgres::ENGINE,
    &super::mysql::ENGINE,
    &super::sqlite::ENGINE,
    &super::files::ENGINE,
];

/// What an engine's `open` returns: the opened source behind the one trait.
pub type OpenFuture<'a> = BoxFuture<'a, SourceResult<Arc<dyn Source>>>;

/// What a URL must hold after the scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Address {
    /// A server: `scheme://user@host/database`.
    Host,
    /// A file or folder: `scheme:///path` (`example` completes the message of a missing path).
    Path { example: &'static str },
}

/// One engine: how its URLs look, what it can do, and how to open it.
pub struct Engine {
    /// As messages and the wire (`source_kind`) name it: `postgres`, `mysql`, `sqlite`, `file`.
    pub name: &'static str,
    /// As prose names it: `PostgreSQL`, `MySQL/MariaDB`, `SQLite`, `files`.
    pub title: &'static str,
    /// URL schemes, as messages list them.
    pub schemes: &'static [&'static str],
    /// Further schemes accepted without being listed (`postgresql`).
    pub aliases: &'static [&'static str],
    pub address: Address,
    /// A plain path without a scheme is a URL of this engine (files).
    pub takes_plain_paths: bool,
    /// The schema a table name without one is looked up in, where the engine has one.
    pub default_schema: Option<&'static str>,
    /// The SQL dialect of its view definitions and query log, as `cwic lineage --dialect` names it.
    pub lineage_dialect: &'static str,
    pub capabilities: Capabilities,
    /// Opens the source: parses the URL, checks that the engine answers, and builds its pool.
    pub open: fn(&str) -> OpenFuture<'_>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl PartialEq for Engine {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Engine {}

/// The engine of a URL scheme (any case).
pub fn by_scheme(scheme: &str) -> Option<&'static Engine> {
    let scheme = scheme.to_ascii_lowercase();
    ENGINES
        .iter()
        .copied()
        .find(|engine| engine.schemes.contains(&scheme.as_str()) || engine.aliases.contains(&scheme.as_str()))
}

/// `postgres://, mysql://, … or file://`: the listed schemes, for messages.
pub fn schemes_text() -> String {
    let schemes: Vec<String> = ENGINES
        .iter()
        .flat_map(|engine| engine.schemes.iter().map(|scheme| format!("{scheme}://")))
        .collect();
    match schemes.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// `PostgreSQL, MySQL/MariaDB and SQLite`: the engines that have a capability, for messages.
pub fn titles_with(capability: impl Fn(&Capabilities) -> bool) -> String {
    let titles: Vec<&str> = ENGINES
        .iter()
        .filter(|engine| capability(&engine.capabilities))
        .map(|engine| engine.title)
        .collect();
    match titles.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => "no engine".to_owned(),
    }
}

/// The engine of a source URL: `scheme://…`, `scheme:path` for a registered scheme, or a plain path
/// (files).
pub fn for_url(url: &str) -> SourceResult<&'static Engine> {
    let scheme = url.split_once("://").map(|(scheme, _)| scheme).or_else(|| {
        url.split_once(':')
            .map(|(scheme, _)| scheme)
            .filter(|scheme| by_scheme(scheme).is_some())
    });
    match scheme {
        Some(scheme) => by_scheme(scheme).ok_or_else(|| SourceError::Connect {
            url: redact(url),
            cause: format!(
                "unknown scheme `{scheme}`: expected {} or a file path",
                schemes_text()
            ),
        }),
        None => ENGINES
            .iter()
            .copied()
            .find(|engine| engine.takes_plain_paths)
            .ok_or_else(|| SourceError::Connect {
                url: url.to_owned(),
                cause: format!("expected a URL starting with {}", schemes_text()),
            }),
    }
}

/// Opens the source a URL names, with the engine its scheme picks.
pub async fn open(url: &str) -> SourceResult<Arc<dyn Source>> {
    let engine = for_url(url)?;
    (engine.open)(url).await
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("****"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scheme_picks_one_engine() {
        assert_eq!(for_url("postgres://u@h/db").unwrap().name, "postgres");
        assert_eq!(for_url("POSTGRESQL://u@h/db").unwrap().name, "postgres");
        assert_eq!(for_url("mariadb://u@h/db").unwrap().name, "mysql");
        assert_eq!(for_url("sqlite:///tmp/x.db").unwrap().name, "sqlite");
        assert_eq!(for_url("sqlite:x.db").unwrap().name, "sqlite");
        assert_eq!(for_url("file:///data").unwrap().name, "file");
        assert_eq!(for_url("/data/orders.csv").unwrap().name, "file");
        let error = for_url("redis://u:pw@h/0").unwrap_err().to_string();
        assert_eq!(
            error,
            "cannot connect to redis://u:****@h/0: unknown scheme `redis`: expected postgres://, \
             mysql://, mariadb://, sqlite:// or file:// or a file path"
        );
        assert_eq!(
            titles_with(|capabilities| capabilities.checks),
            "PostgreSQL, MySQL/MariaDB and SQLite"
        );
        let mut names: Vec<&str> = ENGINES.iter().map(|engine| engine.name).collect();
        names.dedup();
        assert_eq!(names.len(), ENGINES.len(), "engine names are unique");
    }

    #[test]
    fn redact_hides_the_password() {
        assert_eq!(
            redact("postgres://cwic:secret@localhost:5432/db"),
            "postgres://cwic:****@localhost:5432/db"
        );
    }
}
