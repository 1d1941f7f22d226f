//! The scan cache: a program directory's listing kept from one run to the
//! next, so that a start-up does not list `/usr/bin` (or a PATH directory
//! of 10,000 programs) again while it has not changed.
//!
//! A listing is kept under `$XDG_STATE_HOME/nono/scan` (default
//! `~/.local/state/nono/scan`, inside nono's protected state directory: no
//! sandbox can read or write it) and used again only while the directory
//! is provably the same:
//!
//! - The key is the directory's path, device, inode, modification and
//!   status-change times (to the nanosecond), the blocklist's
//!   [`fingerprint`](super::Blocklist::fingerprint) and nono's version.
//!   Every change to a directory's entries (create, unlink, rename in or
//!   out, link, mkdir, rmdir, mknod) updates both times of the directory;
//!   the status-change time cannot be set by any program.
//! - A listing is stored only when the directory had not changed for
//!   [`QUIET`] before it was listed, and did not change while it was
//!   listed: a change later gets a newer time (timestamps are coarse, a
//!   change in the same clock tick as the stored time would otherwise go
//!   unseen).
//! - Only on filesystems whose `d_ino` is `stat`'s inode number (ext4, XFS,
//!   Btrfs, tmpfs): there an entry's identity is its directory entry.
//! - The file must be a regular file of the user running nono, writable by
//!   nobody else, and its BLAKE3 checksum must match; anything else is a
//!   miss (the directory is listed, as without a cache).
//! - A blocked symlink's target identity is looked up again on every use:
//!   the link's target can change without its directory changing.
//!
//! `nono run` writes the cache; `--dry-run`, `why` and `profile` only read
//! it. Nothing is written into a home the user does not own.

use std::ffi::OsStr;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use super::{Entry, EntryKind, FileId, Hit, Listing, Slot};

/// How long a directory must have been unchanged before its listing is
/// kept.
pub const QUIET: Duration = Duration::from_secs(2);

/// The format of the files (bumped on any change).
const MAGIC: &[u8] = b"nono-scan-cache-1\n";

/// Larger files are not read (a listing of 200,000 entries is ~10 MiB).
const MAX_SIZE: u64 = 64 << 20;

/// At most this many listings are kept: one per directory and blocklist,
/// so PATH directories of old projects and one-off `--allow-command`
/// sets would otherwise pile up. Beyond it, the oldest written go (a
/// listing still in use is made again by the next run that needs it).
const MAX_FILES: usize = 512;

struct Config {
    dir: PathBuf,
    write: bool,
}

static CONFIG: OnceLock<Config> = OnceLock::new();

/// Turns the cache on for this process, in `state` (nono's state
/// directory); `write`: store new listings (only `nono run`). The first
/// call wins; without one there is no cache (unit tests, library use).
pub fn configure(home: &Path, state: &Path, write: bool) {
    let owned = fs::metadata(home).is_ok_and(|m| m.uid() == nix::unistd::geteuid().as_raw());
    let _ = CONFIG.set(Config {
        dir: state.join("scan"),
        write: write && owned,
    });
}

/// True if [`configure`] turned the cache on.
pub fn enabled() -> bool {
    CONFIG.get().is_some()
}

/// What a directory is at the time it is listed: the key's dynamic part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirState {
    pub dev: u64,
    pub ino: u64,
    pub mtime: (i64, i64),
    pub ctime: (i64, i64),
}

impl DirState {
    // The fields' types differ between platforms: not all casts are
    // no-ops everywhere.
    #[allow(clippy::unnecessary_cast)]
    pub fn of(st: &nix::sys::stat::FileStat) -> DirState {
        DirState {
            dev: st.st_dev as u64,
            ino: st.st_ino as u64,
            mtime: (st.st_mtime as i64, st.st_mtime_nsec as i64),
            ctime: (st.st_ctime as i64, st.st_ctime_nsec as i64),
        }
    }

    /// True if the directory last changed at least [`QUIET`] before now.
    fn quiet(&self) -> bool {
        let Ok(now) = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH) else {
            return false;
        };
        let Ok(secs) = u64::try_from(self.ctime.0) else {
            return false;
        };
        let changed = Duration::new(secs, self.ctime.1.clamp(0, 999_999_999) as u32);
        now.checked_sub(changed).is_some_and(|age| age >= quiet())
    }
}

