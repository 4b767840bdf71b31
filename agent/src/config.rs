//! The agent's configuration file: versioned YAML, validated while it is read.
//!
//! Owns parsing and validation only. Every field is a parsed type (`TenantId`, `SourceUrl`,
//! `Interval`), so a wrong value is reported by the deserializer with its key path and line. Checking
//! that a source is reachable needs I/O and lives with the sources (`source::connect_all`), reported
//! with the same `file: key: message` shape through [`ConfigError::at_key`].

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cwic_shared::{AgentId, TenantId};
use serde::Deserialize;
use url::Url;

use crate::source::registry::{self, Address, Engine};

/// The only config version this agent reads.
const CURRENT_VERSION: u32 = 1;
/// Collection interval when the file names none.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(15 * 60);
/// Outbox folder when the file names none, relative to the working directory.
const DEFAULT_SPOOL_DIR: &str = "cwic-agent-spool";
/// Folder of what the agent remembers between runs (the last profile of each table, which drift is
/// measured against) when the file names none, relative to the working directory.
const DEFAULT_STATE_DIR: &str = "cwic-agent-state";
/// Columns tried, in order, as a table's freshness column when the source names none: the first one
/// the table has with a date or timestamp type is used.
pub const DEFAULT_FRESHNESS_COLUMNS: [&str; 12] = [
    "updated_at",
    "modified_at",
    "last_modified",
    "last_updated",
    "loaded_at",
    "_loaded_at",
    "inserted_at",
    "ingested_at",
    "created_at",
    "event_time",
    "event_timestamp",
    "timestamp",
];

/// A configuration error, displayed as one line: `file:line:column: key: what was expected`.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.render())]
pub struct ConfigError {
    pub file: PathBuf,
    /// Dotted key path, e.g. `sources[0].url`; empty for the whole document.
    pub key: String,
    pub line_column: Option<(usize, usize)>,
    pub message: String,
}

impl ConfigError {
    pub fn at_key(file: &Path, key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            file: file.to_owned(),
            key: key.into(),
            line_column: None,
            message: message.into(),
        }
    }

    fn render(&self) -> String {
        let mut out = self.file.display().to_string();
        if let Some((line, column)) = self.line_column {
            out.push_str(&format!(":{line}:{column}"));
        }
        if !self.key.is_empty() {
            out.push_str(&format!(": {}", self.key));
        }
        out.push_str(&format!(": {}", self.message));
        out
    }
}

/// The validated configuration. Only this type reaches the rest of the agent.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub tenant: TenantId,
    pub agent_id: AgentId,
    pub nats_url: NatsUrl,
    /// NATS `.creds` file (user JWT + seed, written by `cwic-agent enroll`) for an operator-mode broker.
    pub nats_credentials: Option<PathBuf>,
    pub spool_dir: PathBuf,
    pub state_dir: PathBuf,
    pub interval: Duration,
    pub sources: Vec<SourceConfig>,
}

