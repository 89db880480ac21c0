//! What a file sink may do with the bytes it finds in its file.
//!
//! The sink cuts its file back to the length state committed only when it can vouch that
//! the file and that length belong together. A small sidecar beside the file,
//! `.NAME.o365fwd` (`NAME` the file's name), says which state last wrote the file, which
//! file it was (device, inode), and a length known to be committed at that time (brought up
//! to date at start and at most once a minute). The cut happens only when the sidecar names
//! this state and this very file, state's committed length is of this file too, and that
//! length is not below the one the sidecar knows committed. Otherwise (another or a new
//! state, a state that went back, a file replaced while the agent was stopped, a sidecar
//! lost) the sink cuts nothing and appends: records fetched again then appear twice, which
//! is loud, instead of records already delivered being destroyed.
//!
//! While it runs, the sink checks before each write that its file is still the one at its
//! path and has the length it left: a file moved away (rotation by rename) is followed by a
//! new file at the path; a file truncated or extended by someone else is written at its
//! actual end, never past it (no hole) and never over another writer's bytes.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::state::{FileId, SinkOffset};

/// The sidecar's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Sidecar {
    pub state_id: String,
    pub sink: String,
    pub file: FileId,
    /// Bytes of the file known to be committed when the sidecar was written.
    pub committed_at_least: u64,
}

pub(super) fn sidecar_path(path: &Path) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(".o365fwd");
    path.with_file_name(name)
}

pub(super) fn read_sidecar(path: &Path) -> Option<Sidecar> {
    let bytes = std::fs::read(sidecar_path(path)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

pub(super) fn write_sidecar(path: &Path, side: &Sidecar) -> std::io::Result<()> {
    let text = serde_json::to_vec(side).unwrap_or_default();
    crate::state::write_atomically(&sidecar_path(path), &text)
}

/// What recovery concluded about the bytes in the file.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// State's committed length belongs to this file: cut back to it.
    Trusted(u64),
    /// Nothing vouches for the file's bytes (the reason says why): cut nothing.
    Unverified(String),
}

/// Decides whether `committed` may be trusted for the file `file` (see the module docs).
pub(super) fn verdict(
    state_id: &str,
    file: FileId,
    side: Option<&Sidecar>,
    committed: Option<&SinkOffset>,
) -> Verdict {
    let unverified = |why: &str| Verdict::Unverified(why.to_string());
    let Some(side) = side else {
        return unverified("no sidecar says which state wrote it");
    };
    if side.state_id != state_id {
        return Verdict::Unverified(format!(
            "it was written under another state ({}; this one is {state_id}): the state was reset, replaced or lost",
            side.state_id
        ));
    }
    if side.file != file {
        return unverified("it was replaced while the agent was stopped");
    }
    let Some(c) = committed else {
        return unverified("state has no committed length for it");
    };
    if c.file != Some(file) {
        return unverified("state's committed length is of another file (rotated)");
    }
    if c.length < side.committed_at_least {
        return Verdict::Unverified(format!(
            "state's committed length {} is below the {} bytes known committed: the state went back to an earlier point",
            c.length, side.committed_at_least
        ));
    }
    Verdict::Trusted(c.length)
}

/// How the file at the sink's path differs from what the sink left.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Change {
    None,
    /// Another file is at the path, or none (moved away: rotation by rename).
    Replaced,
    /// Shorter than the sink left it (truncated: `copytruncate`), now this long.
    Shrank(u64),
    /// Longer than the sink left it (another writer), now this long.
    Grew(u64),
}

pub(super) fn change(file: &File, id: FileId, path: &Path, len: u64) -> std::io::Result<Change> {
    match std::fs::metadata(path) {
        Ok(m) if FileId::of(&m) == id => {}
        Ok(_) => return Ok(Change::Replaced),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Change::Replaced),
        Err(e) => return Err(e),
    }
    let actual = file.metadata()?.len();
    Ok(match actual.cmp(&len) {
        std::cmp::Ordering::Equal => Change::None,
        std::cmp::Ordering::Less => Change::Shrank(actual),
        std::cmp::Ordering::Greater => Change::Grew(actual),
    })
}

/// Opens (creating) the file for reading and writing, never truncating it.
pub(super) fn open_file(path: &Path) -> std::io::Result<(File, FileId, u64)> {
    let file = OpenOptions::new()
        .create(true)
        .read(true)
        .write(true)
        .truncate(false)
        .open(path)?;
    let m = file.metadata()?;
    Ok((file, FileId::of(&m), m.len()))
}

/// Ends an unterminated last line (a write cut short, or another writer's) with a newline,
/// so the next record starts a line of its own; returns the new length.
pub(super) fn terminate_last_line(file: &mut File, len: u64) -> std::io::Result<u64> {
    if len == 0 {
        return Ok(0);
    }
    let mut last = [0u8];
    file.seek(SeekFrom::Start(len - 1))?;
    file.read_exact(&mut last)?;
    if last[0] == b'\n' {
        return Ok(len);
    }
    file.seek(SeekFrom::Start(len))?;
    file.write_all(b"\n")?;
    file.sync_data()?;
    Ok(len + 1)
}

#[cfg(test)]
mod tests;