#[cfg(feature = "test-abi-cap")]
fn quiet() -> Duration {
    // Test builds only: a test cannot wait for a directory it just made
    // to become old, so it may shorten the wait.
    std::env::var("NONO_TEST_SCAN_QUIET_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(QUIET)
}

#[cfg(not(feature = "test-abi-cap"))]
fn quiet() -> Duration {
    QUIET
}

/// The key of one listing: everything the listing depends on.
pub struct Key {
    bytes: Vec<u8>,
    file: PathBuf,
    write: bool,
}

impl Key {
    /// `None` when the cache is off.
    pub fn new(dir: &Path, state: DirState, fingerprint: &[u8]) -> Option<Key> {
        let config = CONFIG.get()?;
        let mut bytes = Vec::with_capacity(128 + fingerprint.len());
        bytes.extend_from_slice(MAGIC);
        put(&mut bytes, env!("CARGO_PKG_VERSION").as_bytes());
        put(&mut bytes, dir.as_os_str().as_bytes());
        put(&mut bytes, fingerprint);
        // The file's name: the static part of the key, so that a
        // directory has one file per blocklist and a change replaces it.
        let name = blake3::hash(&bytes).to_hex();
        for v in [state.dev, state.ino] {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        for (s, ns) in [state.mtime, state.ctime] {
            bytes.extend_from_slice(&s.to_le_bytes());
            bytes.extend_from_slice(&ns.to_le_bytes());
        }
        Some(Key {
            bytes,
            file: config.dir.join(&name[..32]),
            write: config.write,
        })
    }

    /// The kept listing, if there is one for exactly this key.
    pub(super) fn load(&self) -> Option<Listing> {
        match read(&self.file).and_then(|data| decode(&data, &self.bytes)) {
            Ok(l) => Some(l),
            Err(why) => {
                tracing::debug!(file = %self.file.display(), why, "scan cache: miss");
                None
            }
        }
    }

    /// Keeps `listing`, made when the directory was `before` and still
    /// was `after` it was read. Failures are only logged: the cache saves
    /// time, it is never needed.
    pub(super) fn store(&self, listing: &Listing, before: DirState, after: Option<DirState>) {
        if !self.write {
            return;
        }
        if after != Some(before) {
            tracing::debug!(file = %self.file.display(), "scan cache: the directory changed while it was listed");
            return;
        }
        if !before.quiet() {
            tracing::debug!(file = %self.file.display(), "scan cache: the directory changed recently; not kept");
            return;
        }
        if let Err(e) = write(&self.file, &encode(listing, &self.bytes)) {
            tracing::debug!(file = %self.file.display(), error = %e, "scan cache: not written");
            return;
        }
        if let Some(dir) = self.file.parent() {
            prune(dir, MAX_FILES);
        }
    }
}

fn put(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b);
}

fn put_id(out: &mut Vec<u8>, id: Option<FileId>) {
    match id {
        None => out.push(0),
        Some(id) => {
            out.push(1);
            out.extend_from_slice(&id.dev.to_le_bytes());
            out.extend_from_slice(&id.ino.to_le_bytes());
        }
    }
}

fn kind_byte(k: EntryKind) -> u8 {
    match k {
        EntryKind::File => 0,
        EntryKind::Dir => 1,
        EntryKind::Link => 2,
        EntryKind::Other => 3,
    }
}

/// The file: key, listing, then the BLAKE3 hash of everything before it.
pub(super) fn encode(l: &Listing, key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() + l.names.len() + l.slots.len() * 26 + 64);
    put(&mut out, key);
    out.extend_from_slice(&(l.hits.len() as u32).to_le_bytes());
    for e in &l.hits {
        put(&mut out, e.name.as_bytes());
        out.push(kind_byte(e.kind));
        put_id(&mut out, e.id);
        let hit = e.hit.as_ref();
        put(&mut out, hit.map_or(&b""[..], |h| h.pattern.as_bytes()));
        put(&mut out, hit.map_or(&b""[..], |h| h.category.as_bytes()));
    }
    put(&mut out, &l.names);
    out.extend_from_slice(&(l.slots.len() as u32).to_le_bytes());
    for s in &l.slots {
        put_id(&mut out, s.id);
        out.push(u8::from(s.dir));
        out.extend_from_slice(&(s.start as u32).to_le_bytes());
        out.extend_from_slice(&(s.end as u32).to_le_bytes());
    }
    let sum = blake3::hash(&out);
    out.extend_from_slice(sum.as_bytes());
    out
}