#[derive(Debug, Clone)]
pub struct SourceConfig {
    pub name: String,
    pub url: SourceUrl,
    pub include: Vec<TablePattern>,
    pub exclude: Vec<TablePattern>,
    /// Profile every collected table (one scan each) and ship the profiles with the metrics, the
    /// drift against the previous profile, and segment counts by low-cardinality columns.
    pub profile: bool,
    /// A check file or a folder of them, run on every collection; results ship with the metrics.
    pub checks: Option<PathBuf>,
    /// A data contract (ODCS v3 or datacontract.com) or a folder of them, translated into checks
    /// run on every collection beside `checks`; results are tagged `contract:<id>`.
    pub contracts: Option<PathBuf>,
    /// Column names tried in order as each table's freshness column.
    pub freshness_columns: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    version: u32,
    tenant: TenantId,
    agent_id: AgentId,
    nats_url: NatsUrl,
    #[serde(default)]
    nats: Option<NatsFile>,
    #[serde(default)]
    spool_dir: Option<PathBuf>,
    #[serde(default)]
    state_dir: Option<PathBuf>,
    #[serde(default)]
    schedule: Option<ScheduleFile>,
    sources: Vec<SourceFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NatsFile {
    /// Relative paths are taken from the config file's folder.
    #[serde(default)]
    credentials: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScheduleFile {
    every: Interval,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceFile {
    name: SourceName,
    url: SourceUrl,
    #[serde(default)]
    include: Vec<TablePattern>,
    #[serde(default)]
    exclude: Vec<TablePattern>,
    #[serde(default)]
    profile: bool,
    /// Relative paths are taken from the config file's folder.
    #[serde(default)]
    checks: Option<PathBuf>,
    /// Relative paths are taken from the config file's folder.
    #[serde(default)]
    contracts: Option<PathBuf>,
    #[serde(default)]
    freshness_columns: Option<Vec<String>>,
}

impl AgentConfig {
    /// Reads, parses and validates a config file, then applies `CWIC_`-prefixed environment overrides
    /// (`CWIC_TENANT`, `CWIC_AGENT_ID`, `CWIC_NATS_URL`, `CWIC_SPOOL_DIR`).
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| ConfigError::at_key(path, "", format!("cannot read the file: {error}")))?;
        Self::parse(path, &text, |name| std::env::var(name).ok())
    }

    /// Parses config text; `env` looks up override variables (injected so tests need not touch the
    /// process environment).
    pub fn parse(path: &Path, text: &str, env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let deserializer = serde_yaml_ng::Deserializer::from_str(text);
        let file: ConfigFile = serde_path_to_error::deserialize(deserializer).map_err(|error| {
            let key = error.path().to_string();
            let inner = error.into_inner();
            yaml_error(path, text, if key == "." { String::new() } else { key }, &inner)
        })?;
        if file.version != CURRENT_VERSION {
            return Err(ConfigError::at_key(
                path,
                "version",
                format!(
                    "expected {CURRENT_VERSION}, found {} (this agent reads version 1 files)",
                    file.version
                ),
            ));
        }
        if file.sources.is_empty() {
            return Err(ConfigError::at_key(
                path,
                "sources",
                "expected at least one source",
            ));
        }
        let mut names = std::collections::HashSet::new();
        for (index, source) in file.sources.iter().enumerate() {
            if !names.insert(source.name.0.as_str()) {
                return Err(ConfigError::at_key(
                    path,
                    format!("sources[{index}].name"),
                    format!("expected a unique name, `{}` is used twice", source.name.0),
                ));
            }
        }
        let mut config = AgentConfig {
            tenant: file.tenant,
            agent_id: file.agent_id,
            nats_url: file.nats_url,
            nats_credentials: file
                .nats
                .and_then(|nats| nats.credentials)
                .map(|credentials| relative_to_config(path, credentials)),
            spool_dir: file.spool_dir.unwrap_or_else(|| PathBuf::from(DEFAULT_SPOOL_DIR)),
            state_dir: file.state_dir.unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR)),
            interval: file
                .schedule
                .map_or(DEFAULT_INTERVAL, |schedule| schedule.every.0),
            sources: file
                .sources
                .into_iter()
                .map(|source| SourceConfig {
                    name: source.name.0,
                    url: source.url,
                    include: source.include,
                    exclude: source.exclude,
                    profile: source.profile,
                    checks: source.checks.map(|checks| relative_to_config(path, checks)),
                    contracts: source
                        .contracts
                        .map(|contracts| relative_to_config(path, contracts)),
                    freshness_columns: source.freshness_columns.unwrap_or_else(|| {
                        DEFAULT_FRESHNESS_COLUMNS
                            .iter()
                            .map(|name| (*name).to_owned())
                            .collect()
                    }),
                })
                .collect(),
        };
        let env_error = |variable: &str, message: String| {
            ConfigError::at_key(path, format!("environment variable {variable}"), message)
        };
        if let Some(value) = env("CWIC_TENANT") {
            config.tenant =
                TenantId::parse(&value).map_err(|error| env_error("CWIC_TENANT", error.to_string()))?;
        }
        if let Some(value) = env("CWIC_AGENT_ID") {
            config.agent_id =
                AgentId::parse(&value).map_err(|error| env_error("CWIC_AGENT_ID", error.to_string()))?;
        }
        if let Some(value) = env("CWIC_NATS_URL") {
            config.nats_url = NatsUrl::try_from(value).map_err(|error| env_error("CWIC_NATS_URL", error))?;
        }
        if let Some(value) = env("CWIC_NATS_CREDENTIALS") {
            config.nats_credentials = Some(PathBuf::from(value));
        }
        if let Some(value) = env("CWIC_SPOOL_DIR") {
            config.spool_dir = PathBuf::from(value);
        }
        Ok(config)
    }
}

