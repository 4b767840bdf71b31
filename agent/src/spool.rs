//! The on-disk outbox. A batch is written here, durably, before anything tries to send it, and removed
//! only after JetStream has acknowledged it; so a batch survives an unreachable broker and an agent
//! crash or restart, and is sent later. (It may be sent twice after a crash between the broker's ack
//! and the removal: the `Nats-Msg-Id` and the control plane's batch-id check make that harmless.)
//!
//! Owns the folder layout and durability. Must not know about NATS.
//!
//! Layout: `pending/<batch_id>.<kind>` holds an encoded batch of that kind (`metrics` for a
//! `MetricBatch`, `lineage` for a `LineageBatch`); batch ids are UUIDv7, so name order is collection
//! order. Files that cannot be read as a batch are moved to `dead/` and never retried.
//! `context/<batch_id>` holds, when there is one, the trace context of the collection that made the
//! batch (`name: value` header lines, e.g. `traceparent`), sent with it however late; it is written
//! without fsync, as losing it only unlinks the batch from its trace.
//! A `lock` file held with an exclusive lock keeps two agents from sharing one outbox.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use cwic_proto::Message;
use cwic_proto::agent::v1::BatchHeader;
use cwic_shared::subjects::AgentSubjectKind;

const PENDING: &str = "pending";
const DEAD: &str = "dead";
const CONTEXT: &str = "context";
/// The headers a context file may hold (W3C trace context).
const CONTEXT_HEADERS: [&str; 2] = ["traceparent", "tracestate"];

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("outbox {path}: {cause}")]
    Io { path: PathBuf, cause: io::Error },
    #[error("outbox {path} is in use by another agent process (its lock file is held)")]
    Locked { path: PathBuf },
}

pub type SpoolResult<T> = Result<T, SpoolError>;

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> SpoolError + '_ {
    move |cause| SpoolError::Io {
        path: path.to_owned(),
        cause,
    }
}

pub struct Spool {
    root: PathBuf,
    pending: PathBuf,
    dead: PathBuf,
    context: PathBuf,
    _lock: File,
}

/// A batch read back from the outbox: its kind, routing header and encoded bytes.
pub struct SpooledBatch {
    pub kind: AgentSubjectKind,
    pub header: BatchHeader,
    pub payload: Vec<u8>,
    /// The trace context to send with it (header name and value pairs); empty when none was kept.
    pub context: Vec<(String, String)>,
}

/// A pending file's batch id and kind, from its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingBatch {
    pub id: String,
    pub kind: AgentSubjectKind,
}

impl PendingBatch {
    fn file_name(&self) -> String {
        format!("{}.{}", self.id, self.kind.as_str())
    }
}

impl Spool {
    /// Opens (creating if needed) the outbox at `root` and takes its lock.
    pub fn open(root: &Path) -> SpoolResult<Self> {
        let pending = root.join(PENDING);
        let dead = root.join(DEAD);
        fs::create_dir_all(&pending).map_err(io_error(&pending))?;
        fs::create_dir_all(&dead).map_err(io_error(&dead))?;
        let context = root.join(CONTEXT);
        fs::create_dir_all(&context).map_err(io_error(&context))?;
        let lock_path = root.join("lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_error(&lock_path))?;
        lock.try_lock().map_err(|_| SpoolError::Locked {
            path: root.to_owned(),
        })?;
        // Temporary files left by a crash mid-write were never complete batches.
        for entry in fs::read_dir(&pending).map_err(io_error(&pending))? {
            let path = entry.map_err(io_error(&pending))?.path();
            if path
                .file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with(".tmp-"))
            {
                fs::remove_file(&path).map_err(io_error(&path))?;
            }
        }
        let spool = Self {
            root: root.to_owned(),
            pending,
            dead,
            context,
            _lock: lock,
        };
        spool.remove_orphan_contexts()?;
        Ok(spool)
    }

