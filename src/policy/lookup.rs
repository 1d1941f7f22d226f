//! Batched path lookups for one policy build: one directory listing per
//! directory that many built-in paths live in, instead of one `open` per
//! path.
//!
//! A policy build resolves every system default and every protected path
//! (expanded for each home), most of which do not exist on a given
//! machine and most of which share a handful of parents (`/etc`, `/dev`,
//! the home, `~/.config`). The build announces its paths first
//! ([`expect`]); a parent with at least [`LIST_AFTER`] announced names is
//! listed once (`getdents`, with the entry types the directory already
//! stores, keeping only the announced names) and every path in it is
//! answered from that listing without a system call. A parent that does
//! not exist answers for its whole subtree at once. Other lookups are
//! remembered, so a path asked about twice (PATH naming `/usr/bin` and
//! `/bin`) is resolved once.
//!
//! The answers are exactly those of [`super::paths::canonical_and_kind`],
//! which is what every caller would otherwise run:
//!
//! - an entry absent from the listing of an existing, canonical, listable
//!   and searchable directory does not exist (the open would fail with
//!   ENOENT);
//! - an entry the listing reports as a directory or a non-directory that
//!   is not a symlink has the canonical path `canonical(parent)/name` and
//!   that kind: nothing on the way is a symlink (the parent is canonical),
//!   so the symlink-free open would succeed on the same object;
//! - an entry that is a symlink, or whose type the filesystem does not
//!   report, takes the general route (it may point anywhere, which is why
//!   a protected `~/.ssh -> /data/ssh` still protects `/data/ssh`);
//! - a directory that cannot be listed or searched (permissions, too many
//!   entries to be worth it) sends every path in it the general route.
//!
//! The cache only lives while a [`Scope`] is held (one `Policy::build`):
//! nothing is remembered across builds, so no answer can be staler than
//! the build that asked for it, which is the same window an answer from
//! a `stat` has.

use std::cell::RefCell;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::paths::Kind;

/// A parent is listed when at least this many names were announced in it:
/// below that, a listing (faccessat, open, getdents until empty, close)
/// costs more than the symlink-free opens it saves.
const LIST_AFTER: usize = 3;

/// A directory with more entries than this is not kept: reading it would
/// cost more than the lookups it answers (a crowded home), so its paths
/// are looked up one by one, as without the cache.
const MAX_ENTRIES: usize = 4096;

/// What a lookup yields: the canonical path and kind, `None` when the
/// path does not exist or cannot be resolved.
pub type Answer = Option<(PathBuf, Kind)>;

/// An [`Answer`], and for a missing path whether it is missing plainly:
/// no symlink lies on the way to the component that breaks (what a
/// symlink-free open failing with ENOENT or ENOTDIR tells). `false` for
/// a path that exists, and whenever that is not known.
pub type Plain = (Answer, bool);

/// The type of one listed entry, as far as resolution cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Entry {
    Dir,
    /// Not a directory and not a symlink.
    Other,
    /// A symlink, or a type that needs a closer look.
    Follow,
}

enum Listing {
    /// The directory does not exist (or is not a directory): nothing in
    /// it exists either; `plain`: and it is missing plainly (see
    /// [`Plain`]), so is everything beneath it.
    Missing { plain: bool },
    /// The directory's canonical path and its entries: all of them, or
    /// when `only` is set, those of the announced names (the others were
    /// not kept, so nothing is known about them).
    Entries {
        canonical: PathBuf,
        names: Map<Entry>,
        only: Option<Names>,
    },
    /// Could not be listed or searched: every path in it goes the general
    /// route.
    Unavailable,
}

/// The cache's maps, keyed by a path's or name's bytes (see
/// [`super::rules::ByPath`]).
type Map<V> = super::rules::ByPath<V>;
type Names = super::rules::PathSet;

fn key(p: &Path) -> &OsStr {
    p.as_os_str()
}

impl Listing {
    /// What the listing says about `name`: present with a type, absent
    /// (`Some(None)`), or unknown (`None`).
    fn find(&self, name: &OsStr) -> Option<Option<Entry>> {
        match self {
            Listing::Missing { .. } => Some(None),
            Listing::Entries { names, only, .. } => match names.get(name) {
                Some(e) => Some(Some(*e)),
                None if only.as_ref().is_none_or(|o| o.contains(name)) => Some(None),
                None => None,
            },
            Listing::Unavailable => None,
        }
    }