/// `file` as written when absolute, else taken from the folder of the config file at `config`.
fn relative_to_config(config: &Path, file: PathBuf) -> PathBuf {
    if file.is_absolute() {
        return file;
    }
    config.parent().map_or(file.clone(), |dir| dir.join(&file))
}

fn yaml_error(path: &Path, text: &str, key: String, error: &serde_yaml_ng::Error) -> ConfigError {
    let line_column = error
        .location()
        .map(|location| refine_location(text, (location.line(), location.column()), &key));
    // The YAML library adds its own " at line L column C" and a shorter path in front; the location and
    // the full key path are shown by `ConfigError` instead.
    let mut message = error.to_string();
    if let Some(index) = message.find(" at line ") {
        message.truncate(index);
    }
    if let Some((prefix, rest)) = message.split_once(": ")
        && !prefix.contains(' ')
        && key.starts_with(prefix)
    {
        message = rest.to_owned();
    }
    ConfigError {
        file: path.to_owned(),
        key,
        line_column,
        message,
    }
}

/// Errors raised while validating a value are located by the YAML library at the start of the
/// enclosing mapping; move them to the line of the key itself (`url:` for `sources[0].url`), searching
/// forward from the reported line, and point at its value.
fn refine_location(text: &str, reported: (usize, usize), key: &str) -> (usize, usize) {
    let Some(field) = key
        .rsplit('.')
        .next()
        .filter(|field| !field.is_empty() && !field.contains('['))
    else {
        return reported;
    };
    let needle = format!("{field}:");
    let at_reported = text
        .lines()
        .nth(reported.0.saturating_sub(1))
        .and_then(|line| line.get(reported.1.saturating_sub(1)..));
    if at_reported.is_some_and(|rest| rest.starts_with(&needle)) {
        return reported;
    }
    for (index, line) in text.lines().enumerate().skip(reported.0.saturating_sub(1)) {
        let content = line.trim_start().trim_start_matches("- ").trim_start();
        if content.starts_with(&needle) {
            let key_column = line.len() - content.len();
            let value = &content[needle.len()..];
            let value_offset = value.len() - value.trim_start().len();
            return (index + 1, key_column + needle.len() + value_offset + 1);
        }
    }
    reported
}

/// A source name: non-empty, printable, used in asset identities.
struct SourceName(String);

impl<'de> Deserialize<'de> for SourceName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        let valid = !value.is_empty()
            && value.len() <= 63
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if valid {
            Ok(SourceName(value))
        } else {
            Err(serde::de::Error::custom(format!(
                "expected a source name of 1 to 63 letters, digits, `-` or `_`, found `{value}`"
            )))
        }
    }
}

/// A data source URL. Prints without its password.
#[derive(Clone, PartialEq, Eq)]
pub struct SourceUrl {
    url: Url,
    engine: &'static Engine,
}

impl SourceUrl {
    /// The engine the scheme names (see `source::registry`).
    pub fn kind(&self) -> &'static Engine {
        self.engine
    }

    /// The full URL including credentials, for the driver only. Never log it.
    pub fn expose_secret(&self) -> &str {
        self.url.as_str()
    }
}