    /// Context files whose batch is gone (a crash between the two removals).
    fn remove_orphan_contexts(&self) -> SpoolResult<()> {
        let pending: std::collections::HashSet<String> =
            self.pending()?.into_iter().map(|batch| batch.id).collect();
        for entry in fs::read_dir(&self.context).map_err(io_error(&self.context))? {
            let path = entry.map_err(io_error(&self.context))?.path();
            let orphan = path
                .file_name()
                .and_then(|name| name.to_str())
                .is_none_or(|name| !pending.contains(name));
            if orphan {
                fs::remove_file(&path).map_err(io_error(&path))?;
            }
        }
        Ok(())
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// [`Spool::push_with_context`] without a trace context: the tests' shorthand.
    #[cfg(test)]
    pub fn push(&self, kind: AgentSubjectKind, batch_id: &str, batch: &impl Message) -> SpoolResult<()> {
        self.push_with_context(kind, batch_id, batch, &[])
    }

    /// Writes a batch durably (temporary file, fsync, rename, fsync of the folder), keeping `context`
    /// (trace-context header pairs) to send with the batch.
    pub fn push_with_context(
        &self,
        kind: AgentSubjectKind,
        batch_id: &str,
        batch: &impl Message,
        context: &[(String, String)],
    ) -> SpoolResult<()> {
        // Before the batch becomes visible, so a sender never sees the batch without it.
        self.write_context(batch_id, context);
        let pending = PendingBatch {
            id: batch_id.to_owned(),
            kind,
        };
        let final_path = self.pending.join(pending.file_name());
        let temp_path = self.pending.join(format!(".tmp-{batch_id}"));
        let mut file = File::create(&temp_path).map_err(io_error(&temp_path))?;
        file.write_all(&batch.encode_to_vec())
            .map_err(io_error(&temp_path))?;
        file.sync_all().map_err(io_error(&temp_path))?;
        drop(file);
        fs::rename(&temp_path, &final_path).map_err(io_error(&final_path))?;
        File::open(&self.pending)
            .and_then(|dir| dir.sync_all())
            .map_err(io_error(&self.pending))?;
        Ok(())
    }

    /// The batches waiting to be sent, oldest first. Files with an unknown kind are moved to `dead/`.
    pub fn pending(&self) -> SpoolResult<Vec<PendingBatch>> {
        let mut batches = Vec::new();
        for entry in fs::read_dir(&self.pending).map_err(io_error(&self.pending))? {
            let path = entry.map_err(io_error(&self.pending))?.path();
            let Some(name) = path.file_name().and_then(|name| name.to_str()) else {
                continue;
            };
            if name.starts_with(".tmp-") {
                continue;
            }
            match name
                .rsplit_once('.')
                .and_then(|(id, kind)| Some((id, AgentSubjectKind::parse(kind)?)))
            {
                Some((id, kind)) => batches.push(PendingBatch {
                    id: id.to_owned(),
                    kind,
                }),
                None => self.bury(&path, "outbox file has no batch kind in its name")?,
            }
        }
        batches.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(batches)
    }

    /// Best effort: a context that cannot be written only leaves the batch out of its trace.
    fn write_context(&self, batch_id: &str, context: &[(String, String)]) {
        let lines: String = context
            .iter()
            .filter(|(name, value)| CONTEXT_HEADERS.contains(&name.as_str()) && !value.contains(['\r', '\n']))
            .map(|(name, value)| format!("{name}: {value}\n"))
            .collect();
        if lines.is_empty() {
            return;
        }
        let path = self.context.join(batch_id);
        if let Err(error) = fs::write(&path, lines) {
            tracing::debug!(%error, path = %path.display(), "cannot keep the trace context of a batch");
        }
    }

    fn read_context(&self, batch_id: &str) -> Vec<(String, String)> {
        let Ok(text) = fs::read_to_string(self.context.join(batch_id)) else {
            return Vec::new();
        };
        text.lines()
            .filter_map(|line| line.split_once(": "))
            .filter(|(name, _)| CONTEXT_HEADERS.contains(name))
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect()
    }

    fn remove_context(&self, batch_id: &str) {
        let path = self.context.join(batch_id);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            // Left behind, it is removed as an orphan at the next start.
            Err(error) => tracing::debug!(%error, path = %path.display(), "cannot remove a trace context"),
        }
    }

    fn bury(&self, path: &Path, reason: &str) -> SpoolResult<()> {
        if let Some(id) = path
            .file_name()
            .and_then(|name| name.to_str())
            .and_then(|name| name.rsplit_once('.'))
            .map(|(id, _)| id)
        {
            self.remove_context(id);
        }
        let target = self.dead.join(path.file_name().unwrap_or_default());
        tracing::error!(path = %path.display(), "{reason}, moved to dead/");
        fs::rename(path, &target).map_err(io_error(&target))
    }

    /// Reads a pending batch. A file that does not decode is moved to `dead/` and `Ok(None)` returned.
    pub fn read(&self, pending: &PendingBatch) -> SpoolResult<Option<SpooledBatch>> {
        let path = self.pending.join(pending.file_name());
        let payload = match fs::read(&path) {
            Ok(payload) => payload,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(cause) => return Err(SpoolError::Io { path, cause }),
        };
        match BatchHeader::decode(payload.as_slice()) {
            Ok(header) if header.batch_id == pending.id => Ok(Some(SpooledBatch {
                kind: pending.kind,
                header,
                payload,
                context: self.read_context(&pending.id),
            })),
            _ => {
                self.bury(&path, "outbox file does not decode as a batch")?;
                Ok(None)
            }
        }
    }

