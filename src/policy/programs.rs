//! Kernel enforcement of the blocklist: blocked programs get no execute
//! right.
//!
//! Landlock can only allow, and a right granted on a directory reaches its
//! whole hierarchy. So execute cannot stay a right on `/usr`: every rule
//! with execute that covers a *program directory* holding a blocked program
//! loses execute, and execute is handed back piece by piece ("split"):
//! to each sibling on the way down (`/usr/lib`, `/usr/share`, ... keep
//! execute as whole trees, so ld.so, git's helpers and gcc's cc1 still run),
//! and inside the program directory to each regular file on its own, except
//! the blocked ones.
//!
//! A file is blocked when its name is on the blocklist, or when it is the
//! same file (device and inode, through a symlink or a hard link) as an
//! entry of a scanned directory whose name is: `/usr/sbin/mkfs.ext4 ->
//! mke2fs` blocks `mke2fs` too, and a `zap -> /usr/bin/rm` link anywhere
//! runs into the missing right of `/usr/bin/rm` (the kernel checks execute
//! on the file a symlink resolves to).
//!
//! Scanned directories: the system program directories (data), every
//! absolute `PATH` directory, and, when `--block-command` is used, the
//! directories of granted trees that hold a file with a blocked name.
//! The rules built here are ordinary [`Rule`]s with
//! [`Origin::ExecSplit`], so `--dry-run`, `why` and the kernel see the same.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::blocklist::{Blocklist, Hit};
use super::rules::RuleSet;
use super::{paths, Access, Kind, Origin, PolicyError, Rule};

pub mod cache;

/// How many entries the search of granted trees for `--block-command`
/// names may visit before nono refuses (fail closed: it cannot promise the
/// block otherwise).
pub const SEARCH_LIMIT: usize = 200_000;

/// Never split: the Nix store holds every program of a NixOS system in
/// one flat directory of thousands of entries; splitting it would cost a
/// rule per store path. Programs there are blocked at the top level only.
const NOT_SPLIT: &str = "/nix/store";

/// A file's identity: what a hard link or symlink shares with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId {
    pub dev: u64,
    pub ino: u64,
}

impl FileId {
    fn of(meta: &std::fs::Metadata) -> FileId {
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

/// A file left without execute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockedFile {
    /// The directory entry, as found.
    pub path: PathBuf,
    /// For a symlink: the file it resolves to.
    pub target: Option<PathBuf>,
    pub hit: Hit,
    /// Empty when blocked by its own name; else the blocked names (of other
    /// entries) that are the same file.
    pub same_as: Vec<String>,
    /// What the entry was when scanned: a regular file, directory,
    /// symlink or other.
    pub kind: BlockedKind,
}

/// The kind of a blocked entry, as scanned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockedKind {
    File,
    Dir,
    Link,
    Other,
}

/// Why the top-level command is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandBlock {
    /// The blocked name (a file name, not the pattern that matched it).
    pub name: String,
    pub hit: Hit,
    /// How the invoked name led to the blocked one.
    pub via: Via,
    /// What to pass to `--allow-command` to run it anyway.
    pub allow: Vec<String>,
}

/// How a command reaches a blocked program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Via {
    /// The invoked name itself is blocked.
    Name,
    /// It resolves (through PATH and symlinks) to a file with a blocked name.
    Resolves(PathBuf),
    /// It is the same file (symlink target or hard link) as these blocked
    /// entries of the program directories.
    SameFile(Vec<String>),
}

impl CommandBlock {
    /// `'rm' is blocked (file destruction)` and its variants.
    pub fn message(&self, invoked: &OsStr) -> String {
        let shown = crate::output::path(Path::new(invoked));
        let cat = &self.hit.category;
        match &self.via {
            Via::Name => format!("'{shown}' is blocked ({cat})"),
            Via::Resolves(p) => format!(
                "'{shown}' is blocked: it resolves to {}, which is '{}' ({cat})",
                crate::output::path(p),
                crate::output::text(&self.name)
            ),
            Via::SameFile(names) => format!(
                "'{shown}' is blocked: it is the same file as {} ({cat})",
                crate::output::text(&names.join(", "))
            ),
        }
    }