    /// Whether an entry absent from this listing of `dir` is missing
    /// plainly: the directory was reached without a symlink (its
    /// canonical path is the one asked about), or is itself plainly
    /// missing.
    fn plain(&self, dir: &Path) -> bool {
        match self {
            Listing::Missing { plain } => *plain,
            Listing::Entries { canonical, .. } => canonical == dir,
            Listing::Unavailable => false,
        }
    }
}

#[derive(Default)]
struct Cache {
    answers: Map<Plain>,
    /// Parents announced by [`expect`], with the names announced in each.
    expected: Map<Names>,
    listings: Map<Listing>,
    /// The mount table, read at most once per build (see
    /// [`mount_table`]).
    #[cfg(target_os = "linux")]
    mounts: Option<std::rc::Rc<Vec<super::mounts::Mount>>>,
}

impl Cache {
    /// `Some(plain)` if the cache already knows that `dir` does not
    /// exist as a directory: it or an ancestor was answered missing or a
    /// file, or is absent from its parent's listing. Then nothing beneath
    /// it exists (the open would fail with ENOENT or ENOTDIR), and it is
    /// missing plainly where that breaking component was reached without
    /// a symlink.
    fn known_missing(&self, dir: &Path) -> Option<bool> {
        let mut d = dir;
        loop {
            match self.answers.get(key(d)) {
                Some((None, plain)) => return Some(*plain),
                Some((Some((c, Kind::File)), _)) => return Some(c == d),
                Some((Some((_, Kind::Dir)), _)) => return None,
                None => {}
            }
            let (parent, name) = split(d)?;
            if let Some(l) = self.listings.get(key(parent)) {
                match l.find(name) {
                    Some(None | Some(Entry::Other)) => return Some(l.plain(parent)),
                    // A symlink may lead to a directory.
                    Some(Some(Entry::Dir | Entry::Follow)) => return None,
                    None => {}
                }
            }
            d = parent;
        }
    }
}

thread_local! {
    static CACHE: RefCell<Option<Cache>> = const { RefCell::new(None) };
}

/// Keeps the cache alive; dropping it forgets everything. Scopes nest:
/// only the outermost one creates and drops the cache.
pub struct Scope {
    owner: bool,
}

/// Starts caching lookups on this thread until the returned scope drops.
pub fn scope() -> Scope {
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        let owner = c.is_none();
        if owner {
            *c = Some(Cache::default());
        }
        Scope { owner }
    })
}

impl Drop for Scope {
    fn drop(&mut self) {
        if self.owner {
            CACHE.with(|c| *c.borrow_mut() = None);
        }
    }
}

/// Announces paths that are about to be resolved, so that a parent many
/// of them share is listed at the first lookup rather than the third:
/// then none of them costs a system call of its own. The parents' own
/// parents are announced too (each parent is looked up once to list it).
pub fn expect<'a>(paths: impl IntoIterator<Item = &'a Path>) {
    with_cache(|c| {
        let mut names: Map<Names> = Map::default();
        let mut pending: Vec<&Path> = paths.into_iter().collect();
        let mut parents: Vec<PathBuf> = Vec::new();
        loop {
            let Some(p) = pending.pop() else {
                // Each new parent is looked up in its own parent once.
                let Some(next) = parents.pop() else { break };
                add(&mut names, &next, &mut parents);
                continue;
            };
            add(&mut names, p, &mut parents);
        }
        fn add(names: &mut Map<Names>, p: &Path, parents: &mut Vec<PathBuf>) {
            let Some((parent, name)) = split(p) else {
                return;
            };
            let set = match names.get_mut(key(parent)) {
                Some(set) => set,
                None => {
                    parents.push(parent.to_path_buf());
                    names.entry(parent.as_os_str().to_os_string()).or_default()
                }
            };
            if !set.contains(name) {
                set.insert(name.to_os_string());
            }
        }
        for (parent, set) in names {
            // Announced twice (system defaults, then protected paths): the
            // names add up. A parent already listed keeps its listing;
            // names it did not keep take the general route.
            match c.expected.get_mut(&parent) {
                Some(known) => known.extend(set),
                None => {
                    c.expected.insert(parent, set);
                }
            }
        }
    });
}

/// The mount table from `load`, read once while a scope is active (the
/// same window as every other answer of the build: see the module
/// documentation); without a scope, read each time.
#[cfg(target_os = "linux")]
pub fn mount_table<E>(
    load: impl FnOnce() -> Result<Vec<super::mounts::Mount>, E>,
) -> Result<std::rc::Rc<Vec<super::mounts::Mount>>, E> {
    if let Some(Some(m)) = with_cache(|c| c.mounts.clone()) {
        return Ok(m);
    }
    let m = std::rc::Rc::new(load()?);
    with_cache(|c| c.mounts = Some(m.clone()));
    Ok(m)
}

