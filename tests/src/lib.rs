//! Test harness for end-to-end tests: real PostgreSQL databases, real `nats-server` processes and the
//! real `cwic` and `cwic-agent` binaries, each test with its own of everything.
//!
//! Needs `scripts/dev-services start` (PostgreSQL with the `cwic` role, `nats-server` installed) and
//! the binaries built (`cargo build --workspace --bins`, which the test command runs first).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection, PgPool};

/// The repository's root folder.
pub fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Admin URL for creating test databases; the role needs CREATEDB.
pub fn admin_database_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://cwic:cwic@127.0.0.1:5432/cwic".to_owned())
}

/// Polls `condition` until it returns `Some` or `timeout` passes.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut condition: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = Instant::now() + timeout;
    let mut last_error = None;
    loop {
        match condition().await {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => {}
            Err(error) => last_error = Some(error),
        }
        if Instant::now() > deadline {
            match last_error {
                Some(error) => bail!("timed out after {timeout:?} waiting for {what}: last error: {error:#}"),
                None => bail!("timed out after {timeout:?} waiting for {what}"),
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Signing key every test control plane uses, so a test can also mint access tokens itself.
pub const TEST_JWT_KEYS: &str = "test:cwic-test-signing-key-0123456789abcdef";

/// Creates an API token with `role` in `tenant` straight in the control plane's database (the
/// tenant is created when missing) and returns its secret.
pub async fn mint_token(database_url: &str, tenant: &str, role: &str) -> anyhow::Result<String> {
    use cwic_control_plane::auth::{OpaqueToken, Role, TokenKind};
    let store = cwic_control_plane::store::Store::connect(database_url).await?;
    store.migrate().await?;
    let tenant = cwic_shared::TenantId::parse(tenant)?;
    let role: Role = role.parse().map_err(anyhow::Error::msg)?;
    store.ensure_tenant(&tenant, tenant.as_str()).await?;
    let secret = OpaqueToken::generate(TokenKind::Api)?;
    store
        .tenant(&tenant)
        .create_api_token(&format!("test-{role}"), role, &secret.hash, "test", None, None)
        .await?;
    store.close().await;
    Ok(secret.text)
}

/// Creates a user with a password and `role` in `tenant` (both created when missing).
pub async fn add_user(
    database_url: &str,
    tenant: &str,
    email: &str,
    password: &str,
    role: &str,
) -> anyhow::Result<uuid::Uuid> {
    use cwic_control_plane::auth::{Role, hash_password};
    let store = cwic_control_plane::store::Store::connect(database_url).await?;
    store.migrate().await?;
    let tenant = cwic_shared::TenantId::parse(tenant)?;
    let role: Role = role.parse().map_err(anyhow::Error::msg)?;
    store.ensure_tenant(&tenant, tenant.as_str()).await?;
    let user = store
        .add_user_as_operator(&tenant, email, &hash_password(password)?, role)
        .await?
        .map_err(anyhow::Error::msg)?;
    store.close().await;
    Ok(user)
}

/// The control plane's configuration for an in-process test server on a free port, without ingest.
pub fn test_serve_config(database_url: &str) -> cwic_control_plane::app::ServeConfig {
    cwic_control_plane::app::ServeConfig {
        database_url: database_url.to_owned(),
        nats_url: None,
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        console_dir: PathBuf::from("/nonexistent"),
        jwt_keys: Some(TEST_JWT_KEYS.to_owned()),
        rate_limits: Default::default(),
        public_url: None,
        installation_id: None,
        jobs: Default::default(),
        events_relay: true,
    }
}

/// A free TCP port on loopback (bound and released; fine for tests on one machine).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap_or(0)
}

/// Path of a workspace binary next to the test executable (`target/<profile>/<name>`).
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    // target/<profile>/deps/<test> → target/<profile>/<name>
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} is missing: run `cargo build --workspace --bins` first",
        path.display()
    );
    path
}

/// A PostgreSQL database of its own, dropped when the value is dropped.
pub struct TestDb {
    pub name: String,
    pub url: String,
    pub pool: PgPool,
}

