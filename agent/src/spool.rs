//! The on-disk outbox. A batch is written here, durably, before anything tries to send it, and removed
//! only after JetStream has acknowledged it; so a batch survives an unreachable broker and an agent
//! crash or restart, and is sent later. (It may be sent twice after a crash between the broker's ack
//! and the removal: the `Nats-Msg-Id` and the control plane's batch-id check make that harmless.)
//!
//! Owns the folder layout and durability. Must not know about NATS.
//!
//! Layout: `pending/<batch_id>.batch` holds the encoded `MetricBatch`; batch ids are UUIDv7, so name
//! order is collection order. Files that cannot be decoded are moved to `dead/` and never retried.
//! A `lock` file held with an exclusive lock keeps two agents from sharing one outbox.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use cwic_proto::Message;
use cwic_proto::agent::v1::MetricBatch;

const PENDING: &str = "pending";
const DEAD: &str = "dead";
const EXTENSION: &str = "batch";

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

/// A batch read back from the outbox.
pub struct SpooledBatch {
    pub payload: Vec<u8>,
    pub batch: MetricBatch,
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
    pub fn push(&self, batch: &MetricBatch) -> SpoolResult<()> {
        let final_path = self.pending.join(format!("{}.{EXTENSION}", batch.batch_id));
        let temp_path = self.pending.join(format!(".tmp-{}", batch.batch_id));
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

    /// Ids of the batches waiting to be sent, oldest first.
    pub fn pending_ids(&self) -> SpoolResult<Vec<String>> {
        let mut ids = Vec::new();
        for entry in fs::read_dir(&self.pending).map_err(io_error(&self.pending))? {
            let path = entry.map_err(io_error(&self.pending))?.path();
            if path.extension().and_then(|ext| ext.to_str()) == Some(EXTENSION)
                && let Some(stem) = path.file_stem().and_then(|stem| stem.to_str())
            {
                ids.push(stem.to_owned());
            }
        }
        ids.sort();
        Ok(ids)
    }

    /// Reads a pending batch. A file that does not decode is moved to `dead/` and `Ok(None)` returned.
    pub fn read(&self, id: &str) -> SpoolResult<Option<SpooledBatch>> {
        let path = self.pending.join(format!("{id}.{EXTENSION}"));
        let payload = match fs::read(&path) {
            Ok(payload) => payload,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(cause) => return Err(SpoolError::Io { path, cause }),
        };
        match MetricBatch::decode(payload.as_slice()) {
            Ok(batch) => Ok(Some(SpooledBatch { payload, batch })),
            Err(error) => {
                let target = self.dead.join(format!("{id}.{EXTENSION}"));
                tracing::error!(%error, path = %path.display(), "outbox file does not decode, moved to dead/");
                fs::rename(&path, &target).map_err(io_error(&target))?;
                Ok(None)
            }
        }
    }

    /// Removes a batch once the broker has acknowledged it.
    pub fn remove(&self, id: &str) -> SpoolResult<()> {
        let path = self.pending.join(format!("{id}.{EXTENSION}"));
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

    fn batch(id: &str) -> MetricBatch {
        MetricBatch {
            batch_id: id.to_owned(),
            tenant_id: "acme".into(),
            ..Default::default()
        }
    }

    #[test]
    fn keeps_batches_in_order_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let spool = Spool::open(dir.path()).unwrap();
            spool.push(&batch("0191-b")).unwrap();
            spool.push(&batch("0191-a")).unwrap();
            assert_eq!(spool.pending_ids().unwrap(), ["0191-a", "0191-b"]);
        }
        let spool = Spool::open(dir.path()).unwrap();
        assert_eq!(spool.pending_ids().unwrap(), ["0191-a", "0191-b"]);
        let read = spool.read("0191-a").unwrap().unwrap();
        assert_eq!(read.batch, batch("0191-a"));
        spool.remove("0191-a").unwrap();
        spool.remove("0191-a").unwrap();
        assert_eq!(spool.pending_ids().unwrap(), ["0191-b"]);
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
    fn undecodable_files_go_to_dead_and_temp_files_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join(PENDING)).unwrap();
        fs::write(dir.path().join(PENDING).join("bad.batch"), b"\xff\xff\xff").unwrap();
        fs::write(dir.path().join(PENDING).join(".tmp-half"), b"partial").unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        assert_eq!(spool.pending_ids().unwrap(), ["bad"]);
        assert!(spool.read("bad").unwrap().is_none());
        assert!(spool.pending_ids().unwrap().is_empty());
        assert!(dir.path().join(DEAD).join("bad.batch").exists());
        assert!(!dir.path().join(PENDING).join(".tmp-half").exists());
    }
}