/// Resolves `path` (absolute, normalized) through the cache when a scope
/// is active, else with `general` (the uncached resolution, which must be
/// [`super::paths::lookup_uncached`]'s).
pub fn resolve(path: &Path, general: &dyn Fn(&Path) -> Plain) -> Answer {
    resolve_plain(path, general).0
}

/// [`resolve`], with whether a missing path is missing plainly.
pub fn resolve_plain(path: &Path, general: &dyn Fn(&Path) -> Plain) -> Plain {
    let active = CACHE.with(|c| c.borrow().is_some());
    if !active {
        return general(path);
    }
    resolve_cached(path, general)
}

fn with_cache<T>(f: impl FnOnce(&mut Cache) -> T) -> Option<T> {
    CACHE.with(|c| c.borrow_mut().as_mut().map(f))
}

fn resolve_cached(path: &Path, general: &dyn Fn(&Path) -> Plain) -> Plain {
    if let Some(Some(hit)) = with_cache(|c| c.answers.get(key(path)).cloned()) {
        return hit;
    }
    let (answer, from_listing) = lookup(path, general);
    // What a listing answered, it answers again as cheaply: only the
    // general route's answers are remembered.
    if !from_listing {
        with_cache(|c| {
            c.answers
                .insert(path.as_os_str().to_os_string(), answer.clone())
        });
    }
    answer
}

/// `/a/b/c` as (`/a/b`, `c`) on bytes (`Path::parent` parses components,
/// which showed in the profile), for plain absolute paths only: `.` and
/// `..` mean something only the filesystem knows, and empty components
/// would make the split ambiguous.
fn split(path: &Path) -> Option<(&Path, &OsStr)> {
    let b = path.as_os_str().as_bytes();
    if b.first() != Some(&b'/') || b.len() < 2 {
        return None;
    }
    if b[1..]
        .split(|c| *c == b'/')
        .any(|c| c.is_empty() || c == b"." || c == b"..")
    {
        return None;
    }
    let i = b.iter().rposition(|c| *c == b'/')?;
    let parent = if i == 0 { &b[..1] } else { &b[..i] };
    Some((
        Path::new(OsStr::from_bytes(parent)),
        OsStr::from_bytes(&b[i + 1..]),
    ))
}

/// What the cache can say about one path before any system call.
enum Step {
    Known(Plain),
    General,
    List,
}

/// The answer, and whether the cache gave it without a system call.
fn lookup(path: &Path, general: &dyn Fn(&Path) -> Plain) -> (Plain, bool) {
    let Some((parent, name)) = split(path) else {
        return (general(path), false);
    };
    let step = |c: &mut Cache| -> Step {
        if let Some(listing) = c.listings.get(key(parent)) {
            let canonical = match listing {
                Listing::Entries { canonical, .. } => canonical.as_path(),
                _ => Path::new("/"),
            };
            return match listing.find(name) {
                Some(None) => Step::Known((None, listing.plain(parent))),
                Some(Some(Entry::Dir)) => {
                    Step::Known((Some((canonical.join(name), Kind::Dir)), false))
                }
                Some(Some(Entry::Other)) => {
                    Step::Known((Some((canonical.join(name), Kind::File)), false))
                }
                // The entry itself may point anywhere, or was not kept.
                Some(Some(Entry::Follow)) | None => Step::General,
            };
        }
        if let Some(plain) = c.known_missing(parent) {
            return Step::Known((None, plain));
        }
        // Only announced parents are listed: the others are asked about a
        // few times at most (program directories, symlink targets), and a
        // listing kept whole costs an allocation per entry.
        match c.expected.get(key(parent)) {
            Some(names) if names.len() >= LIST_AFTER => Step::List,
            _ => Step::General,
        }
    };
    match with_cache(step) {
        Some(Step::Known(answer)) => (answer, true),
        Some(Step::List) => {
            let listing = list(parent, general);
            with_cache(|c| {
                c.listings
                    .insert(parent.as_os_str().to_os_string(), listing)
            });
            match with_cache(step) {
                Some(Step::Known(answer)) => (answer, true),
                _ => (general(path), false),
            }
        }
        Some(Step::General) | None => (general(path), false),
    }
}

