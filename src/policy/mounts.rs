//! Other names of protected paths through the mount table.
//!
//! Protection matches paths, and one directory can have several: a bind
//! mount of the home (devcontainers, WSL, `mount --bind`), or a second
//! mount of the same filesystem, shows `~/.ssh` again under another
//! prefix. The mount table says which mounts show the same filesystem
//! (same device) and from which directory of it (the mount's root): for a
//! protected path on mount A, every other mount B of the same device whose
//! root lies above the path's place in the filesystem shows it again, at
//! B's mount point plus the rest of the path. Those names are protected
//! too; a mount whose root lies inside a protected path is protected whole.
//!
//! What this cannot see: filesystems that show the same files under a
//! different device (overlayfs, FUSE, NFS exports of a local directory,
//! btrfs subvolumes mounted by id) and hard links (SECURITY.md).

use std::collections::HashMap;
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use rustc_hash::FxBuildHasher;

use super::{paths, PolicyError, Protected};

/// One line of `/proc/self/mountinfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    pub id: u64,
    /// `major:minor` of the filesystem.
    pub dev: String,
    /// The directory of the filesystem that is mounted.
    pub root: PathBuf,
    pub mount_point: PathBuf,
}

/// Parses the mount table (`man 5 proc`, mountinfo): fields are separated
/// by spaces, and spaces, tabs, newlines and backslashes in paths are
/// written as octal escapes.
pub fn parse(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let mut f = line.split(' ');
            let id = f.next()?.parse().ok()?;
            let _parent = f.next()?;
            let dev = f.next()?.to_string();
            let root = unescape(f.next()?);
            let mount_point = unescape(f.next()?);
            Some(Mount {
                id,
                dev,
                root,
                mount_point,
            })
        })
        .collect()
}

fn unescape(s: &str) -> PathBuf {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            // In u32: an escape above \377 would overflow a byte.
            let v = u32::from(b[i + 1] - b'0') * 64
                + u32::from(b[i + 2] - b'0') * 8
                + u32::from(b[i + 3] - b'0');
            out.push(v as u8);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    PathBuf::from(OsString::from_vec(out))
}

/// `path` relative to `base` (both normalized absolute), if inside it.
fn rest<'a>(path: &'a Path, base: &Path) -> Option<&'a [u8]> {
    if !paths::is_within(path, base) {
        return None;
    }
    let p = path.as_os_str().as_bytes();
    let b = base.as_os_str().as_bytes();
    let n = if b == b"/" { 1 } else { b.len() };
    Some(p[n..].strip_prefix(b"/").unwrap_or(&p[n..]))
}

fn join(base: &Path, rest: &[u8]) -> PathBuf {
    if rest.is_empty() {
        base.to_path_buf()
    } else {
        base.join(std::ffi::OsStr::from_bytes(rest))
    }
}

/// The other names of `list`'s entries under `mounts`.
pub fn aliases_in(list: &[Protected], mounts: &[Mount]) -> Vec<Protected> {
    let mut out = Vec::new();
    // Only devices mounted more than once can give a second name. The
    // table is local and small: FxHash, and byte keys (a path's
    // components are not parsed).
    let mut by_dev: HashMap<&str, Vec<&Mount>, FxBuildHasher> = HashMap::default();
    for m in mounts {
        by_dev.entry(m.dev.as_str()).or_default().push(m);
    }
    if by_dev.values().all(|v| v.len() < 2) {
        return out;
    }
    // The mount that shows a mount point: the last one listed there, when
    // mounts are stacked on the same point.
    let mut top: HashMap<&[u8], &Mount, FxBuildHasher> = HashMap::default();
    for m in mounts {
        top.insert(m.mount_point.as_os_str().as_bytes(), m);
    }
    for p in list {
        // The mount that shows `p`: its deepest ancestor (or itself) that
        // is a mount point, a few lookups instead of a pass over the table.
        let Some(home) = showing_mount(p.path.as_os_str().as_bytes(), &top) else {
            continue;
        };
        let Some(same_dev) = by_dev.get(home.dev.as_str()).filter(|v| v.len() > 1) else {
            continue;
        };
        let Some(r) = rest(&p.path, &home.mount_point) else {
            continue;
        };
        // Where `p` lies inside its filesystem.
        let in_fs = join(&home.root, r);
        for other in same_dev.iter().filter(|m| m.id != home.id) {
            let alias = if let Some(r) = rest(&in_fs, &other.root) {
                join(&other.mount_point, r)
            } else if paths::is_within(&other.root, &in_fs) {
                other.mount_point.clone()
            } else {
                continue;
            };
            if alias != p.path {
                out.push(Protected {
                    path: alias,
                    category: p.category.clone(),
                    exists: p.exists,
                    read_only: p.read_only,
                });
            }
        }
    }
    out
}

