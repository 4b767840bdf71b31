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
//! A `lock` file held with an exclusive lock keeps two agents from sharing one outbox.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use cwic_proto::Message;
use cwic_proto::agent::v1::BatchHeader;
use cwic_shared::subjects::AgentSubjectKind;

const PENDING: &str = "pending";
const DEAD: &str = "dead";

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
    _lock: File,
}

/// A batch read back from the outbox: its kind, routing header and encoded bytes.
pub struct SpooledBatch {
    pub kind: AgentSubjectKind,
    pub header: BatchHeader,
    pub payload: Vec<u8>,
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
        Ok(Self {
            root: root.to_owned(),
            pending,
            dead,
            _lock: lock,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Writes a batch durably: temporary file, fsync, rename, fsync of the folder.
    pub fn push(&self, kind: AgentSubjectKind, batch_id: &str, batch: &impl Message) -> SpoolResult<()> {
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

    fn bury(&self, path: &Path, reason: &str) -> SpoolResult<()> {
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
            Ok(()) => Ok(()),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(cause) => Err(SpoolError::Io { path, cause }),
        }
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
}