impl TryFrom<String> for SourceUrl {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        let url = Url::parse(&value).map_err(|error| {
            format!("expected a source URL like postgres://user@host/db, found an invalid URL ({error})")
        })?;
        let engine = registry::by_scheme(url.scheme()).ok_or_else(|| {
            format!(
                "expected a URL starting with {}, found scheme `{}`",
                registry::schemes_text(),
                url.scheme()
            )
        })?;
        match engine.address {
            Address::Host if url.host_str().is_none_or(str::is_empty) => {
                return Err(format!(
                    "expected a host in the source URL, e.g. {}://user@localhost/db",
                    url.scheme()
                ));
            }
            Address::Path { example } if url.path().len() <= 1 => {
                return Err(format!(
                    "expected a path in the source URL, e.g. {}:///data/warehouse{example}",
                    url.scheme()
                ));
            }
            _ => {}
        }
        Ok(SourceUrl { url, engine })
    }
}

impl<'de> Deserialize<'de> for SourceUrl {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::try_from(String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for SourceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut redacted = self.url.clone();
        if redacted.password().is_some() {
            // Setting a password only fails for URLs that cannot have one, and this one has one.
            let _ = redacted.set_password(Some("****"));
        }
        f.write_str(redacted.as_str())
    }
}

impl fmt::Debug for SourceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SourceUrl({self})")
    }
}

/// The NATS server the agent ships to.
#[derive(Clone, PartialEq, Eq)]
pub struct NatsUrl(Url);

impl NatsUrl {
    pub fn expose_secret(&self) -> &str {
        self.0.as_str()
    }
}

impl TryFrom<String> for NatsUrl {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        let url = Url::parse(&value).map_err(|error| {
            format!("expected a NATS URL like nats://host:4222, found an invalid URL ({error})")
        })?;
        if !matches!(url.scheme(), "nats" | "tls") {
            return Err(format!(
                "expected a URL starting with nats:// or tls://, found scheme `{}`",
                url.scheme()
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("expected a host in the NATS URL, e.g. nats://127.0.0.1:4222".to_owned());
        }
        Ok(NatsUrl(url))
    }
}

impl<'de> Deserialize<'de> for NatsUrl {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::try_from(String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for NatsUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut redacted = self.0.clone();
        if redacted.password().is_some() {
            let _ = redacted.set_password(Some("****"));
        }
        f.write_str(redacted.as_str())
    }
}

impl fmt::Debug for NatsUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NatsUrl({self})")
    }
}

/// A collection interval such as `30s`, `5m` or `1h`.
struct Interval(Duration);

impl<'de> Deserialize<'de> for Interval {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        let duration = humantime::parse_duration(&value).map_err(|_| {
            serde::de::Error::custom(format!("expected a duration like 30s, 5m or 1h, found `{value}`"))
        })?;
        if duration < Duration::from_millis(100) {
            return Err(serde::de::Error::custom(format!(
                "expected an interval of at least 100ms, found `{value}`"
            )));
        }
        Ok(Interval(duration))
    }
}

/// A `schema.table` glob where `*` matches any run of characters, e.g. `public.*` or `*.orders`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TablePattern(String);

impl TablePattern {
    pub fn matches(&self, schema: &str, table: &str) -> bool {
        glob_match(self.0.as_bytes(), format!("{schema}.{table}").as_bytes())
    }
}

impl<'de> Deserialize<'de> for TablePattern {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        if value.split('.').count() != 2 {
            return Err(serde::de::Error::custom(format!(
                "expected a pattern of the form schema.table such as `public.*`, found `{value}`"
            )));
        }
        Ok(TablePattern(value))
    }
}

fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|skip| glob_match(rest, &text[skip..])),
        Some((first, rest)) => text
            .split_first()
            .is_some_and(|(c, tail)| c == first && glob_match(rest, tail)),
    }
}

impl SourceConfig {
    /// Whether a table is collected: it matches an include pattern (or there are none) and no exclude.
    pub fn selects(&self, schema: &str, table: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|p| p.matches(schema, table)))
            && !self.exclude.iter().any(|p| p.matches(schema, table))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "\
version: 1
tenant: acme
agent_id: wh-1
nats_url: nats://127.0.0.1:4222
spool_dir: /var/lib/cwic/spool
schedule:
  every: 5m