    /// Removes a batch once the broker has acknowledged it.
    pub fn remove(&self, pending: &PendingBatch) -> SpoolResult<()> {
        let path = self.pending.join(pending.file_name());
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(cause) => return Err(SpoolError::Io { path, cause }),
        }
        self.remove_context(&pending.id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cwic_proto::agent::v1::{LineageBatch, MetricBatch};

    fn batch(id: &str) -> MetricBatch {
        MetricBatch {
            batch_id: id.to_owned(),
            tenant_id: "acme".into(),
            agent_id: "a".into(),
            ..Default::default()
        }
    }

    fn ids(spool: &Spool) -> Vec<(String, &'static str)> {
        spool
            .pending()
            .unwrap()
            .into_iter()
            .map(|p| (p.id, p.kind.as_str()))
            .collect()
    }

    #[test]
    fn keeps_batches_of_every_kind_in_order_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let spool = Spool::open(dir.path()).unwrap();
            spool
                .push(AgentSubjectKind::Metrics, "0191-c", &batch("0191-c"))
                .unwrap();
            spool
                .push(AgentSubjectKind::Metrics, "0191-a", &batch("0191-a"))
                .unwrap();
            let lineage = LineageBatch {
                batch_id: "0191-b".into(),
                tenant_id: "acme".into(),
                ..Default::default()
            };
            spool.push(AgentSubjectKind::Lineage, "0191-b", &lineage).unwrap();
        }
        let spool = Spool::open(dir.path()).unwrap();
        assert_eq!(
            ids(&spool),
            [
                ("0191-a".into(), "metrics"),
                ("0191-b".into(), "lineage"),
                ("0191-c".into(), "metrics")
            ]
        );
        let pending = spool.pending().unwrap();
        let read = spool.read(&pending[0]).unwrap().unwrap();
        assert_eq!(
            MetricBatch::decode(read.payload.as_slice()).unwrap(),
            batch("0191-a")
        );
        assert_eq!(
            (read.header.tenant_id.as_str(), read.kind),
            ("acme", AgentSubjectKind::Metrics)
        );
        let lineage = spool.read(&pending[1]).unwrap().unwrap();
        assert_eq!(
            (lineage.header.batch_id.as_str(), lineage.kind),
            ("0191-b", AgentSubjectKind::Lineage)
        );
        spool.remove(&pending[0]).unwrap();
        spool.remove(&pending[0]).unwrap();
        assert_eq!(ids(&spool).len(), 2);
    }

    #[test]
    fn second_opener_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let _first = Spool::open(dir.path()).unwrap();
        let error = Spool::open(dir.path()).err().unwrap();
        assert!(
            error.to_string().contains("is in use by another agent process"),
            "{error}"
        );
    }

    #[test]
    fn unreadable_files_go_to_dead_and_temp_files_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join(PENDING)).unwrap();
        fs::write(dir.path().join(PENDING).join("bad.metrics"), b"\xff\xff\xff").unwrap();
        fs::write(dir.path().join(PENDING).join("odd.unknownkind"), b"").unwrap();
        fs::write(dir.path().join(PENDING).join(".tmp-half"), b"partial").unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        assert_eq!(ids(&spool), [("bad".to_owned(), "metrics")]);
        assert!(dir.path().join(DEAD).join("odd.unknownkind").exists());
        let pending = spool.pending().unwrap();
        assert!(spool.read(&pending[0]).unwrap().is_none());
        assert!(spool.pending().unwrap().is_empty());
        assert!(dir.path().join(DEAD).join("bad.metrics").exists());
        assert!(!dir.path().join(PENDING).join(".tmp-half").exists());
    }

    #[test]
    fn a_batch_keeps_its_trace_context_until_it_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let context = vec![
            ("traceparent".to_owned(), parent.to_owned()),
            ("x-other".to_owned(), "not kept".to_owned()),
        ];
        {
            let spool = Spool::open(dir.path()).unwrap();
            spool
                .push_with_context(AgentSubjectKind::Metrics, "0191-a", &batch("0191-a"), &context)
                .unwrap();
            spool
                .push(AgentSubjectKind::Metrics, "0191-b", &batch("0191-b"))
                .unwrap();
        }
        // An orphan left by a crash between the two removals goes at the next start.
        fs::write(dir.path().join(CONTEXT).join("0190-gone"), "traceparent: x\n").unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        assert!(!dir.path().join(CONTEXT).join("0190-gone").exists());
        let pending = spool.pending().unwrap();
        let first = spool.read(&pending[0]).unwrap().unwrap();
        assert_eq!(first.context, [("traceparent".to_owned(), parent.to_owned())]);
        assert!(spool.read(&pending[1]).unwrap().unwrap().context.is_empty());
        spool.remove(&pending[0]).unwrap();
        assert!(!dir.path().join(CONTEXT).join("0191-a").exists());
    }
}