/// A bounds-checked reader over a file's bytes.
struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        if n > self.data.len() {
            return Err("truncated");
        }
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, &'static str> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, &'static str> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, &'static str> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    fn bytes(&mut self) -> Result<&'a [u8], &'static str> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    fn id(&mut self) -> Result<Option<FileId>, &'static str> {
        match self.u8()? {
            0 => Ok(None),
            1 => Ok(Some(FileId {
                dev: self.u64()?,
                ino: self.u64()?,
            })),
            _ => Err("bad identity"),
        }
    }
}

/// The listing in `data`, if `data` is a whole, unchanged file for `key`.
pub(super) fn decode(data: &[u8], key: &[u8]) -> Result<Listing, &'static str> {
    let Some(body_len) = data.len().checked_sub(blake3::OUT_LEN) else {
        return Err("truncated");
    };
    let (body, sum) = data.split_at(body_len);
    if blake3::hash(body).as_bytes()[..] != sum[..] {
        return Err("checksum mismatch");
    }
    let mut r = Reader { data: body };
    if r.bytes()? != key {
        return Err("stale (the directory or the blocklist changed)");
    }
    let n_hits = r.u32()? as usize;
    let mut hits = Vec::with_capacity(n_hits.min(4096));
    for _ in 0..n_hits {
        let name = OsStr::from_bytes(r.bytes()?).to_os_string();
        let kind = match r.u8()? {
            0 => EntryKind::File,
            1 => EntryKind::Dir,
            2 => EntryKind::Link,
            3 => EntryKind::Other,
            _ => return Err("bad kind"),
        };
        let id = r.id()?;
        let pattern = std::str::from_utf8(r.bytes()?).map_err(|_| "bad pattern")?;
        let category = std::str::from_utf8(r.bytes()?).map_err(|_| "bad category")?;
        if pattern.is_empty() {
            return Err("a hit without its pattern");
        }
        hits.push(Entry {
            name,
            kind,
            id,
            hit: Some(Hit {
                pattern: pattern.to_string(),
                category: category.to_string(),
            }),
        });
    }
    let names = r.bytes()?.to_vec();
    let n_slots = r.u32()? as usize;
    if n_slots > body.len() {
        return Err("bad slot count");
    }
    let mut slots = Vec::with_capacity(n_slots);
    for _ in 0..n_slots {
        let id = r.id()?;
        let dir = match r.u8()? {
            0 => false,
            1 => true,
            _ => return Err("bad slot"),
        };
        let start = r.u32()? as usize;
        let end = r.u32()? as usize;
        if start > end || end > names.len() {
            return Err("bad slot");
        }
        slots.push(Slot {
            id,
            dir,
            start,
            end,
        });
    }
    if !r.data.is_empty() {
        return Err("trailing bytes");
    }
    Ok(Listing { hits, slots, names })
}

/// The file's bytes, if it is the user's own regular file that nobody
/// else can write.
fn read(file: &Path) -> Result<Vec<u8>, &'static str> {
    let mut f = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
        .open(file)
        .map_err(|_| "no file")?;
    let meta = f.metadata().map_err(|_| "cannot stat")?;
    if !meta.file_type().is_file() {
        return Err("not a regular file");
    }
    if meta.uid() != nix::unistd::geteuid().as_raw() {
        return Err("owned by another user");
    }
    if meta.mode() & 0o022 != 0 {
        return Err("writable by others");
    }
    if meta.len() > MAX_SIZE {
        return Err("too large");
    }
    let mut data = Vec::with_capacity(meta.len() as usize);
    f.read_to_end(&mut data).map_err(|_| "cannot read")?;
    Ok(data)
}

