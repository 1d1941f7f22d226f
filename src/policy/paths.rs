//! Turning the paths users write into canonical paths, once, before any
//! decision is made.

use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileTypeExt;
use std::path::{Component, Path, PathBuf};

use super::PolicyError;

/// The facts about the invoking process that path resolution depends on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Context {
    pub home: PathBuf,
    pub cwd: PathBuf,
}

impl Context {
    /// Reads `$HOME` (falling back to the password database) and the current
    /// directory.
    pub fn from_process() -> Result<Context, PolicyError> {
        let home = match std::env::var_os("HOME") {
            Some(h) if !h.is_empty() && Path::new(&h).is_absolute() => PathBuf::from(h),
            _ => home_from_passwd().ok_or(PolicyError::NoHome)?,
        };
        let cwd = std::env::current_dir().map_err(PolicyError::Cwd)?;
        Ok(Context { home, cwd })
    }
}

fn home_from_passwd() -> Option<PathBuf> {
    super::passwd::home(super::passwd::Who::Uid(nix::unistd::getuid().as_raw()))
}

/// What kind of filesystem object a path names. Landlock only accepts
/// file rights on anything that is not a directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Dir,
    File,
}

impl Kind {
    pub fn of(meta: &std::fs::Metadata) -> Kind {
        if meta.is_dir() {
            Kind::Dir
        } else {
            Kind::File
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Dir => "dir",
            Kind::File => "file",
        }
    }
}

/// Expands `~` and `~/...` to the home directory and makes the path absolute
/// against the current directory. Purely lexical: no filesystem access.
pub fn expand(raw: &Path, ctx: &Context) -> Result<PathBuf, PolicyError> {
    let bytes = raw.as_os_str().as_bytes();
    if bytes.is_empty() {
        return Err(PolicyError::EmptyPath);
    }
    let expanded = if bytes == b"~" {
        ctx.home.clone()
    } else if let Some(rest) = bytes.strip_prefix(b"~/") {
        ctx.home.join(OsStr::from_bytes(rest))
    } else if bytes.starts_with(b"~") {
        // `~user` would need the password database of another user and is
        // easy to confuse with a file literally named `~user`: refuse.
        return Err(PolicyError::TildeUser(raw.to_path_buf()));
    } else {
        raw.to_path_buf()
    };
    let absolute = if expanded.is_absolute() {
        expanded
    } else {
        ctx.cwd.join(expanded)
    };
    // Most paths are normal already: kept without another copy.
    if is_normal(&absolute) {
        return Ok(absolute);
    }
    Ok(normalize_lexically(&absolute))
}

/// Removes `.` components and repeated separators. `..` is kept: only the
/// filesystem knows what it means in the presence of symlinks.
pub fn normalize_lexically(path: &Path) -> PathBuf {
    if is_normal(path) {
        return path.to_path_buf();
    }
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Already in the form `normalize_lexically` produces: absolute, no empty
/// or `.` components, no trailing slash. Checked on bytes: most paths are,
/// and rebuilding them component by component is start-up time.
fn is_normal(path: &Path) -> bool {
    let b = path.as_os_str().as_bytes();
    if b == b"/" {
        return true;
    }
    b.first() == Some(&b'/')
        && b.last() != Some(&b'/')
        && !b.windows(2).any(|w| w == b"//")
        && !b.windows(3).any(|w| w == b"/./")
        && !b.ends_with(b"/.")
}

/// A path without `..` components (a symlink-free open of it then also
/// proves it canonical).
fn has_dotdot(path: &Path) -> bool {
    path.as_os_str()
        .as_bytes()
        .split(|c| *c == b'/')
        .any(|c| c == b"..")
}

/// A user path, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// Absolute, `~` expanded, not yet resolved through symlinks.
    pub absolute: PathBuf,
    /// Every symlink and `..` resolved (what the kernel rules bind to).
    pub canonical: PathBuf,
    pub kind: Kind,
}