/// Lists `dir` (resolving it first, through the cache).
fn list(dir: &Path, general: &dyn Fn(&Path) -> Plain) -> Listing {
    let canonical = match resolve_cached(dir, general) {
        (None, plain) => return Listing::Missing { plain },
        // Beneath a file: ENOTDIR, plainly where the file was reached
        // without a symlink.
        (Some((c, Kind::File)), _) => return Listing::Missing { plain: c == dir },
        (Some((c, Kind::Dir)), _) => c,
    };
    // Entries of a directory we may list but not search cannot be opened:
    // the general route would call them missing, so they take it.
    if !searchable(&canonical) {
        return Listing::Unavailable;
    }
    // nix's iterator reads entries straight from the getdents buffer: no
    // allocation per entry, which std's `read_dir` makes (a crowded /dev
    // or /etc cost more in allocations than the opens it saved).
    use nix::dir::{Dir, Type};
    use nix::fcntl::OFlag;
    let Ok(mut d) = Dir::open(
        &canonical,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    ) else {
        return Listing::Unavailable;
    };
    // Only the announced names are kept when there are any: the rest of a
    // crowded directory is skipped without a copy.
    let only = with_cache(|c| c.expected.get(key(dir)).cloned()).flatten();
    let mut names = Map::default();
    for (seen, e) in d.iter().enumerate() {
        let Ok(e) = e else {
            return Listing::Unavailable;
        };
        if seen >= MAX_ENTRIES {
            return Listing::Unavailable;
        }
        let name = OsStr::from_bytes(e.file_name().to_bytes());
        if name == "." || name == ".." || only.as_ref().is_some_and(|o| !o.contains(name)) {
            continue;
        }
        // The type stored in the directory entry (d_type); filesystems
        // that do not store it report none, and such entries are looked
        // at individually.
        let kind = match e.file_type() {
            Some(Type::Symlink) | None => Entry::Follow,
            Some(Type::Directory) => Entry::Dir,
            Some(_) => Entry::Other,
        };
        names.insert(name.to_os_string(), kind);
    }
    Listing::Entries {
        canonical,
        names,
        only,
    }
}

fn searchable(dir: &Path) -> bool {
    use nix::unistd::{faccessat, AccessFlags};
    #[cfg(target_os = "linux")]
    let flags = nix::fcntl::AtFlags::AT_EACCESS;
    #[cfg(not(target_os = "linux"))]
    let flags = nix::fcntl::AtFlags::empty();
    faccessat(nix::fcntl::AT_FDCWD, dir, AccessFlags::X_OK, flags).is_ok()
}

#[cfg(test)]
mod tests {
    use super::super::paths;
    use super::*;

    /// Every answer through the cache equals the uncached one, for paths
    /// that exist, are missing, are symlinks (in and out of the tree),
    /// lie under a symlinked or missing directory, or under a file.
    #[test]
    fn cached_answers_equal_uncached_ones() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let out = tempfile::tempdir().unwrap();
        let outside = std::fs::canonicalize(out.path()).unwrap();
        std::fs::create_dir_all(root.join("h/.config/gh")).unwrap();
        std::fs::create_dir_all(outside.join("ssh")).unwrap();
        std::fs::write(root.join("h/.bashrc"), "x").unwrap();
        std::fs::write(root.join("h/.config/file"), "x").unwrap();
        std::os::unix::fs::symlink(outside.join("ssh"), root.join("h/.ssh")).unwrap();
        std::os::unix::fs::symlink("dangling", root.join("h/.aws")).unwrap();
        std::os::unix::fs::symlink(root.join("h"), root.join("home-link")).unwrap();
        let mut asked = Vec::new();
        for base in [root.join("h"), root.join("home-link")] {
            for name in [
                ".ssh",
                ".ssh/id",
                ".aws",
                ".bashrc",
                ".bashrc/x",
                ".config",
                ".config/gh",
                ".config/file",
                ".config/missing",
                ".missing",
                ".missing/a",
                ".missing/b",
                ".missing/c",
                ".missing/d",
                ".e",
                ".f",
            ] {
                asked.push(base.join(name));
            }
        }
        let uncached: Vec<Plain> = asked.iter().map(|p| paths::lookup_uncached(p)).collect();
        let _s = scope();
        // Twice: the second round is answered from listings and memos.
        for _ in 0..2 {
            for (p, want) in asked.iter().zip(&uncached) {
                assert_eq!(&resolve_plain(p, &paths::lookup_uncached), want, "{p:?}");
            }
        }
    }

    #[test]
    fn nothing_is_remembered_after_the_scope() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let names = ["a", "b", "c", "d", "e"];
        {
            let _s = scope();
            for n in names {
                assert_eq!(resolve(&root.join(n), &paths::lookup_uncached), None);
            }
        }
        std::fs::write(root.join("e"), "x").unwrap();
        let _s = scope();
        assert_eq!(
            resolve(&root.join("e"), &paths::lookup_uncached),
            Some((root.join("e"), Kind::File))
        );
    }
}
