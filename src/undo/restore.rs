//! Bringing a grant back to its state at snapshot time.
//!
//! Everything is done below the grant root through directory descriptors
//! opened without following symlinks: a symlink the command planted where a
//! directory was is a conflict, never a way to write elsewhere. Files are
//! written to a temporary name in their directory and renamed over the
//! old name, so an interrupted restore leaves every file either as it was
//! or restored, and running it again finishes the work.
//!
//! File times are not restored: a restored file gets the time of the
//! restore, so that build tools see it as changed.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use super::diff::{Change, GrantDiff};
use super::manifest::{Entry, Kind, Skip};
use super::store::Store;
use super::sys;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Contents (and mode) written back.
    Wrote,
    /// A directory created again.
    Created,
    /// A symlink put back.
    Linked,
    /// Only the mode set back.
    Mode,
    /// An entry created since, removed (`--remove-new`).
    Removed,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Wrote => "restore",
            Action::Created => "mkdir",
            Action::Linked => "symlink",
            Action::Mode => "chmod",
            Action::Removed => "remove",
        }
    }
}

#[derive(Default)]
pub struct Outcome {
    /// Done (or, with --dry-run, to do).
    pub done: Vec<(PathBuf, Action)>,
    /// Could not be restored, and why.
    pub failed: Vec<(PathBuf, String)>,
    /// Created since and kept.
    pub kept: Vec<PathBuf>,
    /// Differ, but the snapshot does not hold their contents.
    pub not_recorded: Vec<(PathBuf, Skip)>,
}

pub struct Options {
    pub remove_new: bool,
    pub dry_run: bool,
}

/// Restores the differences of one grant.
pub fn grant(store: &Store, d: &GrantDiff, opts: &Options, out: &mut Outcome) {
    let mut r = Restorer {
        store,
        d,
        dirs: HashMap::new(),
        made: Vec::new(),
        root_fd: None,
        out,
        dry_run: opts.dry_run,
        as_root: nix::unistd::geteuid().is_root(),
    };
    r.run(opts);
}

struct Restorer<'a> {
    store: &'a Store,
    d: &'a GrantDiff,
    dirs: HashMap<Vec<u8>, OwnedFd>,
    /// Directories created on the way to an entry, to get their recorded
    /// mode at the end.
    made: Vec<Vec<u8>>,
    root_fd: Option<OwnedFd>,
    out: &'a mut Outcome,
    dry_run: bool,
    as_root: bool,
}

fn split(rel: &[u8]) -> (&[u8], &[u8]) {
    match rel.iter().rposition(|b| *b == b'/') {
        Some(i) => (&rel[..i], &rel[i + 1..]),
        None => (&[], rel),
    }
}

fn rel_of(d: &GrantDiff, p: &std::path::Path) -> Vec<u8> {
    p.strip_prefix(&d.root)
        .map(|r| r.as_os_str().as_bytes().to_vec())
        .unwrap_or_default()
}