/// Resolves a path the way a grant means it: through every symlink, to an
/// object that exists.
pub fn resolve(raw: &Path, ctx: &Context) -> Result<Resolved, PolicyError> {
    let absolute = expand(raw, ctx)?;
    if let Some(kind) = kind_if_canonical(&absolute) {
        return Ok(Resolved {
            canonical: absolute.clone(),
            absolute,
            kind,
        });
    }
    let canonical = std::fs::canonicalize(&absolute).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => PolicyError::NotFound(raw.to_path_buf()),
        _ => PolicyError::Resolve {
            path: raw.to_path_buf(),
            source: e,
        },
    })?;
    let meta = std::fs::metadata(&canonical).map_err(|e| PolicyError::Resolve {
        path: raw.to_path_buf(),
        source: e,
    })?;
    Ok(Resolved {
        absolute,
        canonical,
        kind: Kind::of(&meta),
    })
}

/// What a symlink-free open of `path` says.
// Only Linux has openat2: elsewhere every path takes the general route.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
enum Direct {
    /// It exists and `path` is already canonical.
    Found(Kind),
    /// A component is missing (before any symlink: it does not exist).
    Missing,
    /// Take the general route (symlinks, `..`, permissions, other OS).
    Unknown,
}

/// A normalized absolute path without `..` that opens without following
/// any symlink names the object itself: one open and one fstat instead of
/// a `readlink` per component plus a `stat`. Start-up resolves hundreds of
/// system and protected paths and every grant this way.
fn direct(path: &Path) -> Direct {
    #[cfg(target_os = "linux")]
    {
        use nix::errno::Errno;
        use nix::fcntl::{OFlag, OpenHow, ResolveFlag, AT_FDCWD};
        if !is_normal(path) || has_dotdot(path) {
            return Direct::Unknown;
        }
        // No O_NOFOLLOW: with O_PATH it would open a trailing symlink
        // itself; without it RESOLVE_NO_SYMLINKS refuses it (ELOOP).
        let how = OpenHow::new()
            .flags(OFlag::O_PATH | OFlag::O_CLOEXEC)
            .resolve(ResolveFlag::RESOLVE_NO_SYMLINKS);
        let fd = match nix::fcntl::openat2(AT_FDCWD, path, how) {
            Ok(fd) => fd,
            // The walk stops with ELOOP at the first symlink, so ENOENT and
            // ENOTDIR mean a real component is missing.
            Err(Errno::ENOENT | Errno::ENOTDIR) => return Direct::Missing,
            Err(_) => return Direct::Unknown,
        };
        let Ok(st) = nix::sys::stat::fstat(&fd) else {
            return Direct::Unknown;
        };
        match st.st_mode & libc::S_IFMT {
            libc::S_IFDIR => Direct::Found(Kind::Dir),
            libc::S_IFLNK => Direct::Unknown,
            _ => Direct::Found(Kind::File),
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (path, has_dotdot);
        Direct::Unknown
    }
}

/// The canonical form and kind of an absolute path, `None` when it does
/// not exist (or cannot be resolved). Inside a policy build the answer
/// may come from a directory listing (see [`super::lookup`]); it is the
/// same answer.
pub fn canonical_and_kind(path: &Path) -> Option<(PathBuf, Kind)> {
    super::lookup::resolve(path, &lookup_uncached)
}

/// [`canonical_and_kind`], and for a missing path whether no symlink lies
/// on the way to where it breaks (`true`): protected-path expansion skips
/// its walk through symlinks for those, which are most absent entries.
/// Inside a policy build, through the same cache.
pub fn lookup(path: &Path) -> (Option<(PathBuf, Kind)>, bool) {
    super::lookup::resolve_plain(path, &lookup_uncached)
}

/// [`lookup`] without the build's cache: one symlink-free open, or the
/// general route.
pub(super) fn lookup_uncached(path: &Path) -> (Option<(PathBuf, Kind)>, bool) {
    match direct(path) {
        Direct::Found(kind) => (Some((path.to_path_buf(), kind)), false),
        Direct::Missing => (None, true),
        Direct::Unknown => {
            let found = std::fs::canonicalize(path)
                .ok()
                .and_then(|c| std::fs::metadata(&c).ok().map(|m| (c, Kind::of(&m))));
            (found, false)
        }
    }
}

fn kind_if_canonical(path: &Path) -> Option<Kind> {
    match direct(path) {
        Direct::Found(kind) => Some(kind),
        _ => None,
    }
}

/// True if `meta` describes something a rule can be attached to safely: a
/// directory or a regular file, a character device, a fifo or a socket.
pub fn is_rule_target(meta: &std::fs::Metadata) -> bool {
    let t = meta.file_type();
    !t.is_symlink()
        && (t.is_dir() || t.is_file() || t.is_char_device() || t.is_fifo() || t.is_socket())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::fixed_ctx as ctx;

    #[test]
    fn expands_tilde_and_relative() {
        let c = ctx();
        assert_eq!(
            expand(Path::new("~"), &c).unwrap(),
            PathBuf::from("/home/u")
        );
        assert_eq!(
            expand(Path::new("~/.ssh"), &c).unwrap(),
            PathBuf::from("/home/u/.ssh")
        );
        assert_eq!(
            expand(Path::new("."), &c).unwrap(),
            PathBuf::from("/work/p")
        );
        assert_eq!(
            expand(Path::new("./a//b/."), &c).unwrap(),
            PathBuf::from("/work/p/a/b")
        );
        assert_eq!(
            expand(Path::new("/x/../y"), &c).unwrap(),
            PathBuf::from("/x/../y")
        );
    }

    #[test]
    fn refuses_tilde_user_and_empty() {
        let c = ctx();
        assert!(matches!(
            expand(Path::new("~root/x"), &c),
            Err(PolicyError::TildeUser(_))
        ));
        assert!(matches!(
            expand(Path::new(""), &c),
            Err(PolicyError::EmptyPath)
        ));
    }
}

/// `path` is `dir` or lies beneath it. Both must be normalized absolute
/// paths (as every path in a policy is): then a byte comparison is exact,
/// and far cheaper than `Path::starts_with`, which start-up calls thousands
/// of times.
pub fn is_within(path: &Path, dir: &Path) -> bool {
    let p = path.as_os_str().as_bytes();
    let d = dir.as_os_str().as_bytes();
    if d == b"/" {
        return p.first() == Some(&b'/');
    }
    p.starts_with(d) && (p.len() == d.len() || p[d.len()] == b'/')
}

#[cfg(test)]
mod within_tests {
    use super::*;

    #[test]
    fn is_within_matches_components_not_prefixes() {
        let w = |a: &str, b: &str| is_within(Path::new(a), Path::new(b));
        assert!(w("/home/u/.ssh", "/home/u/.ssh"));
        assert!(w("/home/u/.ssh/id", "/home/u/.ssh"));
        assert!(!w("/home/u/.ssh2", "/home/u/.ssh"));
        assert!(!w("/home/u", "/home/u/.ssh"));
        assert!(w("/x", "/"));
        assert!(w("/", "/"));
    }
}

#[cfg(test)]
mod resolve_tests {
    use super::*;

    #[test]
    fn fast_and_general_resolution_agree() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a/f"), "x").unwrap();
        std::os::unix::fs::symlink(root.join("a/b"), root.join("link")).unwrap();
        std::os::unix::fs::symlink("b", root.join("a/rel")).unwrap();
        let ctx = Context {
            home: root.clone(),
            cwd: root.join("a"),
        };
        for (given, canonical, kind) in [
            ("b", "a/b", Kind::Dir),
            ("f", "a/f", Kind::File),
            ("../link", "a/b", Kind::Dir),
            ("rel", "a/b", Kind::Dir),
            ("~/link/.", "a/b", Kind::Dir),
            ("./b/../f", "a/f", Kind::File),
        ] {
            let r = resolve(Path::new(given), &ctx).unwrap();
            assert_eq!(r.canonical, root.join(canonical), "{given}");
            assert_eq!(r.kind, kind, "{given}");
        }
        assert!(matches!(
            resolve(Path::new("missing"), &ctx),
            Err(PolicyError::NotFound(_))
        ));
    }
}