impl TestDb {
    pub async fn create(prefix: &str) -> anyhow::Result<Self> {
        let admin = admin_database_url();
        let name = format!("cwic_t_{prefix}_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::connect(&admin).await.with_context(|| {
            format!("cannot connect to {admin}: is PostgreSQL running (scripts/dev-services start)?")
        })?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        let url = match admin.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => bail!("DATABASE_URL {admin} has no database part"),
        };
        let pool = PgPoolOptions::new().max_connections(4).connect(&url).await?;
        Ok(Self { name, url, pool })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let admin = admin_database_url();
        let name = self.name.clone();
        // The test's runtime may be blocked in this drop, so a thread with its own small runtime drops
        // the database; WITH (FORCE) ends the pool's connections from the server side.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            runtime.block_on(async move {
                if let Ok(mut conn) = PgConnection::connect(&admin).await {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                    )))
                    .execute(&mut conn)
                    .await;
                }
            });
        })
        .join();
    }
}

/// The MariaDB/MySQL server tests use: `MYSQL_URL`, default the dev services' MariaDB.
pub fn mysql_admin_url() -> String {
    std::env::var("MYSQL_URL").unwrap_or_else(|_| "mysql://cwic:cwic@127.0.0.1:3306/cwic".to_owned())
}

/// A fresh MariaDB/MySQL database (utf8mb4), dropped when the value is.
pub struct MysqlDb {
    admin_url: String,
    pub name: String,
    pub url: String,
}

impl MysqlDb {
    /// Creates `cwic_<prefix>_<uuid>` and runs `statements` (separated by `;` and a line break) in it.
    pub async fn create(prefix: &str, statements: &str) -> anyhow::Result<Self> {
        use sqlx::Connection;
        let admin_url = mysql_admin_url();
        let name = format!("cwic_{prefix}_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::MySqlConnection::connect(&admin_url)
            .await
            .map_err(|error| {
                anyhow::anyhow!(
                    "cannot connect to {admin_url}: is MariaDB running (scripts/dev-services start)? {error}"
                )
            })?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE `{name}` CHARACTER SET utf8mb4"
        )))
        .execute(&mut admin)
        .await?;
        admin.close().await?;
        let url = format!(
            "{}/{name}",
            admin_url
                .rsplit_once('/')
                .map_or(admin_url.as_str(), |(base, _)| base)
        );
        let db = Self { admin_url, name, url };
        let mut connection = sqlx::MySqlConnection::connect(&db.url).await?;
        for statement in statements.split(";\n").filter(|s| !s.trim().is_empty()) {
            sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_owned()))
                .execute(&mut connection)
                .await?;
        }
        connection.close().await?;
        Ok(db)
    }
}

impl Drop for MysqlDb {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // The test's runtime may be blocked in this drop: a thread with its own runtime drops it.
        let _ = std::thread::spawn(move || {
            use sqlx::Connection;
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            runtime.block_on(async move {
                if let Ok(mut admin) = sqlx::MySqlConnection::connect(&admin_url).await {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS `{name}`")))
                        .execute(&mut admin)
                        .await;
                }
            });
        })
        .join();
    }
}

/// A PostgreSQL server of its own (initdb into a temporary folder, a free port), for tests that stop
/// and restart the database under a running control plane without disturbing anyone else's.
pub struct PgServer {
    pub port: u16,
    dir: tempfile::TempDir,
    bin: PathBuf,
}

impl PgServer {
    pub async fn start() -> anyhow::Result<Self> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .context("PostgreSQL server binaries are not installed under /usr/lib/postgresql")?
            .filter_map(Result::ok)
            .map(|entry| entry.path().join("bin"))
            .filter(|bin| bin.join("initdb").is_file())
            .max()
            .context("no initdb under /usr/lib/postgresql/*/bin")?;
        let dir = tempfile::tempdir()?;
        let server = Self {
            port: free_port(),
            dir,
            bin,
        };
        if server.as_root() {
            // initdb refuses to run as root: the cluster belongs to the postgres account.
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(server.dir.path())
                .status()?;
            if !status.success() {
                bail!(
                    "cannot hand {} to the postgres account",
                    server.dir.path().display()
                );
            }
        }
        let data = server.dir.path().join("data");
        server.run(
            "initdb",
            &[
                "-D",
                &data.to_string_lossy(),
                "-U",
                "cwic",
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        )?;
        server.start_again().await?;
        Ok(server)
    }

