//! The snapshot store: `$XDG_STATE_HOME/nono/undo` (default
//! `~/.local/state/nono/undo`), a protected path that no sandbox reaches.
//!
//! ```text
//! lock                  flock: exclusive to snapshot and prune, shared to read
//! objects/ab/cdef...    file contents by BLAKE3 hash, written once (mode 0600)
//! objects/tmp/          objects being written (removed when found stale)
//! runs/ID/run.json      one complete snapshot: its metadata ...
//! runs/ID/N.manifest    ... and one manifest per write grant
//! runs/.tmp-ID          a snapshot being taken; renamed to runs/ID when complete
//! ```
//!
//! A snapshot exists only once its directory has been renamed into place,
//! after every object and manifest it names is written: a crash or `kill
//! -9` at any point before leaves a `.tmp-` directory, which the next
//! writer removes, and never a partial snapshot.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::manifest::{self, Entry};
use super::sys;

/// The store's directory for this user.
pub fn location(home: &Path) -> PathBuf {
    crate::policy::state_base(home).join("undo")
}

/// Metadata of one snapshot run (`run.json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunMeta {
    pub version: u32,
    pub id: String,
    /// Start of the snapshot, Unix time in milliseconds.
    pub started_ms: u64,
    /// The current directory of the run (escaped bytes).
    pub cwd: String,
    /// The command and its arguments (escaped bytes).
    pub command: Vec<String>,
    /// `strict` or `best-effort`.
    pub mode: String,
    pub grants: Vec<GrantMeta>,
}

/// One write grant of a run.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct GrantMeta {
    /// The grant's root, absolute and canonical (escaped bytes).
    pub root: String,
    /// The manifest's file name in the run directory.
    pub manifest: String,
    pub stats: Stats,
}

/// What taking one grant's snapshot cost and found.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Stats {
    /// Entries recorded (files, directories, symlinks, others).
    pub entries: u64,
    pub files: u64,
    /// Bytes of the regular files recorded in full.
    pub bytes: u64,
    /// Files read and hashed in this run.
    pub hashed: u64,
    /// Files taken over from the previous snapshot without reading them.
    pub reused: u64,
    /// New objects written to the store, and their bytes.
    pub copied: u64,
    pub copied_bytes: u64,
    /// Entries whose contents are not recorded (skip list, size, special).
    pub skipped: u64,
    /// Entries that could not be read (best-effort snapshots only).
    pub unreadable: u64,
}

impl RunMeta {
    pub fn roots(&self) -> impl Iterator<Item = PathBuf> + '_ {
        self.grants.iter().map(|g| path_of(&g.root))
    }
    pub fn cwd_path(&self) -> PathBuf {
        path_of(&self.cwd)
    }
    pub fn command_text(&self) -> Vec<String> {
        self.command
            .iter()
            .map(|a| {
                String::from_utf8_lossy(&manifest::unescape(a).unwrap_or_default()).into_owned()
            })
            .collect()
    }
}

pub fn esc(b: &[u8]) -> String {
    let mut s = String::new();
    manifest::escape(b, &mut s);
    s
}

pub fn path_of(escaped: &str) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    PathBuf::from(std::ffi::OsString::from_vec(
        manifest::unescape(escaped).unwrap_or_default(),
    ))
}

/// An open store.
pub struct Store {
    pub root: PathBuf,
    tmp_counter: std::sync::atomic::AtomicU64,
}

