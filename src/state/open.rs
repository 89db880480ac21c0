//! Opening the sled database, and telling a damaged state directory from a new one.
//!
//! sled recovers from a damaged log in one of three ways: an error, a panic (an assertion in
//! its recovery code), or silently, by keeping only the part of its log it can still read,
//! which rolls the store back to an earlier point or to nothing. The first two are caught
//! here (the panic message kept off the terminal). For the third, the directory carries an
//! identity file beside sled's own files, written outside sled: the state's id and how many
//! commits were durable when it was last written (at open and at most once a minute after a
//! commit). A store that comes back empty while that file exists, with another id, or with
//! fewer commits than it recorded, has lost durable progress and is refused.

use std::cell::Cell;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Once;

use serde::{Deserialize, Serialize};

use super::{FORMAT_VERSION, StateError, VERSION_KEY};

/// The identity file in the state directory.
pub(super) const IDENTITY_FILE: &str = "o365fwd-state.json";
/// Key of the state's id in the `meta` tree.
const ID_KEY: &[u8] = b"state_id";
/// Key of the durable-commit counter in the data tree (no feed key starts with `n`).
pub(super) const COMMITS_KEY: &[u8] = b"n";

/// The open sled database and the tree that holds everything.
#[derive(Clone)]
pub(super) struct Handles {
    pub db: sled::Db,
    pub tree: sled::Tree,
}

/// What the identity file records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Identity {
    pub state_id: String,
    /// Commits known to be durable when the file was written.
    pub commits: u64,
}

/// An opened store: handles, its id and its durable-commit counter.
pub(super) struct Opened {
    pub handles: Handles,
    pub id: String,
    pub commits: u64,
}

thread_local! {
    /// Set while this thread opens sled: a panic then is caught and reported as damage,
    /// and its message stays off the terminal.
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// Wraps the process's panic hook once so that panics inside [`quietly`] print nothing.
fn install_quiet_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if QUIET.with(Cell::get) {
                tracing::debug!(panic = %info, "sled panicked while opening the state");
                return;
            }
            previous(info);
        }));
    });
}

/// Runs `f`, turning a panic into `Err(())` without printing it.
fn quietly<T>(f: impl FnOnce() -> T) -> Result<T, ()> {
    install_quiet_hook();
    QUIET.with(|q| q.set(true));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.with(|q| q.set(false));
    r.map_err(|_| ())
}

fn damaged(dir: &Path, what: impl Into<String>) -> StateError {
    StateError::Damaged {
        dir: dir.display().to_string(),
        what: what.into(),
    }
}

/// Opens sled in `dir` and reads its markers; every failure is classified.
fn open_sled(dir: &Path) -> Result<(Handles, Option<String>, Option<String>, u64), StateError> {
    let d = dir.display().to_string();
    let db_file = dir.join("db");
    let opened = quietly(|| -> Result<_, sled::Error> {
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(16 * 1024 * 1024)
            .flush_every_ms(None)
            .open()?;
        let meta = db.open_tree("meta")?;
        let tree = db.open_tree("v1")?;
        let version = meta.get(VERSION_KEY)?;
        let id = meta.get(ID_KEY)?;
        let commits = tree.get(COMMITS_KEY)?;
        let empty = tree.is_empty() && db.tree_names().len() <= 3;
        Ok((db, tree, version, id, commits, empty))
    });
    let (db, tree, version, id, commits, empty) = match opened {
        Err(()) => {
            return Err(damaged(
                dir,
                format!(
                    "sled cannot recover its log {} (it stopped on an internal check: a torn or overwritten segment, as a power loss or a failing disk leaves)",
                    db_file.display()
                ),
            ));
        }
        Ok(Err(e)) => return Err(classify(dir, &d, e)),
        Ok(Ok(v)) => v,
    };
    let text = |v: Option<sled::IVec>| v.map(|v| String::from_utf8_lossy(&v).into_owned());
    let version = text(version);
    if version.is_none() && !empty {
        return Err(StateError::Version {
            dir: d,
            found: "unknown (no version marker)".into(),
        });
    }
    let commits = match commits {
        None => 0,
        Some(v) => match <[u8; 8]>::try_from(v.as_ref()) {
            Ok(b) => u64::from_be_bytes(b),
            Err(_) => return Err(damaged(dir, "its commit counter is unreadable")),
        },
    };
    Ok((Handles { db, tree }, version, text(id), commits))
}

fn classify(dir: &Path, d: &str, e: sled::Error) -> StateError {
    match e {
        sled::Error::Io(ref io) if io.kind() == std::io::ErrorKind::WouldBlock => {
            StateError::Locked { dir: d.to_string() }
        }
        sled::Error::Io(_) if locked_elsewhere(dir) => StateError::Locked { dir: d.to_string() },
        sled::Error::Corruption { .. } => damaged(
            dir,
            format!(
                "sled found corrupt data in {} ({e})",
                dir.join("db").display()
            ),
        ),
        sled::Error::Unsupported(ref m) if m.contains("config") || m.contains("compression") => {
            damaged(
                dir,
                format!(
                    "its sled configuration file {} does not match ({m})",
                    dir.join("conf").display()
                ),
            )
        }
        e => StateError::Open {
            dir: d.to_string(),
            source: e,
        },
    }
}