    fn as_root(&self) -> bool {
        std::env::var("USER").map(|user| user == "root").unwrap_or(false)
            || Command::new("id")
                .arg("-u")
                .output()
                .map(|output| output.stdout.starts_with(b"0\n"))
                .unwrap_or(false)
    }

    fn run(&self, program: &str, args: &[&str]) -> anyhow::Result<()> {
        let path = self.bin.join(program);
        let output = if self.as_root() {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&path)
                .args(args)
                .output()?
        } else {
            Command::new(&path).args(args).output()?
        };
        if !output.status.success() {
            bail!(
                "{program} failed: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(())
    }

    /// Starts the server (again, after [`PgServer::stop`]) and waits until it accepts connections.
    pub async fn start_again(&self) -> anyhow::Result<()> {
        let data = self.dir.path().join("data");
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        self.run(
            "pg_ctl",
            &[
                "-D",
                &data.to_string_lossy(),
                "-o",
                &options,
                "-l",
                &self.dir.path().join("server.log").to_string_lossy(),
                "-w",
                "start",
            ],
        )?;
        let url = self.url("postgres");
        wait_for("the private PostgreSQL", Duration::from_secs(30), || {
            let url = url.clone();
            async move { Ok(PgConnection::connect(&url).await.ok().map(|_| ())) }
        })
        .await
    }

    /// Stops the server the way an operator's restart does (`-m fast`: sessions are disconnected).
    pub fn stop(&self) -> anyhow::Result<()> {
        let data = self.dir.path().join("data");
        self.run(
            "pg_ctl",
            &["-D", &data.to_string_lossy(), "-m", "fast", "-w", "stop"],
        )
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://cwic@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates a database and returns its URL.
    pub async fn create_database(&self, name: &str) -> anyhow::Result<String> {
        let mut conn = PgConnection::connect(&self.url("postgres")).await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        Ok(self.url(name))
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = self.run(
            "pg_ctl",
            &["-D", &data.to_string_lossy(), "-m", "immediate", "-w", "stop"],
        );
    }
}

/// A `nats-server` with JetStream on a free port and a temporary store; can be stopped and started
/// again on the same port and store to simulate a broker outage.
pub struct NatsServer {
    pub port: u16,
    store: tempfile::TempDir,
    child: Option<Child>,
    /// A generated config file (operator mode); `None` runs the plain `-js` server.
    config: Option<PathBuf>,
}

impl NatsServer {
    pub async fn start() -> anyhow::Result<Self> {
        let mut server = Self {
            port: free_port(),
            store: tempfile::tempdir()?,
            child: None,
            config: None,
        };
        server.restart().await?;
        Ok(server)
    }

    /// A server in operator mode (decentralized JWT auth) trusting `auth`'s operator, with its
    /// accounts preloaded (`resolver: MEMORY`) and JetStream on: clients need user credentials.
    pub async fn start_operator(auth: &cwic_control_plane::broker::BrokerAuth) -> anyhow::Result<Self> {
        let port = free_port();
        let store = tempfile::tempdir()?;
        let config = store.path().join("nats-server.conf");
        std::fs::write(
            &config,
            format!(
                "listen: 127.0.0.1:{port}\njetstream: {{store_dir: \"{}\"}}\n{}",
                store.path().display(),
                auth.server_config()?
            ),
        )?;
        let mut server = Self {
            port,
            store,
            child: None,
            config: Some(config),
        };
        server.restart().await?;
        Ok(server)
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again) on the same port and store.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        if self.child.is_some() {
            bail!("nats-server is already running");
        }
        let mut command = Command::new("nats-server");
        match &self.config {
            Some(config) => command.arg("-c").arg(config),
            None => command
                .args(["-js", "-a", "127.0.0.1", "-p", &self.port.to_string(), "-sd"])
                .arg(self.store.path()),
        };
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start nats-server: is it installed (scripts/dev-services start)?")?;
        self.child = Some(child);
        let port = self.port;
        wait_for(
            "nats-server to accept connections",
            Duration::from_secs(10),
            || async move { Ok(std::net::TcpStream::connect(("127.0.0.1", port)).ok().map(|_| ())) },
        )
        .await
    }

    /// Stops the server and waits until it is gone.
    pub fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// The `cwic serve` process with its own database and log file.
pub struct ControlPlane {
    pub port: u16,
    database_url: String,
    nats_url: String,
    console_dir: Option<PathBuf>,
    log_dir: tempfile::TempDir,
    child: Option<Child>,
    starts: u32,
    /// Extra environment for `cwic serve` (e.g. the agent API's settings).
    env: Vec<(String, String)>,
}

impl ControlPlane {
    pub async fn start(database_url: &str, nats_url: &str) -> anyhow::Result<Self> {
        Self::start_with_console(database_url, nats_url, None).await
    }

    /// Starts with extra environment variables, e.g. [`AgentApiSetup::env`].
    pub async fn start_with_env(
        database_url: &str,
        nats_url: &str,
        env: Vec<(String, String)>,
    ) -> anyhow::Result<Self> {
        let mut control_plane = Self {
            port: free_port(),
            database_url: database_url.to_owned(),
            nats_url: nats_url.to_owned(),
            console_dir: None,
            log_dir: tempfile::tempdir()?,
            child: None,
            starts: 0,
            env,
        };
        control_plane.restart().await?;
        Ok(control_plane)
    }

    /// Starts with the built console served from `console_dir`.
    pub async fn start_with_console(
        database_url: &str,
        nats_url: &str,
        console_dir: Option<PathBuf>,
    ) -> anyhow::Result<Self> {
        let mut control_plane = Self {
            port: free_port(),
            database_url: database_url.to_owned(),
            nats_url: nats_url.to_owned(),
            console_dir,
            log_dir: tempfile::tempdir()?,
            child: None,
            starts: 0,
            env: Vec::new(),
        };
        control_plane.restart().await?;
        Ok(control_plane)
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub async fn restart(&mut self) -> anyhow::Result<()> {
        if self.child.is_some() {
            bail!("the control plane is already running");
        }
        self.starts += 1;
        let log = std::fs::File::create(self.log_dir.path().join(format!("cwic-{}.log", self.starts)))?;
        let mut command = Command::new(binary("cwic"));
        if let Some(dir) = &self.console_dir {
            command.env("CWIC_CONSOLE_DIR", dir);
        }
        command
            .arg("serve")
            .env("CWIC_DATABASE_URL", &self.database_url)
            .env("CWIC_NATS_URL", &self.nats_url)
            .env("CWIC_LISTEN", format!("127.0.0.1:{}", self.port))
            .env("CWIC_JWT_KEYS", TEST_JWT_KEYS)
            .env("CWIC_LOG", "info,cwic_control_plane=debug");
        // A test's own variables come last, so that it may override the defaults above.
        command.envs(self.env.iter().map(|(key, value)| (key, value)));
        let child = command.stdout(Stdio::null()).stderr(log).spawn()?;
        self.child = Some(child);
        let url = format!("{}/readyz", self.base_url());
        let client = reqwest::Client::new();
        let result = wait_for("the control plane to be ready", Duration::from_secs(60), || {
            let request = client.get(&url).send();
            async move {
                Ok(request
                    .await
                    .ok()
                    .filter(|response| response.status().is_success())
                    .map(|_| ()))
            }
        })
        .await;
        if result.is_err() {
            eprintln!("control plane log:\n{}", self.log());
        }
        result
    }

    /// SIGKILL: no graceful shutdown, as in a crash.
    pub fn kill(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    /// SIGTERM and wait for the exit status.
    pub fn terminate(&mut self) -> anyhow::Result<ExitStatus> {
        let Some(mut child) = self.child.take() else {
            bail!("not running")
        };
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()?;
        Ok(child.wait()?)
    }

    /// Everything the control plane logged so far, across restarts.
    pub fn log(&self) -> String {
        (1..=self.starts)
            .map(|start| {
                std::fs::read_to_string(self.log_dir.path().join(format!("cwic-{start}.log")))
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join("\n--- restart ---\n")
    }

    /// GET a JSON document from the API as a viewer of `tenant` (an API token minted for the call).
    pub async fn get(&self, path: &str, tenant: &str) -> anyhow::Result<Value> {
        self.get_as(path, tenant, "viewer").await
    }

    /// GET a JSON document from the API with `role` in `tenant`; an error for a non-2xx status.
    pub async fn get_as(&self, path: &str, tenant: &str, role: &str) -> anyhow::Result<Value> {
        let token = mint_token(&self.database_url, tenant, role).await?;
        let response = reqwest::Client::new()
            .get(format!("{}{path}", self.base_url()))
            .bearer_auth(token)
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await?;
        if !status.is_success() {
            bail!("GET {path}: {status}: {body}");
        }
        Ok(body)
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

/// The agent-facing side of a control plane under test: a throwaway CA and a server certificate for
/// 127.0.0.1/localhost (rcgen), a gRPC port, and the broker's operator-mode keys.
pub struct AgentApiSetup {
    pub dir: tempfile::TempDir,
    pub grpc_port: u16,
    pub auth: cwic_control_plane::broker::BrokerAuth,
}

impl AgentApiSetup {
    pub fn new() -> anyhow::Result<Self> {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
        let dir = tempfile::tempdir()?;
        let ca_key = KeyPair::generate()?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "cwic test ca");
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca_params, ca_key);
        let server_key = KeyPair::generate()?;
        let mut server_params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
        server_params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let server_cert = server_params.signed_by(&server_key, &issuer)?;
        std::fs::write(dir.path().join("ca.pem"), ca_cert.pem())?;
        std::fs::write(dir.path().join("server.pem"), server_cert.pem())?;
        std::fs::write(dir.path().join("server.key"), server_key.serialize_pem())?;
        let auth = cwic_control_plane::broker::BrokerAuth::generate();
        auth.write_to(dir.path())?;
        Ok(Self {
            dir,
            grpc_port: free_port(),
            auth,
        })
    }

    pub fn ca_path(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    pub fn grpc_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.grpc_port)
    }

    /// Environment for `cwic serve`: gRPC with TLS, and, when `operator_broker`, the control plane's
    /// own NATS credentials and the account seed that signs agents' credentials.
    pub fn env(&self, operator_broker: bool) -> Vec<(String, String)> {
        let path = |name: &str| self.dir.path().join(name).display().to_string();
        let mut env = vec![
            (
                "CWIC_GRPC_LISTEN".to_owned(),
                format!("127.0.0.1:{}", self.grpc_port),
            ),
            ("CWIC_GRPC_TLS_CERT".to_owned(), path("server.pem")),
            ("CWIC_GRPC_TLS_KEY".to_owned(), path("server.key")),
        ];
        if operator_broker {
            env.push(("CWIC_NATS_CREDENTIALS".to_owned(), path("control-plane.creds")));
            env.push(("CWIC_NATS_ACCOUNT_SEED_FILE".to_owned(), path("account.seed")));
        }
        env
    }
}

/// Everything an end-to-end test runs against: a seeded source database, the control plane's own
/// database, a nats-server and `cwic serve`. Fields drop in order: the control plane stops first.
pub struct Stack {
    pub control_plane: ControlPlane,
    pub nats: NatsServer,
    pub control_db: TestDb,
    pub source: TestDb,
}

impl Stack {
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with_console(None).await
    }

    /// With the built console served from `console_dir` and `demo` as the default tenant.
    pub async fn start_with_console(console_dir: Option<PathBuf>) -> anyhow::Result<Self> {
        let source = TestDb::create("source").await?;
        seed_source(&source.pool).await?;
        let control_db = TestDb::create("cp").await?;
        let nats = NatsServer::start().await?;
        let control_plane =
            ControlPlane::start_with_console(&control_db.url, &nats.url(), console_dir).await?;
        Ok(Self {
            control_plane,
            nats,
            control_db,
            source,
        })
    }

    /// An agent of `tenant` for the seeded source, collecting `every` interval.
    pub fn agent(&self, tenant: &str, every: &str) -> anyhow::Result<AgentSetup> {
        AgentSetup::new(tenant, "wh-1", &self.nats.url(), &self.source.url, every)
    }
}

/// `schema.table.column` of every column node in a lineage walk, in the API's order.
pub fn walked_columns(walk: &Value) -> Vec<String> {
    walk["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|node| {
            format!(
                "{}.{}",
                node["dataset"].as_str().unwrap_or_default(),
                node["column"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

/// An agent configuration in a temporary folder, with its outbox beside it.
pub struct AgentSetup {
    pub dir: tempfile::TempDir,
    pub config_path: PathBuf,
}

impl AgentSetup {
    pub fn new(
        tenant: &str,
        agent_id: &str,
        nats_url: &str,
        source_url: &str,
        every: &str,
    ) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let config_path = dir.path().join("agent.yaml");
        let config = format!(
            "version: 1\ntenant: {tenant}\nagent_id: {agent_id}\nnats_url: {nats_url}\nspool_dir: {spool}\n\
             schedule:\n  every: {every}\nsources:\n  - name: warehouse\n    url: {source_url}\n",
            spool = dir.path().join("spool").display()
        );
        std::fs::write(&config_path, config)?;
        Ok(Self { dir, config_path })
    }

    /// Metric batches waiting in the outbox (lineage batches, one per changed set of SQL, not counted).
    pub fn spool_pending(&self) -> usize {
        std::fs::read_dir(self.dir.path().join("spool").join("pending"))
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "metrics"))
                    .count()
            })
            .unwrap_or(0)
    }

    /// Starts `cwic-agent run --runs <runs>` with its log in the setup folder.
    pub fn spawn(&self, runs: u64) -> anyhow::Result<Child> {
        self.spawn_with(&["--runs", &runs.to_string()])
    }

    /// Runs until stopped (no `--runs` limit), as deployed.
    pub fn spawn_forever(&self) -> anyhow::Result<Child> {
        self.spawn_with(&[])
    }

    fn spawn_with(&self, extra: &[&str]) -> anyhow::Result<Child> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("agent.log"))?;
        Ok(Command::new(binary("cwic-agent"))
            .args(["run", "--config"])
            .arg(&self.config_path)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("agent.log")).unwrap_or_default()
    }
}

/// Waits for a child process to exit within `timeout`, killing it otherwise.
pub async fn wait_exit(child: &mut Child, timeout: Duration) -> anyhow::Result<ExitStatus> {
    let result = wait_for("the process to exit", timeout, || {
        let status = child.try_wait();
        async move { Ok(status?) }
    })
    .await;
    if result.is_err() {
        let _ = child.kill();
    }
    result
}

/// Creates a small shop schema with known NULL patterns, an empty table, a view and awkward names.
pub async fn seed_source(pool: &PgPool) -> anyhow::Result<()> {
    sqlx::raw_sql(
        r#"
        CREATE TABLE customers (
            id int PRIMARY KEY, email text, phone text, country text NOT NULL, created_at timestamptz
        );
        INSERT INTO customers
        SELECT i,
               CASE WHEN i % 7 = 0 THEN NULL ELSE 'user' || i || '@example.com' END,
               CASE WHEN i % 3 = 0 THEN NULL ELSE '+4420' || lpad(i::text, 7, '0') END,
               (ARRAY['GB','DE','FR'])[1 + i % 3],
               CASE WHEN i % 11 = 0 THEN NULL ELSE now() - i * interval '1 hour' END
        FROM generate_series(1, 1000) AS i;
        CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int, amount numeric(12,2), note text);
        INSERT INTO orders SELECT i, 1 + i % 1000, CASE WHEN i % 50 = 0 THEN NULL ELSE i * 1.5 END, NULL
        FROM generate_series(1, 2500) AS i;
        CREATE TABLE empty_table (a int, b text);
        CREATE SCHEMA "Sales Ops";
        CREATE TABLE "Sales Ops"."Odd ""Name""" ("Mixed Case" text, "sélection" int);
        INSERT INTO "Sales Ops"."Odd ""Name""" VALUES ('x', NULL), (NULL, NULL), ('z', 3);
        CREATE VIEW big_orders AS SELECT * FROM orders WHERE amount > 100;
        "#,
    )
    .execute(pool)
    .await?;
    Ok(())
}