fn mkdir_private(p: &Path) -> io::Result<()> {
    match fs::DirBuilder::new().recursive(true).mode(0o700).create(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

impl Store {
    /// Opens the store, creating it (mode 0700) when missing.
    pub fn open(root: &Path) -> io::Result<Store> {
        for d in [
            root.to_path_buf(),
            root.join("runs"),
            root.join("objects/tmp"),
        ] {
            mkdir_private(&d)?;
        }
        Ok(Store {
            root: root.to_path_buf(),
            tmp_counter: Default::default(),
        })
    }

    /// Opens an existing store for reading; None when there is none.
    pub fn existing(root: &Path) -> Option<Store> {
        root.join("runs").is_dir().then(|| Store {
            root: root.to_path_buf(),
            tmp_counter: Default::default(),
        })
    }

    pub fn lock(&self, exclusive: bool) -> io::Result<sys::Lock> {
        let f = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
            .open(self.root.join("lock"))?;
        sys::lock(f, exclusive)
    }

    pub fn object_path(&self, h: &blake3::Hash) -> PathBuf {
        let hex = h.to_hex();
        self.root
            .join("objects")
            .join(&hex.as_str()[..2])
            .join(&hex.as_str()[2..])
    }

    /// Stores the contents of `src` (open for reading, at offset 0) and
    /// returns its hash, the number of bytes, and whether a new object was
    /// written. The copy is a reflink where the filesystem can, else a copy
    /// made while hashing (one read of the file either way).
    pub fn put(&self, src: &mut File) -> io::Result<(blake3::Hash, u64, bool)> {
        let n = self
            .tmp_counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = self
            .root
            .join("objects/tmp")
            .join(format!("{}-{n}", std::process::id()));
        let mut out = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_CLOEXEC)
            .open(&tmp)?;
        let result = (|| {
            let mut hasher = blake3::Hasher::new();
            let mut total = 0u64;
            let mut buf = vec![0u8; 256 * 1024];
            if sys::reflink(src, &out) {
                // Hash the clone, not the source: what is hashed is
                // exactly what is stored.
                let mut clone = &out;
                loop {
                    let k = clone.read(&mut buf)?;
                    if k == 0 {
                        break;
                    }
                    hasher.update(&buf[..k]);
                    total += k as u64;
                }
            } else {
                loop {
                    let k = match src.read(&mut buf) {
                        Ok(k) => k,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(e),
                    };
                    if k == 0 {
                        break;
                    }
                    hasher.update(&buf[..k]);
                    out.write_all(&buf[..k])?;
                    total += k as u64;
                }
            }
            let h = hasher.finalize();
            let dest = self.object_path(&h);
            if fs::symlink_metadata(&dest).is_ok() {
                return Ok((h, total, false));
            }
            if let Some(parent) = dest.parent() {
                mkdir_private(parent)?;
            }
            fs::rename(&tmp, &dest)?;
            Ok((h, total, true))
        })();
        out.flush().ok();
        drop(out);
        if !matches!(result, Ok((_, _, true))) {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    /// Opens an object for reading.
    pub fn open_object(&self, h: &blake3::Hash) -> io::Result<File> {
        File::open(self.object_path(h))
    }

    /// Every complete run, newest first. Unreadable runs are skipped.
    pub fn runs(&self) -> io::Result<Vec<RunMeta>> {
        let mut out = Vec::new();
        for e in fs::read_dir(self.root.join("runs"))? {
            let e = e?;
            let name = e.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.starts_with('.') {
                continue;
            }
            match self.run(name) {
                Ok(m) => out.push(m),
                Err(err) => tracing::debug!(run = name, error = %err, "unreadable run"),
            }
        }
        out.sort_by(|a, b| b.id.cmp(&a.id));
        Ok(out)
    }

    pub fn run(&self, id: &str) -> io::Result<RunMeta> {
        let text = fs::read_to_string(self.root.join("runs").join(id).join("run.json"))?;
        serde_json::from_str(&text).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    /// A grant's manifest entries.
    pub fn manifest(&self, run: &RunMeta, grant: &GrantMeta) -> io::Result<Vec<Entry>> {
        let text = fs::read_to_string(self.root.join("runs").join(&run.id).join(&grant.manifest))?;
        manifest::decode(&text)
            .map(|(_, e)| e)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    /// Removes what interrupted writers left: `.tmp-` runs and objects
    /// being written. Call with the exclusive lock held (no writer is
    /// then running).
    pub fn remove_stale(&self) {
        for dir in ["runs", "objects/tmp"] {
            for e in fs::read_dir(self.root.join(dir))
                .into_iter()
                .flatten()
                .flatten()
            {
                let name = e.file_name();
                let stale = dir == "objects/tmp" || name.to_string_lossy().starts_with(".tmp-");
                if stale {
                    let p = e.path();
                    let _ = if p.is_dir() {
                        fs::remove_dir_all(&p)
                    } else {
                        fs::remove_file(&p)
                    };
                }
            }
        }
    }

    /// A fresh run id: the UTC start time, sortable as text
    /// (`YYYYMMDD-HHMMSS-mmm`), made unique among the runs present.
    pub fn new_id(&self, started_ms: u64) -> String {
        let mut ms = started_ms;
        loop {
            let id = super::time::run_id(ms);
            let taken = self.root.join("runs").join(&id).exists()
                || self.root.join("runs").join(format!(".tmp-{id}")).exists();
            if !taken {
                return id;
            }
            ms += 1;
        }
    }

    /// Creates the temporary directory of a run being taken.
    pub fn begin(&self, id: &str) -> io::Result<PathBuf> {
        let p = self.root.join("runs").join(format!(".tmp-{id}"));
        fs::DirBuilder::new().mode(0o700).create(&p)?;
        Ok(p)
    }

    /// Writes the manifests and run.json into `tmp` and renames the run
    /// into place.
    ///
    /// `durable` (NONO_UNDO_SYNC=1): first flush the filesystem (one
    /// syncfs for every object of the run, cheaper than an fsync per
    /// object), so that the snapshot survives a power loss right after.
    /// Without it the data reaches the disk with the kernel's writeback
    /// (within about 30 seconds; writeback of the manifests is started
    /// here): a snapshot damaged by a power loss in that window is
    /// detected (manifest checksum, object hashes checked on restore) and
    /// reported, never restored wrongly. A process crash or kill -9 never
    /// needs a sync: the page cache survives it.
    pub fn commit(
        &self,
        tmp: &Path,
        meta: &RunMeta,
        manifests: &[(String, String)],
        durable: bool,
    ) -> io::Result<()> {
        let write = |name: &str, text: &str| -> io::Result<File> {
            let mut f = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(tmp.join(name))?;
            f.write_all(text.as_bytes())?;
            Ok(f)
        };
        let mut files = Vec::new();
        for (name, text) in manifests {
            files.push(write(name, text)?);
        }
        let json = serde_json::to_string_pretty(meta)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        files.push(write("run.json", &json)?);
        if durable {
            sys::sync_filesystem(&files[0])?;
        } else {
            for f in &files {
                sys::start_writeback(f);
            }
        }
        let dest = self.root.join("runs").join(&meta.id);
        fs::rename(tmp, &dest)?;
        if durable {
            File::open(self.root.join("runs"))?.sync_all()?;
        }
        Ok(())
    }

    /// Deletes a run's directory.
    pub fn delete_run(&self, id: &str) -> io::Result<()> {
        fs::remove_dir_all(self.root.join("runs").join(id))
    }
}