    /// The options that would run it anyway.
    pub fn allow_flags(&self) -> String {
        self.allow
            .iter()
            .map(|n| format!("--allow-command {}", crate::output::text(n)))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The blocklist as enforced: the effective list and the files it blocks.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Commands {
    pub list: Blocklist,
    /// Directories scanned entry by entry (canonical).
    pub scanned: Vec<PathBuf>,
    /// Directories in which execute is granted per entry.
    pub split: Vec<PathBuf>,
    /// Granted trees searched for `--block-command` names.
    pub searched: Vec<PathBuf>,
    /// Every blocked file found, sorted by path.
    pub blocked: Vec<BlockedFile>,
    /// The execute rules that replace the per-file split where the
    /// blocked files are covered by non-executable mounts (the mount
    /// layer): the split directories as wholes, their ancestors' other
    /// entries as today. A split directory that could not be listed, or
    /// that holds one that could not, is still split (fail closed).
    pub whole: Vec<Rule>,
    /// Set when the mount layer took over ([`super::Policy::mask_programs`]):
    /// the blocked files covered by an empty non-executable file, which
    /// no execute right reaches.
    pub masked: Vec<PathBuf>,
    /// Whether [`Commands::whole`] replaced the per-file split.
    pub masking: bool,
    /// Blocked files by identity: the hit and the blocked names reaching it.
    ids: BTreeMap<FileId, (Hit, Vec<String>)>,
    /// The per-file split, not yet made: it costs one rule per file of a
    /// split directory, which the mount layer does not use. Made by
    /// [`Commands::split_rules`] (the Landlock-only form), dropped by
    /// [`super::Policy::mask_programs`].
    pending: Option<PendingSplit>,
}

/// What the per-file split needs: the listings and, for each rule whose
/// execute is handed back piece by piece, its path, the split directories
/// beneath it and its execute origins.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
struct PendingSplit {
    scanned: BTreeMap<PathBuf, Listing>,
    unlisted: BTreeSet<PathBuf>,
    spread: Vec<Spread>,
}

/// One rule whose execute the per-file split hands back: its path, the
/// split directories beneath it, its execute origins.
type Spread = (PathBuf, Vec<PathBuf>, Vec<Origin>);

impl Commands {
    /// The name check, before the command is looked up: a blocked name is
    /// refused whether or not such a program exists here.
    pub fn check_name(&self, invoked: &OsStr) -> Option<CommandBlock> {
        let name = Path::new(invoked).file_name()?;
        let hit = self.list.check(name.as_bytes())?;
        let name = name.to_string_lossy().into_owned();
        Some(CommandBlock {
            allow: vec![name.clone()],
            name,
            hit,
            via: Via::Name,
        })
    }

    /// The check of the file the command resolved to: the invoked name, the
    /// resolved file's name, and its identity against the blocked files of
    /// the scanned directories. The hint names every blocked name that
    /// stands in the way.
    pub fn check_file(&self, invoked: &OsStr, resolved: &Path) -> Option<CommandBlock> {
        let by_id = std::fs::metadata(resolved)
            .ok()
            .and_then(|m| self.ids.get(&FileId::of(&m)));
        let id_names = by_id.map(|(_, n)| n.clone()).unwrap_or_default();
        let with_ids = |mut b: CommandBlock| {
            for n in &id_names {
                if !b.allow.contains(n) {
                    b.allow.push(n.clone());
                }
            }
            b
        };
        if let Some(b) = self.check_name(invoked) {
            return Some(with_ids(b));
        }
        if let Some(name) = resolved.file_name() {
            if let Some(hit) = self.list.check(name.as_bytes()) {
                let name = name.to_string_lossy().into_owned();
                return Some(with_ids(CommandBlock {
                    allow: vec![name.clone()],
                    name,
                    via: Via::Resolves(resolved.to_path_buf()),
                    hit,
                }));
            }
        }
        let (hit, names) = by_id?;
        Some(CommandBlock {
            hit: hit.clone(),
            name: names.first().cloned().unwrap_or_default(),
            via: Via::SameFile(names.clone()),
            allow: names.clone(),
        })
    }
}

/// Why an entry is blocked: the hit, and the blocked names it is the same
/// file as (empty when blocked by its own name).
type BlockedBy = (Hit, Vec<String>);

/// One entry of a scanned directory, made only where it is needed: for
/// each entry blocked by its own name, for each file that is the same as
/// a blocked one, and, for the per-file split only, for every entry.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    name: OsString,
    kind: EntryKind,
    /// The file's identity (a symlink's: its target's), for regular files.
    id: Option<FileId>,
    /// Blocked by its own name.
    hit: Option<Hit>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EntryKind {
    File,
    Dir,
    Link,
    Other,
}

/// A scanned directory, as compact as the mask form allows: the entries
/// blocked by their own name, made in full (sorted by name), and every
/// other regular file and directory as a slot in one arena of names.
/// Files keep their identity, to find the other names of a blocked file
/// (hard links, multi-call binaries); directories are kept for the
/// per-file split only. Other symlinks and special files are dropped: no
/// form gives them a rule, and a symlink not blocked by its own name is
/// not followed (see [`scan_dir`]).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
struct Listing {
    hits: Vec<Entry>,
    slots: Vec<Slot>,
    names: Vec<u8>,
}

/// An entry of a [`Listing`] not blocked by its own name: its name is
/// `names[start..end]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Slot {
    /// For a regular file, its identity; `None` for a directory (or a file
    /// whose `lstat` failed, as before: no identity to compare).
    id: Option<FileId>,
    dir: bool,
    start: usize,
    end: usize,
}

#[cfg(test)]
thread_local! {
    /// Entries made from slots, for the guard that the mask form makes
    /// O(blocked) of them, not O(files).
    static MADE: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

impl Listing {
    fn name(&self, s: &Slot) -> &OsStr {
        OsStr::from_bytes(self.names.get(s.start..s.end).unwrap_or_default())
    }

    /// The slot as an [`Entry`].
    fn entry(&self, s: &Slot) -> Entry {
        #[cfg(test)]
        MADE.with(|m| m.set(m.get() + 1));
        Entry {
            name: self.name(s).to_os_string(),
            kind: if s.dir {
                EntryKind::Dir
            } else {
                EntryKind::File
            },
            id: s.id,
            hit: None,
        }
    }

    /// Every kept entry, sorted by name: what the per-file split walks.
    fn entries(&self) -> Vec<Entry> {
        let mut out: Vec<Entry> = self.hits.clone();
        out.extend(self.slots.iter().map(|s| self.entry(s)));
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// The files that are the same as a blocked one (by identity), not
    /// blocked by their own name.
    /// A bit per blocked inode number (hashed into 1,024) skips the map
    /// for nearly every file.
    fn same_files<'a>(
        &'a self,
        ids: &'a BTreeMap<FileId, BlockedBy>,
    ) -> impl Iterator<Item = &'a Slot> + 'a {
        let bit = |ino: u64| (ino.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 54) as usize;
        let mut seen = [0u64; 16];
        for id in ids.keys() {
            let b = bit(id.ino);
            seen[b >> 6] |= 1 << (b & 63);
        }
        self.slots.iter().filter(move |s| {
            s.id.is_some_and(|i| {
                let b = bit(i.ino);
                seen[b >> 6] & (1 << (b & 63)) != 0 && ids.contains_key(&i)
            })
        })
    }
}

/// Lists `dir`. `None` if it cannot be listed, or the listing breaks off
/// part way: it is then split with no entries, i.e. gets no execute at
/// all (fail closed; an entry missed would be neither split out nor
/// masked).
///
/// Start-up cost matters (this runs for every sandbox, over every file of
/// /usr/bin), so the listing makes no allocation per entry: names come
/// from the directory stream (`nix::dir`) and are copied into one arena,
/// and only entries blocked by their own name are made in full. A regular
/// file's identity is the directory's device and the entry's `d_ino` on
/// filesystems where `d_ino` is the inode number `stat` reports;
/// elsewhere (overlayfs, network filesystems) each entry is `lstat`ed, as
/// is an entry whose type the filesystem does not report. A symlink is
/// followed only when its own name is blocked (to block its target):
/// other symlinks get no rule anyway, and the kernel checks the file they
/// resolve to.
fn scan_dir(dir: &Path, list: &Blocklist, fingerprint: Option<&[u8]>) -> Option<Listing> {
    use nix::dir::{Dir, Type};
    use nix::fcntl::{AtFlags, OFlag};
    use nix::sys::stat::{fstat, fstatat, Mode, SFlag};
    let fail = |e: nix::Error| {
        tracing::debug!(dir = %dir.display(), error = %e, "cannot list program directory: no execute in it");
    };
    let mut d = Dir::open(
        dir,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(fail)
    .ok()?;
    let st = fstat(&d).map_err(fail).ok()?;
    let dev = stat_id(&st).dev;
    let trust_d_ino = d_ino_is_st_ino(&d);
    // The cache holds only listings whose identities are the entries'
    // own (`d_ino`), see `cache`.
    let before = cache::DirState::of(&st);
    let key = fingerprint
        .filter(|_| trust_d_ino)
        .and_then(|fp| cache::Key::new(dir, before, fp));
    if let Some(mut kept) = key.as_ref().and_then(cache::Key::load) {
        follow_blocked_links(dir, &mut kept);
        return Some(kept);
    }
    let lstat =
        |d: &Dir, name: &std::ffi::CStr| fstatat(d, name, AtFlags::AT_SYMLINK_NOFOLLOW).ok();
    let mut out = Listing::default();
    // Entries whose type or identity needs an lstat: done after the
    // stream is read (the stream borrows the directory).
    let mut later: Vec<Later> = Vec::new();
    for e in d.iter() {
        let e = e.map_err(fail).ok()?;
        let name = e.file_name().to_bytes();
        if name == b"." || name == b".." {
            continue;
        }
        let ty = e.file_type();
        let hit = list.check(name);
        let needs_stat = ty.is_none() || (ty == Some(Type::File) && !trust_d_ino);
        if hit.is_none() && !needs_stat {
            match ty {
                Some(Type::File) => out.slots.push(Slot {
                    id: Some(FileId { dev, ino: e.ino() }),
                    dir: false,
                    start: out.names.len(),
                    end: out.names.len() + name.len(),
                }),
                Some(Type::Directory) => out.slots.push(Slot {
                    id: None,
                    dir: true,
                    start: out.names.len(),
                    end: out.names.len() + name.len(),
                }),
                _ => continue,
            }
            out.names.extend_from_slice(name);
            continue;
        }
        let start = out.names.len();
        out.names.extend_from_slice(name);
        later.push((start, out.names.len(), ty, hit, e.ino()));
    }
    for (start, end, ty, hit, ino) in later {
        let name_bytes = out.names.get(start..end).unwrap_or_default().to_vec();
        let Ok(cname) = std::ffi::CString::new(name_bytes.clone()) else {
            continue;
        };
        let st = if ty.is_none() || ty == Some(Type::File) && !trust_d_ino {
            lstat(&d, &cname)
        } else {
            None
        };
        let kind = match ty {
            Some(Type::File) => EntryKind::File,
            Some(Type::Directory) => EntryKind::Dir,
            Some(Type::Symlink) => EntryKind::Link,
            Some(_) => EntryKind::Other,
            None => match st.map(|st| SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT) {
                Some(SFlag::S_IFREG) => EntryKind::File,
                Some(SFlag::S_IFDIR) => EntryKind::Dir,
                Some(SFlag::S_IFLNK) => EntryKind::Link,
                Some(_) => EntryKind::Other,
                // Gone or unreadable since it was listed: as std's
                // listing did, it is skipped.
                None => continue,
            },
        };
        let id = match kind {
            EntryKind::File if trust_d_ino => Some(FileId { dev, ino }),
            EntryKind::File => st.map(|st| stat_id(&st)),
            EntryKind::Link if hit.is_some() => {
                std::fs::metadata(dir.join(OsStr::from_bytes(&name_bytes)))
                    .ok()
                    .filter(|m| m.is_file())
                    .map(|m| FileId::of(&m))
            }
            _ => None,
        };
        match hit {
            Some(hit) => out.hits.push(Entry {
                name: OsStr::from_bytes(&name_bytes).to_os_string(),
                kind,
                id,
                hit: Some(hit),
            }),
            None if matches!(kind, EntryKind::File | EntryKind::Dir) => out.slots.push(Slot {
                id,
                dir: kind == EntryKind::Dir,
                start,
                end,
            }),
            None => {}
        }
    }
    out.hits.sort_by(|a, b| a.name.cmp(&b.name));
    if let Some(key) = &key {
        key.store(
            &out,
            before,
            fstat(&d).ok().map(|st| cache::DirState::of(&st)),
        );
    }
    Some(out)
}

/// A blocked symlink's target identity, looked up again for a kept
/// listing: the link's target can change while its directory does not.
fn follow_blocked_links(dir: &Path, listing: &mut Listing) {
    for e in &mut listing.hits {
        if e.kind == EntryKind::Link {
            e.id = std::fs::metadata(dir.join(&e.name))
                .ok()
                .filter(|m| m.is_file())
                .map(|m| FileId::of(&m));
        }
    }
}

/// An entry of [`scan_dir`] left for after the stream is read: its name
/// in the arena (start, end), its type, its hit, its `d_ino`.
type Later = (usize, usize, Option<nix::dir::Type>, Option<Hit>, u64);

/// The identity `stat` reports.
// The fields' types differ between platforms (`st_dev` is `i32` on
// macOS): the casts are not all no-ops everywhere.
#[allow(clippy::unnecessary_cast)]
fn stat_id(st: &nix::sys::stat::FileStat) -> FileId {
    FileId {
        dev: st.st_dev as u64,
        ino: st.st_ino as u64,
    }
}

/// Local filesystems whose `readdir` reports the same inode numbers as
/// `stat`. Not overlayfs: it may report the lower layer's numbers.
#[cfg(target_os = "linux")]
fn d_ino_is_st_ino(dir: &nix::dir::Dir) -> bool {
    use nix::sys::statfs;
    let Ok(fs) = statfs::fstatfs(dir) else {
        return false;
    };
    [
        statfs::EXT4_SUPER_MAGIC,
        statfs::XFS_SUPER_MAGIC,
        statfs::BTRFS_SUPER_MAGIC,
        statfs::TMPFS_MAGIC,
    ]
    .contains(&fs.filesystem_type())
}

/// Elsewhere every entry is `lstat`ed: slower, never wrong.
#[cfg(not(target_os = "linux"))]
fn d_ino_is_st_ino(_dir: &nix::dir::Dir) -> bool {
    false
}

/// True if any execute right of `rule` comes from the user (a grant or a
/// carve-out of one), not from the system defaults.
fn user_exec(rule: &Rule) -> bool {
    fn user(o: &Origin) -> bool {
        match o {
            Origin::User { .. } => true,
            Origin::CarveOut { from, .. } | Origin::ExecSplit { from, .. } => user(from),
            Origin::System { .. } | Origin::TempDir => false,
            #[cfg(target_os = "linux")]
            Origin::MountLayer { .. } => false,
        }
    }
    rule.parts
        .iter()
        .any(|(a, o)| a.contains(Access::EXECUTE) && user(o))
}

/// Searches the user's executable trees for files with a blocked name and
/// returns the directories that hold one.
fn search_granted(
    rules: &[Rule],
    list: &Blocklist,
    searched: &mut Vec<PathBuf>,
) -> Result<BTreeSet<PathBuf>, PolicyError> {
    let mut found = BTreeSet::new();
    let mut visited = 0usize;
    for rule in rules {
        if rule.kind != Kind::Dir || !user_exec(rule) {
            continue;
        }
        searched.push(rule.path.clone());
        let mut stack = vec![rule.path.clone()];
        while let Some(dir) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in rd.flatten() {
                visited += 1;
                if visited > SEARCH_LIMIT {
                    return Err(PolicyError::CommandSearch {
                        dir: rule.path.clone(),
                        limit: SEARCH_LIMIT,
                    });
                }
                let Ok(ft) = e.file_type() else { continue };
                if ft.is_dir() {
                    stack.push(e.path());
                } else if list.check(e.file_name().as_bytes()).is_some() {
                    found.insert(dir.clone());
                }
            }
        }
    }
    Ok(found)
}

/// Applies the blocklist to `rules`: see the module documentation.
#[cfg(test)]
pub fn apply(
    rules: Vec<Rule>,
    list: Blocklist,
    search_path: Option<&OsStr>,
) -> Result<(Vec<Rule>, Commands), PolicyError> {
    let (rules, mut commands) = apply_deferred(rules, list, search_path)?;
    let rules = commands.split_rules(rules);
    Ok((rules, commands))
}

/// [`apply`] less the per-file split: the rules that cover a split
/// directory have lost execute and get it back either from
/// [`Commands::split_rules`] (Landlock only) or from [`Commands::whole`]
/// (the mount layer masks the blocked programs). Until one of the two is
/// applied, no execute right reaches a split directory (fail closed).
pub fn apply_deferred(
    rules: Vec<Rule>,
    list: Blocklist,
    search_path: Option<&OsStr>,
) -> Result<(Vec<Rule>, Commands), PolicyError> {
    let mut dirs = program_dirs(&rules, &list, search_path);
    let mut searched = Vec::new();
    if list.user_added().next().is_some() {
        for d in search_granted(&rules, &list, &mut searched)? {
            if !dirs.contains(&d) {
                dirs.push(d);
            }
        }
    }
    let mut scan = Scan::run(dirs, &rules, &list);
    let ids = blocked_ids(&scan.scanned);
    let blocked = scan.blocked_files(&ids);
    let (out, whole, spread) = split_exec(rules, &scan, &ids, &list);
    let commands = Commands {
        list,
        scanned: scan.scanned.keys().cloned().collect(),
        split: scan.split.into_iter().collect(),
        searched,
        blocked,
        whole: whole.into_rules(),
        masked: Vec::new(),
        masking: false,
        ids,
        pending: Some(PendingSplit {
            scanned: scan.scanned,
            unlisted: scan.unlisted,
            spread,
        }),
    };
    Ok((out.into_rules(), commands))
}

impl Commands {
    /// `rules` (from [`apply_deferred`]) with the per-file split added:
    /// execute handed back entry by entry to everything but the blocked
    /// programs. The pieces come first on a path, as when they were made
    /// with the rules. Idempotent: a second call adds nothing.
    pub fn split_rules(&mut self, rules: Vec<Rule>) -> Vec<Rule> {
        let Some(p) = self.pending.take() else {
            return rules;
        };
        let ids = &self.ids;
        let blocked = |e: &Entry| e.hit.is_some() || e.id.is_some_and(|i| ids.contains_key(&i));
        // Made here, once: the mask form never needs them.
        let made: BTreeMap<PathBuf, Vec<Entry>> = p
            .scanned
            .iter()
            .filter(|(d, _)| p.spread.iter().any(|(_, t, _)| t.contains(d)))
            .map(|(d, l)| (d.clone(), l.entries()))
            .collect();
        let mut out = RuleSet::default();
        for (path, targets, origins) in &p.spread {
            let targets: Vec<&PathBuf> = targets.iter().collect();
            let view = Split {
                targets: &targets,
                scanned: &p.scanned,
                made: Some(&made),
                unlisted: &p.unlisted,
                is_blocked: &blocked,
            };
            let mut pieces = Vec::new();
            view.distribute(path, false, &mut pieces);
            for (path, kind) in pieces {
                out.add(Rule {
                    path,
                    kind,
                    parts: origins
                        .iter()
                        .map(|o| (Access::EXECUTE, o.clone()))
                        .collect(),
                });
            }
        }
        for r in rules {
            out.add(r);
        }
        out.into_rules()
    }

    /// Forgets the per-file split: the mount layer took over.
    #[cfg(target_os = "linux")]
    pub(super) fn drop_split(&mut self) {
        self.pending = None;
    }
}

/// True if some directory rule with execute covers `dir`.
fn exec_covered(rules: &[Rule], dir: &Path) -> bool {
    rules.iter().any(|r| {
        r.kind == Kind::Dir
            && r.access().contains(Access::EXECUTE)
            && paths::is_within(dir, &r.path)
    })
}

/// The directories to scan: system program directories and absolute PATH
/// entries, resolved and deduplicated, that some rule makes executable
/// (elsewhere nothing runs anyway).
fn program_dirs(rules: &[Rule], list: &Blocklist, search_path: Option<&OsStr>) -> Vec<PathBuf> {
    let mut candidates: Vec<PathBuf> = list.program_dirs.iter().map(PathBuf::from).collect();
    if let Some(p) = search_path {
        for d in p.as_bytes().split(|b| *b == b':') {
            // Relative PATH entries name whatever the current directory is
            // when a program searches: they cannot be resolved once here.
            if d.first() == Some(&b'/') {
                candidates.push(PathBuf::from(OsStr::from_bytes(d)));
            }
        }
    }
    let mut dirs: Vec<PathBuf> = Vec::new();
    for c in candidates {
        // Through the build's lookup cache: PATH names the same
        // directories again and again (/usr/bin, /bin -> usr/bin, ...).
        let Some((canonical, Kind::Dir)) = paths::canonical_and_kind(&c) else {
            continue;
        };
        if !dirs.contains(&canonical) && exec_covered(rules, &canonical) {
            dirs.push(canonical);
        }
    }
    dirs
}

/// The scanned directories and what the scan found.
struct Scan {
    scanned: BTreeMap<PathBuf, Listing>,
    /// Directories in which execute is handed out per entry: those that
    /// hold a blocked entry, and those that could not be listed.
    split: BTreeSet<PathBuf>,
    /// Split directories that could not be listed: no execute in them.
    unlisted: BTreeSet<PathBuf>,
}

impl Scan {
    /// Lists `dirs`. A blocked symlink may point out of the scanned
    /// directories (into /usr/lib, /opt, a granted tree): its target's
    /// directory is scanned and split too, else the target would keep
    /// execute from its tree. Rounds are bounded: links to links to links
    /// are not chased forever.
    fn run(dirs: Vec<PathBuf>, rules: &[Rule], list: &Blocklist) -> Scan {
        let mut scan = Scan {
            scanned: BTreeMap::new(),
            split: BTreeSet::new(),
            unlisted: BTreeSet::new(),
        };
        let mut pending = dirs;
        let fingerprint = cache::enabled().then(|| list.fingerprint());
        for _round in 0..4 {
            let mut next: Vec<PathBuf> = Vec::new();
            for d in pending.drain(..) {
                if scan.scanned.contains_key(&d) {
                    continue;
                }
                // Nothing to find: the listing would only cost time (see
                // IMPLEMENTATION.md, start-up).
                let listing = if list.blocks_nothing() {
                    Some(Listing::default())
                } else {
                    scan_dir(&d, list, fingerprint.as_deref())
                };
                let Some(listing) = listing else {
                    scan.unlisted.insert(d.clone());
                    scan.split.insert(d.clone());
                    scan.scanned.insert(d, Listing::default());
                    continue;
                };
                // Only an entry blocked by its own name is a followed
                // symlink.
                for e in &listing.hits {
                    if e.kind != EntryKind::Link || e.id.is_none() {
                        continue;
                    }
                    let Some((target, _)) = paths::canonical_and_kind(&d.join(&e.name)) else {
                        continue;
                    };
                    if let Some(parent) = target.parent() {
                        if !scan.scanned.contains_key(parent)
                            && !parent.starts_with(NOT_SPLIT)
                            && exec_covered(rules, parent)
                        {
                            next.push(parent.to_path_buf());
                        }
                    }
                }
                scan.scanned.insert(d, listing);
            }
            if next.is_empty() {
                break;
            }
            pending = next;
        }
        scan
    }

    /// Every blocked entry of the scanned directories, sorted by path;
    /// their directories become split.
    fn blocked_files(&mut self, ids: &BTreeMap<FileId, BlockedBy>) -> Vec<BlockedFile> {
        let mut blocked = Vec::new();
        for (dir, listing) in &self.scanned {
            let same = listing.same_files(ids).map(|s| listing.entry(s));
            for e in listing.hits.iter().cloned().chain(same) {
                let Some((hit, same_as)) = blocked_by(&e, ids) else {
                    continue;
                };
                let path = dir.join(&e.name);
                let target = if e.kind == EntryKind::Link {
                    paths::canonical_and_kind(&path).map(|(c, _)| c)
                } else {
                    None
                };
                blocked.push(BlockedFile {
                    path,
                    target,
                    hit,
                    same_as,
                    kind: match e.kind {
                        EntryKind::File => BlockedKind::File,
                        EntryKind::Dir => BlockedKind::Dir,
                        EntryKind::Link => BlockedKind::Link,
                        EntryKind::Other => BlockedKind::Other,
                    },
                });
                self.split.insert(dir.clone());
            }
        }
        blocked.sort_by(|a, b| a.path.cmp(&b.path));
        blocked
    }
}

/// Identities of the files that blocked names reach, with those names.
fn blocked_ids(scanned: &BTreeMap<PathBuf, Listing>) -> BTreeMap<FileId, BlockedBy> {
    let mut ids: BTreeMap<FileId, BlockedBy> = BTreeMap::new();
    for listing in scanned.values() {
        for e in &listing.hits {
            if let (Some(hit), Some(id)) = (e.hit.clone(), e.id) {
                let name = e.name.to_string_lossy().into_owned();
                let slot = ids.entry(id).or_insert_with(|| (hit, Vec::new()));
                if !slot.1.contains(&name) {
                    slot.1.push(name);
                }
            }
        }
    }
    for (_, names) in ids.values_mut() {
        names.sort();
    }
    ids
}

/// Why `e` is blocked: by its own name, or as the same file as blocked
/// names elsewhere.
fn blocked_by(e: &Entry, ids: &BTreeMap<FileId, BlockedBy>) -> Option<BlockedBy> {
    if let Some(hit) = &e.hit {
        return Some((hit.clone(), Vec::new()));
    }
    let (hit, names) = ids.get(&e.id?)?;
    Some((hit.clone(), names.clone()))
}

/// Takes execute off every rule that covers a split directory (or is a
/// blocked file) (the first set), makes the whole form the mount layer
/// uses (the second, execute rules only), and says what the per-file
/// split would hand back (made only where used: [`Commands::split_rules`]).
fn split_exec(
    rules: Vec<Rule>,
    scan: &Scan,
    ids: &BTreeMap<FileId, BlockedBy>,
    list: &Blocklist,
) -> (RuleSet, RuleSet, Vec<Spread>) {
    let mut out = RuleSet::default();
    let mut whole = RuleSet::default();
    let mut spread = Vec::new();
    // Directories whose execute was already handed out per entry: a rule
    // beneath one (/usr/bin from "/bin", under /usr) would hand out the
    // same rights again; it only loses its own execute.
    let mut distributed: Vec<PathBuf> = Vec::new();
    for mut rule in rules {
        if !rule.access().contains(Access::EXECUTE) {
            out.add(rule);
            continue;
        }
        let targets: Vec<&PathBuf> = match rule.kind {
            Kind::Dir => scan
                .split
                .iter()
                .filter(|t| paths::is_within(t, &rule.path))
                .collect(),
            Kind::File => Vec::new(),
        };
        let file_blocked = rule.kind == Kind::File && {
            let by_name = rule
                .path
                .file_name()
                .is_some_and(|n| list.check(n.as_bytes()).is_some());
            by_name
                || std::fs::metadata(&rule.path)
                    .ok()
                    .is_some_and(|m| ids.contains_key(&FileId::of(&m)))
        };
        if targets.is_empty() && !file_blocked {
            out.add(rule);
            continue;
        }
        let exec_origins: Vec<Origin> = rule
            .parts
            .iter()
            .filter(|(a, _)| a.contains(Access::EXECUTE))
            .map(|(_, o)| Origin::ExecSplit {
                grant: rule.path.clone(),
                from: Box::new(o.clone()),
            })
            .collect();
        rule.parts = rule
            .parts
            .into_iter()
            .map(|(a, o)| (a.without(Access::EXECUTE), o))
            .filter(|(a, _)| !a.is_empty())
            .collect();
        let path = rule.path.clone();
        if !rule.parts.is_empty() {
            out.add(rule);
        }
        if targets.is_empty() || distributed.iter().any(|d| paths::is_within(&path, d)) {
            continue;
        }
        distributed.push(path.clone());
        let blocked = |e: &Entry| e.hit.is_some() || e.id.is_some_and(|i| ids.contains_key(&i));
        let split_view = Split {
            targets: &targets,
            scanned: &scan.scanned,
            made: None,
            unlisted: &scan.unlisted,
            is_blocked: &blocked,
        };
        let mut whole_pieces = Vec::new();
        split_view.distribute(&path, true, &mut whole_pieces);
        let exec_rule = |(p, kind): (PathBuf, Kind)| Rule {
            path: p,
            kind,
            parts: exec_origins
                .iter()
                .map(|o| (Access::EXECUTE, o.clone()))
                .collect(),
        };
        for piece in whole_pieces {
            whole.add(exec_rule(piece));
        }
        spread.push((path, targets.into_iter().cloned().collect(), exec_origins));
    }
    (out, whole, spread)
}

/// What [`Split::distribute`] needs: the split directories beneath a
/// rule, the listings, and which entries are blocked.
struct Split<'a> {
    targets: &'a [&'a PathBuf],
    scanned: &'a BTreeMap<PathBuf, Listing>,
    /// The listings' entries, made once for the per-file split; without
    /// them (the whole form), a listing is made into entries only where
    /// it is walked (a listed split directory above an unlisted one).
    made: Option<&'a BTreeMap<PathBuf, Vec<Entry>>>,
    /// Split directories that could not be listed: no execute in them.
    unlisted: &'a BTreeSet<PathBuf>,
    is_blocked: &'a dyn Fn(&Entry) -> bool,
}