impl Restorer<'_> {
    fn run(&mut self, opts: &Options) {
        let d = self.d;
        // Entries to bring back, parents before children.
        let mut todo: Vec<(&Entry, Change, PathBuf)> = Vec::new();
        let mut new: Vec<PathBuf> = Vec::new();
        for c in &d.changes {
            match (c.change, &c.before) {
                (Change::Created | Change::Renamed, _) => new.push(c.path.clone()),
                (_, Some(b)) => todo.push((b, c.change, c.path.clone())),
                (_, None) => {}
            }
        }
        todo.sort_by(|a, b| a.0.path.cmp(&b.0.path));

        // 1. Directories that are in the way of their own restore: give the
        //    owner access for now (their recorded mode is set at the end).
        for (e, change, _) in &todo {
            if e.kind == Kind::Dir && *change == Change::Mode {
                let (parent, name) = split(&e.path);
                if e.path.is_empty() {
                    continue;
                }
                if !self.dry_run {
                    if let Ok(fd) = self.dir(parent, false) {
                        let _ = sys::chmod_at(fd, OsStr::from_bytes(name), e.mode | 0o700);
                    }
                }
            }
        }

        // 2. New entries: removed with --remove-new (children first), else kept.
        let replaced: Vec<PathBuf> = todo
            .iter()
            .filter(|(_, c, _)| *c == Change::Replaced)
            .map(|(_, _, p)| p.clone())
            .collect();
        if opts.remove_new {
            let mut gone: Vec<PathBuf> = new.iter().chain(&replaced).cloned().collect();
            gone.sort();
            for p in gone.iter().rev() {
                self.remove(p);
            }
        } else {
            self.out.kept.extend(new);
        }

        // Temporary files of an interrupted restore.
        for p in &d.leftovers {
            if !self.dry_run {
                let rel = rel_of(d, p);
                let (parent, name) = split(&rel);
                if let Ok(fd) = self.dir(parent, false) {
                    let _ = sys::unlink_at(fd, OsStr::from_bytes(name), false);
                }
            }
        }

        // 3. Everything recorded, parents first.
        for (e, change, path) in &todo {
            if e.skip != Skip::No && *change != Change::Mode {
                self.out.not_recorded.push((path.clone(), e.skip));
                continue;
            }
            if *change == Change::Replaced && !opts.remove_new {
                let now = d
                    .changes
                    .iter()
                    .find(|c| &c.path == path)
                    .and_then(|c| c.now.as_ref())
                    .map(|n| n.kind.name())
                    .unwrap_or("something else");
                self.out.failed.push((
                    path.clone(),
                    format!(
                        "a {now} is there now (created since): not replaced without --remove-new"
                    ),
                ));
                continue;
            }
            let result = match (e.kind, change) {
                (Kind::Dir, Change::Mode) => Ok(None),
                (_, Change::Mode) => self.chmod(e).map(|_| Some(Action::Mode)),
                (Kind::Dir, _) => self.mkdir(e).map(|_| Some(Action::Created)),
                (Kind::File, _) => self.write_file(e).map(|_| Some(Action::Wrote)),
                (Kind::Symlink, _) => self.symlink(e).map(|_| Some(Action::Linked)),
                (Kind::Other, _) => Err(format!("a {} cannot be restored", Kind::Other.name())),
            };
            match result {
                Ok(Some(a)) => self.out.done.push((path.clone(), a)),
                Ok(None) => {}
                Err(err) => self.out.failed.push((path.clone(), err)),
            }
        }

        // 4. Directory modes, children first (a read-only directory stays
        //    writable until everything inside it is back).
        let made: Vec<Vec<u8>> = std::mem::take(&mut self.made);
        for rel in made.iter().rev() {
            if todo.iter().any(|(e, _, _)| &e.path == rel) {
                continue;
            }
            if let Some(e) = d.recorded.get(rel) {
                let _ = self.chmod(e);
                self.out
                    .done
                    .push((self.d.root.join(OsStr::from_bytes(rel)), Action::Created));
            }
        }
        for (e, change, path) in todo.iter().rev() {
            if e.kind != Kind::Dir || (e.skip != Skip::No && *change != Change::Mode) {
                continue;
            }
            let failed = self.out.failed.iter().any(|(p, _)| p == path);
            if failed {
                continue;
            }
            match self.chmod(e) {
                Ok(()) if *change == Change::Mode => {
                    self.out.done.push((path.clone(), Action::Mode))
                }
                Ok(()) => {}
                Err(err) => self.out.failed.push((path.clone(), err)),
            }
        }
    }

    /// The descriptor of directory `rel` below the root, opened component
    /// by component without following symlinks. `create`: make missing
    /// directories (mode 0700 for now; their recorded mode comes last).
    fn dir(&mut self, rel: &[u8], create: bool) -> Result<i32, String> {
        if self.root_fd.is_none() {
            let fd = sys::open_dir(None, self.d.root.as_os_str())
                .map_err(|e| format!("grant root {}: {e}", self.d.root.display()))?;
            self.root_fd = Some(fd);
        }
        let mut cur: Vec<u8> = Vec::new();
        let mut fd = self.root_fd.as_ref().map(|f| f.as_raw_fd()).unwrap_or(-1);
        if rel.is_empty() {
            return Ok(fd);
        }
        for comp in rel.split(|b| *b == b'/') {
            if !cur.is_empty() {
                cur.push(b'/');
            }
            cur.extend_from_slice(comp);
            if let Some(f) = self.dirs.get(&cur) {
                fd = f.as_raw_fd();
                continue;
            }
            let name = OsStr::from_bytes(comp);
            let opened = match sys::open_dir(Some(fd), name) {
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) && create && !self.dry_run => {
                    self.made.push(cur.clone());
                    sys::mkdir_at(fd, name, 0o700).and_then(|_| sys::open_dir(Some(fd), name))
                }
                other => other,
            };
            let f = opened.map_err(|e| match e.raw_os_error() {
                Some(libc::ELOOP) | Some(libc::ENOTDIR) => {
                    format!("{} is no longer a directory", String::from_utf8_lossy(&cur))
                }
                _ => format!("{}: {e}", String::from_utf8_lossy(&cur)),
            })?;
            fd = f.as_raw_fd();
            self.dirs.insert(cur.clone(), f);
        }
        Ok(fd)
    }

    fn parent(&mut self, e: &Entry) -> Result<(i32, Vec<u8>), String> {
        if e.path.is_empty() && e.kind != Kind::Dir {
            return self.file_root_parent();
        }
        let (parent, name) = split(&e.path);
        if self.dry_run {
            return Ok((-1, name.to_vec()));
        }
        let fd = self.dir(parent, true)?;
        Ok((fd, name.to_vec()))
    }

    /// A grant of a single file: the file is the root, and restore works
    /// in the directory that holds it (outside the grant, so the command
    /// could not have replaced it).
    fn file_root_parent(&mut self) -> Result<(i32, Vec<u8>), String> {
        let root = &self.d.root;
        let (Some(dir), Some(name)) = (root.parent(), root.file_name()) else {
            return Err("the grant has no parent directory".into());
        };
        let name = name.as_bytes().to_vec();
        if self.dry_run {
            return Ok((-1, name));
        }
        if self.root_fd.is_none() {
            let fd = sys::open_dir(None, dir.as_os_str())
                .map_err(|e| format!("{}: {e}", dir.display()))?;
            self.root_fd = Some(fd);
        }
        Ok((
            self.root_fd.as_ref().map(|f| f.as_raw_fd()).unwrap_or(-1),
            name,
        ))
    }

    fn owner(&self, fd: i32, name: &[u8], e: &Entry) {
        if self.as_root {
            let _ = sys::chown_at(fd, OsStr::from_bytes(name), e.uid, e.gid);
        }
    }

    fn mkdir(&mut self, e: &Entry) -> Result<(), String> {
        if e.path.is_empty() {
            return Err("the grant root itself is gone: create it, then restore".into());
        }
        let (fd, name) = self.parent(e)?;
        if self.dry_run {
            return Ok(());
        }
        match sys::mkdir_at(fd, OsStr::from_bytes(&name), 0o700) {
            Ok(()) => {}
            Err(err) if err.raw_os_error() == Some(libc::EEXIST) => {}
            Err(err) => return Err(err.to_string()),
        }
        self.owner(fd, &name, e);
        Ok(())
    }

    fn chmod(&mut self, e: &Entry) -> Result<(), String> {
        if self.dry_run {
            return Ok(());
        }
        if e.path.is_empty() && e.kind == Kind::Dir {
            let root = self.d.root.as_os_str();
            return sys::chmod_at(libc::AT_FDCWD, root, e.mode).map_err(|x| x.to_string());
        }
        let (fd, name) = self.parent(e)?;
        sys::chmod_at(fd, OsStr::from_bytes(&name), e.mode).map_err(|x| x.to_string())
    }

    fn temp_name(name: &[u8]) -> Vec<u8> {
        let mut t = format!(".nono-restore-{}-", std::process::id()).into_bytes();
        t.extend_from_slice(&name[..name.len().min(100)]);
        t
    }

    fn write_file(&mut self, e: &Entry) -> Result<(), String> {
        let Some(h) = e.hash else {
            return Err("contents not recorded".into());
        };
        let (fd, name) = self.parent(e)?;
        if self.dry_run {
            return Ok(());
        }
        let tmp = Self::temp_name(&name);
        let tmp_os = OsStr::from_bytes(&tmp);
        let _ = sys::unlink_at(fd, tmp_os, false);
        let result = (|| -> Result<(), String> {
            let mut src = self
                .store
                .open_object(&h)
                .map_err(|x| format!("snapshot object missing: {x}"))?;
            let mut dst = sys::create_file(fd, tmp_os).map_err(|x| x.to_string())?;
            let mut hasher = blake3::Hasher::new();
            let mut buf = vec![0u8; 256 * 1024];
            loop {
                let k = src.read(&mut buf).map_err(|x| x.to_string())?;
                if k == 0 {
                    break;
                }
                hasher.update(&buf[..k]);
                dst.write_all(&buf[..k]).map_err(|x| x.to_string())?;
            }
            if hasher.finalize() != h {
                return Err("snapshot object damaged (hash mismatch): not restored".into());
            }
            // Owner first: chown clears the set-user-ID and set-group-ID
            // bits, so the mode is set after it.
            self.owner(fd, &tmp, e);
            use std::os::unix::fs::PermissionsExt;
            dst.set_permissions(std::fs::Permissions::from_mode(e.mode))
                .map_err(|x| x.to_string())?;
            dst.sync_all().map_err(|x| x.to_string())?;
            sys::rename_at(fd, tmp_os, OsStr::from_bytes(&name)).map_err(|x| {
                match x.raw_os_error() {
                    Some(libc::EISDIR) | Some(libc::ENOTEMPTY) | Some(libc::EEXIST) => {
                        "a directory is there now: not replaced without --remove-new".to_string()
                    }
                    _ => x.to_string(),
                }
            })
        })();
        if result.is_err() {
            let _ = sys::unlink_at(fd, tmp_os, false);
        }
        result
    }

    fn symlink(&mut self, e: &Entry) -> Result<(), String> {
        let Some(target) = &e.target else {
            return Err("target not recorded".into());
        };
        let (fd, name) = self.parent(e)?;
        if self.dry_run {
            return Ok(());
        }
        let tmp = Self::temp_name(&name);
        let tmp_os = OsStr::from_bytes(&tmp);
        let _ = sys::unlink_at(fd, tmp_os, false);
        sys::symlink_at(OsStr::from_bytes(target), fd, tmp_os).map_err(|x| x.to_string())?;
        self.owner(fd, &tmp, e);
        sys::rename_at(fd, tmp_os, OsStr::from_bytes(&name)).map_err(|x| {
            let _ = sys::unlink_at(fd, tmp_os, false);
            x.to_string()
        })
    }

    /// Removes an entry created since (a directory with everything in it).
    fn remove(&mut self, path: &std::path::Path) {
        let rel = rel_of(self.d, path);
        if rel.is_empty() {
            return;
        }
        if self.dry_run {
            self.out.done.push((path.to_path_buf(), Action::Removed));
            return;
        }
        let (parent, name) = split(&rel);
        let result = self.dir(parent, false).and_then(|fd| {
            let name = OsStr::from_bytes(name);
            let st = match sys::stat_at(fd, name) {
                Ok(st) => st,
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(false),
                Err(e) => return Err(e.to_string()),
            };
            if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
                // Through the parent's descriptor: std's remove_dir_all
                // does not follow symlinks inside.
                let p = PathBuf::from(format!("/proc/self/fd/{fd}")).join(name);
                std::fs::remove_dir_all(p).map_err(|e| e.to_string())?;
            } else {
                sys::unlink_at(fd, name, false).map_err(|e| e.to_string())?;
            }
            Ok(true)
        });
        match result {
            Ok(true) => self.out.done.push((path.to_path_buf(), Action::Removed)),
            Ok(false) => {}
            Err(e) => self.out.failed.push((path.to_path_buf(), e)),
        }
    }
}