/// The entry of `top` (mount point to mount) for the deepest of `path`
/// and its ancestors that is a mount point. `path` is absolute and
/// normalized, so its ancestors are its prefixes ending before a `/`.
fn showing_mount<'m>(
    path: &[u8],
    top: &HashMap<&[u8], &'m Mount, FxBuildHasher>,
) -> Option<&'m Mount> {
    let mut end = path.len();
    loop {
        let prefix = if end == 0 { &b"/"[..] } else { &path[..end] };
        if let Some(m) = top.get(prefix) {
            return Some(m);
        }
        if end == 0 {
            return None;
        }
        end = path[..end].iter().rposition(|c| *c == b'/')?;
    }
}

/// The other names of `list`'s entries on this machine. Fails closed:
/// without a mount table nono cannot tell which names are the same
/// directory.
pub fn aliases(list: &[Protected]) -> Result<Vec<Protected>, PolicyError> {
    // Read once per policy build (the lookup cache keeps it while the
    // build's scope lives): `finish` runs for the built-in list and again
    // for each extension (profile, PATH, git).
    let mounts = super::lookup::mount_table(|| {
        mountinfo()
            .map(parse)
            .map_err(|source| PolicyError::MountTable { source })
    })?;
    Ok(aliases_in(list, &mounts))
}

/// This process's mount table (`/proc/self/mountinfo`), read once per
/// process: the policy's other names and the mount layer's plan are made
/// from the same table, read at the start of the build, before any
/// namespace is entered. Each read costs the kernel some 50 µs (the first
/// one of a process twice that); a failed read is not kept.
pub fn mountinfo() -> std::io::Result<&'static str> {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    if let Some(t) = TEXT.get() {
        return Ok(t);
    }
    let text = read_proc("/proc/self/mountinfo")?;
    Ok(TEXT.get_or_init(|| text))
}

/// Reads a file of /proc whole. Its size reads as 0, so `read_to_string`
/// would start with a 32-byte read and double from there (nine reads for
/// a 2 KiB mount table, each one a trip through the kernel's generator);
/// a buffer that holds a typical table takes one read and the end-of-file
/// one (and no `statx` or `lseek` for a size hint that says nothing).
pub fn read_proc(path: &str) -> std::io::Result<String> {
    use std::io::{ErrorKind, Read};
    let mut file = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 16 * 1024];
    let mut len = 0;
    loop {
        if len == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        match file.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(len);
    String::from_utf8(buf).map_err(|_| std::io::Error::from(ErrorKind::InvalidData))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prot(p: &str) -> Protected {
        Protected {
            path: PathBuf::from(p),
            category: "c".into(),
            exists: true,
            read_only: false,
        }
    }

    #[test]
    fn bind_mounts_and_second_mounts_give_other_names() {
        let table = "\
27 1 254:0 / / rw - ext4 /dev/vda rw
40 27 254:0 /home/u /mnt/home rw - ext4 /dev/vda rw
41 27 254:0 /home/u/.ssh /srv/keys rw - ext4 /dev/vda rw
42 27 254:0 /var /srv/var\\040x rw - ext4 /dev/vda rw
43 27 0:50 / /data rw - tmpfs tmpfs rw
";
        let m = parse(table);
        assert_eq!(m[3].mount_point, PathBuf::from("/srv/var x"));
        let got: Vec<PathBuf> = aliases_in(&[prot("/home/u/.ssh")], &m)
            .into_iter()
            .map(|p| p.path)
            .collect();
        assert_eq!(
            got,
            vec![PathBuf::from("/mnt/home/.ssh"), PathBuf::from("/srv/keys")]
        );
        // A protected path inside the bind mount: its name on the root.
        let got: Vec<PathBuf> = aliases_in(&[prot("/mnt/home/.aws")], &m)
            .into_iter()
            .map(|p| p.path)
            .collect();
        assert_eq!(got, vec![PathBuf::from("/home/u/.aws")]);
        // Another device: no alias.
        assert!(aliases_in(&[prot("/data/x")], &m).is_empty());
    }

    /// The hashed lookup of the mount that shows a path picks what a pass
    /// over the table picks: the deepest mount point, the last of those
    /// stacked on it.
    #[test]
    fn the_deepest_and_last_mount_shows_a_path() {
        let table = "\
27 1 254:0 / / rw - ext4 /dev/vda rw
40 27 254:0 /home/u /mnt/home rw - ext4 /dev/vda rw
45 27 0:51 / /mnt/home rw - tmpfs tmpfs rw
46 27 254:0 /srv /mnt/srv rw - ext4 /dev/vda rw
";
        let m = parse(table);
        // Under /mnt/home the tmpfs on top shows the path: no alias.
        assert!(aliases_in(&[prot("/mnt/home/.ssh")], &m).is_empty());
        // Under /mnt/srv/x: the bind mount, not the root.
        let got: Vec<PathBuf> = aliases_in(&[prot("/mnt/srv/x")], &m)
            .into_iter()
            .map(|p| p.path)
            .collect();
        assert_eq!(got, vec![PathBuf::from("/srv/x")]);
    }
}