impl Split<'_> {
    /// Hands execute of `dir` back, entry by entry, to everything except
    /// the blocked programs in the split directories beneath it. `whole`:
    /// a listed split directory gets execute as one rule instead (its
    /// blocked files are covered by non-executable mounts), unless an
    /// unlisted one lies beneath it.
    fn distribute(&self, dir: &Path, whole: bool, pieces: &mut Vec<(PathBuf, Kind)>) {
        let leads_on = |p: &Path| self.targets.iter().any(|t| paths::is_within(t, p));
        if let Some(listing) = self
            .scanned
            .get(dir)
            .filter(|_| self.targets.iter().any(|t| *t == dir))
        {
            if whole && !self.unlisted.iter().any(|u| paths::is_within(u, dir)) {
                pieces.push((dir.to_path_buf(), Kind::Dir));
                return;
            }
            let owned;
            let entries: &[Entry] = match self.made.and_then(|m| m.get(dir)) {
                Some(e) => e,
                None => {
                    owned = listing.entries();
                    &owned
                }
            };
            for e in entries {
                let path = dir.join(&e.name);
                match e.kind {
                    _ if (self.is_blocked)(e) => {}
                    EntryKind::File => pieces.push((path, Kind::File)),
                    EntryKind::Dir if leads_on(&path) => self.distribute(&path, whole, pieces),
                    EntryKind::Dir => pieces.push((path, Kind::Dir)),
                    // A symlink gets no rule: the kernel checks the file it
                    // resolves to, which has (or lacks) its own.
                    EntryKind::Link | EntryKind::Other => {}
                }
            }
            return;
        }
        // An ancestor of a split directory: its other entries keep execute
        // as whole trees. A directory that cannot be listed gets nothing
        // (fail closed).
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        let mut children: Vec<(PathBuf, std::fs::FileType)> = rd
            .flatten()
            .filter_map(|e| Some((e.path(), e.file_type().ok()?)))
            .collect();
        children.sort_by(|a, b| a.0.cmp(&b.0));
        for (path, ft) in children {
            if ft.is_symlink() {
                continue;
            }
            if ft.is_dir() && leads_on(&path) {
                self.distribute(&path, whole, pieces);
            } else if ft.is_dir() {
                pieces.push((path, Kind::Dir));
            } else if ft.is_file() {
                pieces.push((path, Kind::File));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::spec::{CommandRequest, Source};
    use crate::test_support::TempTree;
    use std::fs;
    use std::os::unix::fs::symlink;

    /// root/{bin/{rm, ls, zap -> rm, hard (hard link of rm), sub/x},
    /// lib/helper, share/doc}
    fn tree() -> TempTree {
        let t = TempTree::new();
        t.dirs(&["bin/sub", "lib", "share"]).files(&[
            ("bin/rm", "x"),
            ("bin/ls", "x"),
            ("bin/sub/x", "x"),
            ("lib/helper", "x"),
            ("share/doc", "x"),
        ]);
        symlink(t.path("bin/rm"), t.path("bin/zap")).unwrap();
        fs::hard_link(t.path("bin/rm"), t.path("bin/hard")).unwrap();
        t
    }

    fn list(root: &Path, allow: &[&str]) -> Blocklist {
        let allow: Vec<CommandRequest> = allow
            .iter()
            .map(|n| CommandRequest {
                name: n.to_string(),
                source: Source::Flag("--allow-command"),
            })
            .collect();
        let mut l = Blocklist::build(&allow, &[]).unwrap();
        l.program_dirs = vec![root.join("bin").to_string_lossy().into_owned()];
        l
    }

    fn system(path: &Path, access: Access) -> Rule {
        Rule {
            path: path.to_path_buf(),
            kind: Kind::Dir,
            parts: vec![(access, Origin::System { why: "t".into() })],
        }
    }

    fn access_of(rules: &[Rule], p: &Path) -> Option<Access> {
        rules.iter().find(|r| r.path == p).map(|r| r.access())
    }

    fn exec_at(rules: &[Rule], p: &Path) -> bool {
        rules
            .iter()
            .filter(|r| r.covers(p))
            .any(|r| r.access().contains(Access::EXECUTE))
    }

    #[test]
    fn execute_is_split_around_blocked_programs() {
        let t = tree();
        let r = &t.root;
        let (rules, c) = apply(vec![system(r, Access::READ_EXEC)], list(r, &[]), None).unwrap();
        assert_eq!(
            access_of(&rules, r),
            Some(Access::READ),
            "tree keeps read only"
        );
        assert_eq!(access_of(&rules, &r.join("lib")), Some(Access::EXECUTE));
        assert_eq!(access_of(&rules, &r.join("share")), Some(Access::EXECUTE));
        assert_eq!(access_of(&rules, &r.join("bin/ls")), Some(Access::EXECUTE));
        assert_eq!(access_of(&rules, &r.join("bin/sub")), Some(Access::EXECUTE));
        for blocked in ["bin/rm", "bin/hard", "bin/zap"] {
            assert!(!exec_at(&rules, &r.join(blocked)), "{blocked} executable");
        }
        assert!(exec_at(&rules, &r.join("lib/helper")));
        assert!(rules
            .iter()
            .filter(|x| x.path.starts_with(r.join("bin/")))
            .all(|x| matches!(x.parts[0].1, Origin::ExecSplit { .. })));
        let paths: Vec<&Path> = c.blocked.iter().map(|b| b.path.as_path()).collect();
        // zap is not listed (symlinks are only followed when their own name
        // is blocked), but has no execute: the kernel checks rm for it.
        assert_eq!(paths, [r.join("bin/hard"), r.join("bin/rm")]);
        let hard = &c.blocked[0];
        assert_eq!(hard.same_as, ["rm"]);
        assert_eq!(c.split, [r.join("bin")]);
        // The top-level check by identity: the hard link is rm.
        let b = c.check_file("hard".as_ref(), &r.join("bin/hard")).unwrap();
        assert_eq!(b.allow, ["rm"]);
        assert!(c.check_file("ls".as_ref(), &r.join("bin/ls")).is_none());
    }

    /// The guard of the mask form's cost: the rules it builds do not grow
    /// with the files of a split directory (the per-file split, made only
    /// for Landlock alone, does), and the split still comes when asked.
    #[test]
    fn the_mask_form_does_not_grow_with_the_directory() {
        let counts = |n: usize| {
            let t = tree();
            let r = &t.root;
            for i in 0..n {
                fs::write(r.join(format!("bin/f{i}")), "x").unwrap();
            }
            let (rules, mut c) =
                apply_deferred(vec![system(r, Access::READ_EXEC)], list(r, &[]), None).unwrap();
            assert!(
                !exec_at(&rules, &r.join("bin/ls")),
                "no execute before a form is chosen"
            );
            let masked = rules.len() + c.whole.len();
            let split = c.split_rules(rules.clone());
            assert!(exec_at(&split, &r.join("bin/f0")) || n == 0);
            assert!(!exec_at(&split, &r.join("bin/rm")));
            assert_eq!(c.split_rules(split.clone()), split, "idempotent");
            (masked, split.len())
        };
        let (small, small_split) = counts(0);
        let (large, large_split) = counts(200);
        assert_eq!(small, large, "mask-form rules grow with the directory");
        assert_eq!(large_split, small_split + 200);
    }

    /// The guard of the scan's cost under the mount layer: the entries it
    /// makes in full (each an allocation or more) are the blocked ones
    /// and the other names of a blocked file, however many files the
    /// directory holds; the per-file split makes every entry, and only
    /// when asked.
    #[test]
    fn the_mask_form_makes_entries_only_for_blocked_files() {
        let made = |n: usize| {
            let t = tree();
            let r = &t.root;
            for i in 0..n {
                fs::write(r.join(format!("bin/f{i}")), "x").unwrap();
            }
            MADE.with(|m| m.set(0));
            let (rules, mut c) =
                apply_deferred(vec![system(r, Access::READ_EXEC)], list(r, &[]), None).unwrap();
            let masked = MADE.with(|m| m.get());
            let hits: usize = c
                .pending
                .as_ref()
                .map_or(0, |p| p.scanned.values().map(|l| l.hits.len()).sum());
            assert_eq!(c.blocked.len(), 2, "rm and its hard link");
            c.split_rules(rules);
            let split = MADE.with(|m| m.get()) - masked;
            (masked, hits, split)
        };
        let (small, small_hits, small_split) = made(0);
        let (large, large_hits, large_split) = made(300);
        // The hard link `hard` is made once, to be reported and masked.
        assert_eq!((small, small_hits), (1, 1));
        assert_eq!((large, large_hits), (small, small_hits));
        assert_eq!(large_split, small_split + 300);
    }

    #[test]
    fn the_whole_form_grants_the_split_directory_as_one_rule() {
        let t = tree();
        let r = &t.root;
        let (_, c) = apply(vec![system(r, Access::READ_EXEC)], list(r, &[]), None).unwrap();
        // The ancestor's other entries as today; the split directory whole.
        assert_eq!(access_of(&c.whole, &r.join("bin")), Some(Access::EXECUTE));
        assert_eq!(access_of(&c.whole, &r.join("lib")), Some(Access::EXECUTE));
        let bin = r.join("bin");
        assert!(c
            .whole
            .iter()
            .all(|x| x.path == bin || !x.path.starts_with(&bin)));
        // Every name of the blocked file is listed, to be masked.
        let kinds: Vec<(PathBuf, BlockedKind)> =
            c.blocked.iter().map(|b| (b.path.clone(), b.kind)).collect();
        assert_eq!(
            kinds,
            [
                (r.join("bin/hard"), BlockedKind::File),
                (r.join("bin/rm"), BlockedKind::File)
            ]
        );
    }

    #[test]
    fn an_unlisted_split_directory_stays_without_execute_in_the_whole_form() {
        let t = tree();
        let r = &t.root;
        let targets = [&r.join("bin")];
        let mut scanned = BTreeMap::new();
        scanned.insert(r.join("bin"), Listing::default());
        let unlisted: BTreeSet<PathBuf> = [r.join("bin")].into_iter().collect();
        let never = |_: &Entry| false;
        let split = Split {
            targets: &targets,
            scanned: &scanned,
            made: None,
            unlisted: &unlisted,
            is_blocked: &never,
        };
        let mut pieces = Vec::new();
        split.distribute(r, true, &mut pieces);
        assert!(pieces.iter().all(|(p, _)| !p.starts_with(r.join("bin"))));
        assert!(pieces.contains(&(r.join("lib"), Kind::Dir)));
    }

    #[test]
    fn allowed_programs_leave_the_tree_whole() {
        let t = tree();
        let r = &t.root;
        let (rules, c) = apply(vec![system(r, Access::READ_EXEC)], list(r, &["rm"]), None).unwrap();
        assert_eq!(rules.len(), 1);
        assert_eq!(access_of(&rules, r), Some(Access::READ_EXEC));
        assert!(c.blocked.is_empty() && c.split.is_empty());
    }

    #[test]
    fn directories_without_execute_are_not_scanned() {
        let t = tree();
        let r = &t.root;
        let (rules, c) = apply(vec![system(r, Access::READ)], list(r, &[]), None).unwrap();
        assert_eq!(rules.len(), 1);
        assert!(c.scanned.is_empty());
    }

    #[test]
    fn path_directories_are_scanned_too() {
        let t = tree();
        let r = &t.root;
        let mut l = list(r, &[]);
        l.program_dirs.clear();
        let path = format!("relative:{}/bin/", r.display());
        let (rules, c) = apply(
            vec![system(r, Access::READ_EXEC)],
            l,
            Some(OsStr::new(&path)),
        )
        .unwrap();
        assert_eq!(c.scanned, [r.join("bin")]);
        assert!(!exec_at(&rules, &r.join("bin/rm")));
    }

    #[test]
    fn a_file_grant_on_a_blocked_program_loses_execute() {
        let t = tree();
        let r = &t.root;
        let file = Rule {
            path: r.join("bin/hard"),
            kind: Kind::File,
            parts: vec![(Access::READ_EXEC, Origin::System { why: "t".into() })],
        };
        let (rules, _) =
            apply(vec![system(r, Access::READ_EXEC), file], list(r, &[]), None).unwrap();
        assert_eq!(access_of(&rules, &r.join("bin/hard")), Some(Access::READ));
    }

    #[test]
    fn a_blocked_symlink_out_of_the_program_dirs_blocks_its_target() {
        let t = tree();
        let r = &t.root;
        fs::create_dir_all(r.join("opt/x")).unwrap();
        fs::write(r.join("opt/x/tool"), "x").unwrap();
        fs::write(r.join("opt/x/other"), "x").unwrap();
        symlink(r.join("opt/x/tool"), r.join("bin/shred")).unwrap();
        let (rules, c) = apply(vec![system(r, Access::READ_EXEC)], list(r, &[]), None).unwrap();
        assert!(!exec_at(&rules, &r.join("opt/x/tool")));
        assert!(exec_at(&rules, &r.join("opt/x/other")));
        assert!(exec_at(&rules, &r.join("lib/helper")));
        assert!(c.split.contains(&r.join("opt/x")));
        let b = c
            .check_file("tool".as_ref(), &r.join("opt/x/tool"))
            .unwrap();
        assert_eq!(b.allow, ["shred"]);
    }
}