/// Whether another process holds sled's lock on `dir/db`. sled takes an exclusive `flock`
/// there and reports failing to as an untyped I/O error (`ErrorKind::Other`, the reason only
/// in its text), so the operating system is asked instead: the same lock, tried without
/// waiting and released at once.
fn locked_elsewhere(dir: &Path) -> bool {
    use std::os::fd::AsRawFd;
    let Ok(file) = std::fs::File::open(dir.join("db")) else {
        return false;
    };
    // SAFETY: `file` owns the descriptor for the whole call; closing it releases the lock.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    rc != 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::WouldBlock
}

/// Opens the store in `dir`, creating it when the directory holds none, and refuses one that
/// lost durable progress (see the module docs).
pub(super) fn open(dir: &Path) -> Result<Opened, StateError> {
    let d = dir.display().to_string();
    std::fs::create_dir_all(dir).map_err(|e| StateError::Open {
        dir: d.clone(),
        source: sled::Error::Io(e),
    })?;
    let recorded = read_identity(dir)?;
    let (handles, version, id, commits) = open_sled(dir)?;
    match version {
        Some(v) if v == FORMAT_VERSION.to_string() => {}
        Some(v) => return Err(StateError::Version { dir: d, found: v }),
        None => {
            if let Some(rec) = &recorded {
                return Err(damaged(
                    dir,
                    format!(
                        "sled recovered nothing from {} although this directory holds state {} with {} commits (its log was lost or cut to nothing)",
                        dir.join("db").display(),
                        rec.state_id,
                        rec.commits
                    ),
                ));
            }
        }
    }
    let id = match (id, &recorded) {
        (Some(id), Some(rec)) if id != rec.state_id => {
            return Err(damaged(
                dir,
                format!(
                    "its database belongs to state {id} but {} names state {} (files of two states were mixed)",
                    dir.join(IDENTITY_FILE).display(),
                    rec.state_id
                ),
            ));
        }
        (Some(_), Some(rec)) if commits < rec.commits => {
            return Err(damaged(
                dir,
                format!(
                    "sled recovered an earlier point of {}: {commits} commits where {} were durable (part of its log was torn or overwritten)",
                    dir.join("db").display(),
                    rec.commits
                ),
            ));
        }
        (Some(id), _) => id,
        (None, Some(rec)) => {
            return Err(damaged(
                dir,
                format!(
                    "its database lost the id of state {} that {} names",
                    rec.state_id,
                    dir.join(IDENTITY_FILE).display()
                ),
            ));
        }
        (None, None) => {
            // A new store, or one written before states had an id.
            let id = format!("{:032x}", fastrand::u128(..));
            let meta = handles.db.open_tree("meta")?;
            meta.insert(VERSION_KEY, FORMAT_VERSION.to_string().as_bytes())?;
            meta.insert(ID_KEY, id.as_bytes())?;
            handles.db.flush()?;
            id
        }
    };
    let opened = Opened {
        handles,
        id,
        commits,
    };
    if recorded.as_ref().map(|r| (&r.state_id, r.commits)) != Some((&opened.id, commits)) {
        // Not fatal: the file only sharpens the next open's checks (a full disk may refuse it).
        if let Err(e) = write_identity(dir, &opened.id, commits) {
            tracing::warn!(state_dir = %d, error = %e, "Cannot write the state's identity file.");
        }
    }
    Ok(opened)
}

fn read_identity(dir: &Path) -> Result<Option<Identity>, StateError> {
    let path = dir.join(IDENTITY_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            damaged(
                dir,
                format!("its identity file {} is unreadable ({e})", path.display()),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StateError::Open {
            dir: dir.display().to_string(),
            source: sled::Error::Io(e),
        }),
    }
}

/// Replaces the identity file atomically (a new file renamed over the old, both synced).
pub(super) fn write_identity(dir: &Path, id: &str, commits: u64) -> std::io::Result<()> {
    let rec = Identity {
        state_id: id.to_string(),
        commits,
    };
    let text = serde_json::to_vec(&rec).unwrap_or_default();
    write_atomically(&dir.join(IDENTITY_FILE), &text)
}

/// Writes `bytes` to `path` through a temporary file, so a reader sees the old or the new
/// content, never a mix, even after a power loss.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = {
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(".tmp");
        path.with_file_name(name)
    };
    let mut f = std::fs::File::create(&tmp)?;
    let r = f.write_all(bytes).and_then(|_| f.sync_all());
    drop(f);
    if let Err(e) = r.and_then(|_| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    let dir: PathBuf = match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(p) => p.to_path_buf(),
        None => PathBuf::from("."),
    };
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests;