/// Writes `data` to `file` through a new private file renamed over it.
fn write(file: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = file.parent().unwrap_or(Path::new("/"));
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}",
        file.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp)?;
        f.write_all(data)?;
        fs::rename(&tmp, file)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Removes the oldest files of `dir` beyond `keep` (by modification
/// time). Only run after a listing was written, which is rare.
fn prune(dir: &Path, keep: usize) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<(SystemTime, PathBuf)> = entries
        .flatten()
        .filter_map(|e| {
            let m = e.metadata().ok()?;
            if !m.is_file() {
                return None;
            }
            Some((m.modified().ok()?, e.path()))
        })
        .collect();
    if files.len() <= keep {
        return;
    }
    files.sort();
    let excess = files.len() - keep;
    for (_, f) in files.into_iter().take(excess) {
        let _ = fs::remove_file(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Listing {
        let names = b"lsgrepsbin".to_vec();
        Listing {
            hits: vec![Entry {
                name: "rm".into(),
                kind: EntryKind::File,
                id: Some(FileId { dev: 3, ino: 99 }),
                hit: Some(Hit {
                    pattern: "rm".into(),
                    category: "deletes files".into(),
                }),
            }],
            slots: vec![
                Slot {
                    id: Some(FileId { dev: 3, ino: 7 }),
                    dir: false,
                    start: 0,
                    end: 2,
                },
                Slot {
                    id: Some(FileId { dev: 3, ino: 99 }),
                    dir: false,
                    start: 2,
                    end: 6,
                },
                Slot {
                    id: None,
                    dir: true,
                    start: 6,
                    end: 10,
                },
            ],
            names,
        }
    }

    #[test]
    fn a_listing_comes_back_as_it_was_kept() {
        let l = sample();
        assert_eq!(decode(&encode(&l, b"key"), b"key"), Ok(l));
    }

    #[test]
    fn another_key_is_a_miss() {
        let data = encode(&sample(), b"key at 10:00");
        assert!(decode(&data, b"key at 10:01").is_err());
    }

    /// Every single-byte change and every truncation is refused: none can
    /// make a blocked program look like an ordinary one.
    #[test]
    fn any_damaged_file_is_a_miss() {
        let data = encode(&sample(), b"key");
        for i in 0..data.len() {
            let mut bad = data.clone();
            bad[i] ^= 0x01;
            assert!(decode(&bad, b"key").is_err(), "byte {i} flipped");
        }
        for n in 0..data.len() {
            assert!(decode(&data[..n], b"key").is_err(), "cut at {n}");
        }
    }

    #[test]
    fn a_file_writable_by_others_is_not_read() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("c");
        fs::write(&f, b"x").unwrap();
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&f, fs::Permissions::from_mode(0o620)).unwrap();
        assert_eq!(read(&f), Err("writable by others"));
        fs::set_permissions(&f, fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read(&f), Ok(b"x".to_vec()));
        let link = t.path().join("l");
        std::os::unix::fs::symlink(&f, &link).unwrap();
        assert_eq!(read(&link), Err("no file"));
    }

    #[test]
    fn written_files_are_private() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("scan/abc");
        write(&f, b"data").unwrap();
        assert_eq!(fs::metadata(&f).unwrap().mode() & 0o777, 0o600);
        assert_eq!(
            fs::metadata(t.path().join("scan")).unwrap().mode() & 0o777,
            0o700
        );
        write(&f, b"again").unwrap();
        assert_eq!(fs::read(&f).unwrap(), b"again");
        assert_eq!(fs::read_dir(t.path().join("scan")).unwrap().count(), 1);
    }

    #[test]
    fn only_the_newest_listings_are_kept() {
        let t = tempfile::tempdir().unwrap();
        for i in 0..10u64 {
            let f = t.path().join(format!("f{i}"));
            fs::write(&f, b"x").unwrap();
            let when = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + i);
            fs::File::options()
                .write(true)
                .open(&f)
                .unwrap()
                .set_modified(when)
                .unwrap();
        }
        prune(t.path(), 4);
        let mut left: Vec<String> = fs::read_dir(t.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["f6", "f7", "f8", "f9"]);
        prune(t.path(), 4);
        assert_eq!(fs::read_dir(t.path()).unwrap().count(), 4);
    }

    #[test]
    fn a_directory_changed_just_now_is_not_quiet() {
        let t = tempfile::tempdir().unwrap();
        let st = nix::sys::stat::stat(t.path()).unwrap();
        if quiet() >= Duration::from_millis(100) {
            assert!(!DirState::of(&st).quiet());
        }
        let old = DirState {
            ctime: (1, 0),
            ..DirState::of(&st)
        };
        assert!(old.quiet());
    }
}
