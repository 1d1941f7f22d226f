//! The metadata walk of one grant root, shared by snapshot, diff, restore
//! and list: every entry with its `lstat` data, symlink targets, and the
//! skip rules applied (rebuildable directories are recorded, not entered).

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::config::Limits;
use super::manifest::{Entry, Kind, Skip};
use crate::policy::{protected, Protected};

/// An entry that could not be read: relative path and the error.
pub type Problem = (Vec<u8>, String);

pub struct Walk {
    pub entries: Vec<Entry>,
    pub problems: Vec<Problem>,
    /// True when the walk stopped at the entry limit.
    pub truncated: bool,
}

pub fn entry_from_meta(path: Vec<u8>, m: &fs::Metadata) -> Entry {
    let mode = m.mode();
    Entry {
        path,
        kind: Kind::from_mode(mode),
        mode: mode & 0o7777,
        uid: m.uid(),
        gid: m.gid(),
        size: m.size(),
        mtime_ns: m.mtime() * 1_000_000_000 + m.mtime_nsec(),
        ctime_ns: m.ctime() * 1_000_000_000 + m.ctime_nsec(),
        ino: m.ino(),
        dev: m.dev(),
        hash: None,
        skip: Skip::No,
        target: None,
    }
}

/// `root` joined with a relative path of the walk.
pub fn join(root: &Path, rel: &[u8]) -> std::path::PathBuf {
    if rel.is_empty() {
        root.to_path_buf()
    } else {
        root.join(std::ffi::OsStr::from_bytes(rel))
    }
}

/// Walks `root` (a directory or a single file) without following symlinks.
/// Protected paths beneath it are left out entirely: they are not part of
/// the grant.
pub fn walk(root: &Path, limits: &Limits, protected: &[Protected]) -> Walk {
    let mut w = Walk {
        entries: Vec::new(),
        problems: Vec::new(),
        truncated: false,
    };
    let check_protected = protected::any_beneath(protected, root, true);
    let meta = match fs::symlink_metadata(root) {
        Ok(m) => m,
        Err(e) => {
            w.problems.push((Vec::new(), e.to_string()));
            return w;
        }
    };
    let mut first = entry_from_meta(Vec::new(), &meta);
    classify(&mut first, b"", limits);
    let descend = first.kind == Kind::Dir;
    w.entries.push(first);
    if !descend {
        return w;
    }
    let mut stack: Vec<Vec<u8>> = vec![Vec::new()];
    while let Some(dir) = stack.pop() {
        let abs = join(root, &dir);
        let rd = match fs::read_dir(&abs) {
            Ok(rd) => rd,
            Err(e) => {
                mark_unreadable(&mut w, &dir, e.to_string());
                continue;
            }
        };
        let mut names: Vec<(std::ffi::OsString, fs::DirEntry)> = Vec::new();
        for d in rd {
            match d {
                Ok(d) => names.push((d.file_name(), d)),
                Err(e) => {
                    mark_unreadable(&mut w, &dir, e.to_string());
                    break;
                }
            }
        }
        names.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        for (name, d) in names.into_iter().rev() {
            let mut rel = dir.clone();
            if !rel.is_empty() {
                rel.push(b'/');
            }
            rel.extend_from_slice(name.as_bytes());
            if check_protected {
                let p = join(root, &rel);
                if protected::find(protected, &p).is_some()
                    || protected::find_read_only(protected, &p).is_some()
                {
                    continue;
                }
            }
            if w.entries.len() as u64 >= limits.max_entries {
                w.truncated = true;
                return w;
            }
            let m = match d.metadata() {
                Ok(m) => m,
                Err(e) => {
                    w.problems.push((rel, e.to_string()));
                    continue;
                }
            };
            let mut e = entry_from_meta(rel.clone(), &m);
            if e.kind == Kind::Symlink {
                match fs::read_link(join(root, &rel)) {
                    Ok(t) => e.target = Some(t.into_os_string().into_vec()),
                    Err(err) => {
                        e.skip = Skip::Unreadable;
                        w.problems.push((rel.clone(), err.to_string()));
                    }
                }
            }
            if e.skip == Skip::No {
                classify(&mut e, name.as_bytes(), limits);
            }
            let push_dir = e.kind == Kind::Dir && e.skip == Skip::No;
            w.entries.push(e);
            if push_dir {
                stack.push(rel);
            }
        }
    }
    w
}

use std::os::unix::ffi::OsStringExt;

/// Applies the skip rules to an entry named `name`.
fn classify(e: &mut Entry, name: &[u8], limits: &Limits) {
    e.skip = match e.kind {
        Kind::Dir if !e.path.is_empty() => {
            if limits.skip_names.iter().any(|s| s.as_bytes() == name) {
                Skip::Rebuildable
            } else {
                Skip::No
            }
        }
        Kind::File if e.size > limits.max_file => Skip::Large,
        Kind::Other => Skip::Special,
        _ => Skip::No,
    };
}

fn mark_unreadable(w: &mut Walk, dir: &[u8], err: String) {
    if let Some(e) = w.entries.iter_mut().rev().find(|e| e.path == dir) {
        e.skip = Skip::Unreadable;
    }
    w.problems.push((dir.to_vec(), err));
}