sources:
  - name: warehouse
    url: postgres://cwic:secret@127.0.0.1:5432/shop
    include: [\"public.*\"]
    exclude: [\"public.tmp_*\"]
";

    fn parse(text: &str) -> Result<AgentConfig, ConfigError> {
        AgentConfig::parse(Path::new("agent.yaml"), text, |_| None)
    }

    #[test]
    fn reads_a_valid_file() {
        let config = parse(VALID).unwrap();
        assert_eq!(config.tenant.as_str(), "acme");
        assert_eq!(config.agent_id.as_str(), "wh-1");
        assert_eq!(config.interval, Duration::from_secs(300));
        assert_eq!(config.spool_dir, PathBuf::from("/var/lib/cwic/spool"));
        let source = &config.sources[0];
        assert_eq!(source.url.kind().name, "postgres");
        assert_eq!(source.url.to_string(), "postgres://cwic:****@127.0.0.1:5432/shop");
        assert!(source.selects("public", "orders"));
        assert!(!source.selects("public", "tmp_orders"));
        assert!(!source.selects("audit", "orders"));
    }

    #[test]
    fn defaults_apply() {
        let text = "version: 1\ntenant: acme\nagent_id: a\nnats_url: nats://h:4222\nsources:\n  - name: w\n    url: postgres://h/db\n";
        let config = parse(text).unwrap();
        assert_eq!(config.interval, DEFAULT_INTERVAL);
        assert_eq!(config.spool_dir, PathBuf::from(DEFAULT_SPOOL_DIR));
        assert_eq!(config.state_dir, PathBuf::from(DEFAULT_STATE_DIR));
        let source = &config.sources[0];
        assert!(source.selects("any", "table"));
        assert!(!source.profile);
        assert_eq!(source.checks, None);
        assert_eq!(source.freshness_columns[0], "updated_at");
        assert_eq!(source.freshness_columns.len(), DEFAULT_FRESHNESS_COLUMNS.len());
    }

    #[test]
    fn checks_are_found_beside_the_config_and_freshness_columns_replace_the_defaults() {
        let text = format!(
            "{VALID}    checks: checks/orders.yml\n    freshness_columns: [loaded_at]\nstate_dir: /var/lib/cwic/state\n"
        );
        let config = AgentConfig::parse(Path::new("/etc/cwic/agent.yaml"), &text, |_| None).unwrap();
        let source = &config.sources[0];
        assert_eq!(source.checks, Some(PathBuf::from("/etc/cwic/checks/orders.yml")));
        assert_eq!(source.freshness_columns, ["loaded_at"]);
        assert_eq!(config.state_dir, PathBuf::from("/var/lib/cwic/state"));
    }

    #[test]
    fn unknown_key_names_file_line_key_and_expectation() {
        let text = VALID.replace("  every: 5m", "  every: 5m\n  evry: 1m");
        let error = parse(&text).unwrap_err().to_string();
        assert!(
            error == "agent.yaml:8:3: schedule.evry: unknown field `evry`, expected `every`",
            "{error}"
        );
    }

    #[test]
    fn wrong_type_names_the_key() {
        let text = VALID.replace("version: 1", "version: one");
        let error = parse(&text).unwrap_err().to_string();
        assert!(
            error.starts_with("agent.yaml:1:10: version: invalid type: string \"one\", expected u32"),
            "{error}"
        );
    }

    #[test]
    fn invalid_values_name_the_nested_key() {
        let text = VALID.replace("postgres://cwic:secret", "redis://cwic:secret");
        let error = parse(&text).unwrap_err().to_string();
        assert_eq!(
            error,
            "agent.yaml:10:10: sources[0].url: expected a URL starting with postgres://, mysql://, mariadb://, \
             sqlite:// or file://, found scheme `redis`"
        );
        let error = parse(&VALID.replace("postgres://cwic:secret@127.0.0.1:5432/shop", "sqlite://"))
            .unwrap_err()
            .to_string();
        assert!(
            error.ends_with(
                "sources[0].url: expected a path in the source URL, e.g. sqlite:///data/warehouse.db"
            ),
            "{error}"
        );
        let error = parse(&VALID.replace("every: 5m", "every: soon"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "agent.yaml:7:3: schedule.every: expected a duration like 30s, 5m or 1h, found `soon`"
        );
        let error = parse(&VALID.replace("tenant: acme", "tenant: Acme"))
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("agent.yaml:2:9: tenant: tenant id `Acme` has `A` at position 1"),
            "{error}"
        );
    }

    #[test]
    fn missing_key_and_wrong_version() {
        let error = parse(&VALID.replace("agent_id: wh-1\n", ""))
            .unwrap_err()
            .to_string();
        assert!(error.contains("missing field `agent_id`"), "{error}");
        let error = parse(&VALID.replace("version: 1", "version: 2"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "agent.yaml: version: expected 1, found 2 (this agent reads version 1 files)"
        );
    }

    #[test]
    fn duplicate_keys_and_names_are_errors() {
        let error = parse(&VALID.replace("tenant: acme", "tenant: acme\ntenant: other"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("duplicate"), "{error}");
        let twice = format!("{VALID}  - name: warehouse\n    url: postgres://h/db\n");
        let error = parse(&twice).unwrap_err().to_string();
        assert_eq!(
            error,
            "agent.yaml: sources[1].name: expected a unique name, `warehouse` is used twice"
        );
    }

    #[test]
    fn nats_credentials_are_taken_from_the_config_folder() {
        let text = "version: 1\ntenant: acme\nagent_id: a\nnats_url: nats://h:4222\nnats:\n  credentials: nats.creds\nsources:\n  - name: w\n    url: postgres://h/db\n";
        let config = AgentConfig::parse(Path::new("/etc/cwic/agent.yaml"), text, |_| None).unwrap();
        assert_eq!(
            config.nats_credentials,
            Some(PathBuf::from("/etc/cwic/nats.creds"))
        );
        let absolute = text.replace("nats.creds", "/secrets/n.creds");
        let config = AgentConfig::parse(Path::new("/etc/cwic/agent.yaml"), &absolute, |_| None).unwrap();
        assert_eq!(config.nats_credentials, Some(PathBuf::from("/secrets/n.creds")));
        let config = AgentConfig::parse(Path::new("agent.yaml"), VALID, |_| None).unwrap();
        assert_eq!(config.nats_credentials, None);
        let typo = text.replace("credentials:", "credential:");
        let error = AgentConfig::parse(Path::new("agent.yaml"), &typo, |_| None)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("agent.yaml:6:3: nats.credential: unknown field `credential`"),
            "{error}"
        );
    }

    #[test]
    fn environment_overrides_the_file() {
        let config = AgentConfig::parse(Path::new("agent.yaml"), VALID, |name| match name {
            "CWIC_NATS_URL" => Some("nats://broker:4333".to_owned()),
            "CWIC_AGENT_ID" => Some("wh-2".to_owned()),
            _ => None,
        })
        .unwrap();
        assert_eq!(config.nats_url.to_string(), "nats://broker:4333");
        assert_eq!(config.agent_id.as_str(), "wh-2");
        let error = AgentConfig::parse(Path::new("agent.yaml"), VALID, |name| {
            (name == "CWIC_NATS_URL").then(|| "http://x".to_owned())
        })
        .unwrap_err()
        .to_string();
        assert_eq!(
            error,
            "agent.yaml: environment variable CWIC_NATS_URL: expected a URL starting with nats:// or tls://, found scheme `http`"
        );
    }

    #[test]
    fn globs() {
        assert!(glob_match(b"*.orders", b"public.orders"));
        assert!(glob_match(b"public.*", b"public."));
        assert!(!glob_match(b"public.ord", b"public.orders"));
        assert!(glob_match(b"p*c.o*s", b"public.orders"));
    }
}
