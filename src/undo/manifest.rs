//! One grant's state at snapshot time: a manifest, one line per entry.
//!
//! A line-oriented text format rather than JSON: a second run reads the
//! previous manifest and writes a new one for every entry of the tree, so
//! parsing and writing have to cost little next to the metadata walk.
//! Paths are bytes (file names need not be UTF-8); `%`, tab, newline and
//! other control bytes are written as `%XX`. The last line holds the entry
//! count and the BLAKE3 hash of everything before it, so that a manifest
//! cut short (a crash before the data reached the disk) is detected
//! instead of being read as a smaller tree.
//!
//! ```text
//! nono-manifest 1<TAB>ROOT
//! KIND MODE UID GID SIZE MTIME_NS CTIME_NS INO DEV HASH SKIP PATH TARGET   (tab-separated)
//! end<TAB>COUNT<TAB>BLAKE3
//! ```

use std::path::PathBuf;

const MAGIC: &str = "nono-manifest 1";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    /// Fifos, sockets, devices: recorded, never copied.
    Other,
}

impl Kind {
    fn code(self) -> char {
        match self {
            Kind::File => 'f',
            Kind::Dir => 'd',
            Kind::Symlink => 'l',
            Kind::Other => 'o',
        }
    }
    // mode_t is u32 on Linux, u16 on macOS: the casts are for the latter.
    #[allow(clippy::unnecessary_cast)]
    pub fn from_mode(mode: u32) -> Kind {
        match mode & libc::S_IFMT as u32 {
            m if m == libc::S_IFREG as u32 => Kind::File,
            m if m == libc::S_IFDIR as u32 => Kind::Dir,
            m if m == libc::S_IFLNK as u32 => Kind::Symlink,
            _ => Kind::Other,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Dir => "directory",
            Kind::Symlink => "symlink",
            Kind::Other => "special file",
        }
    }
}

/// Why an entry's contents are not in the snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    /// Recorded in full.
    No,
    /// A rebuildable directory named in the skip list: not descended.
    Rebuildable,
    /// A file above the size limit.
    Large,
    /// A fifo, socket or device.
    Special,
    /// Could not be read (best-effort snapshots only).
    Unreadable,
}

impl Skip {
    fn code(self) -> &'static str {
        match self {
            Skip::No => "-",
            Skip::Rebuildable => "rebuildable",
            Skip::Large => "large",
            Skip::Special => "special",
            Skip::Unreadable => "unreadable",
        }
    }
    fn parse(s: &str) -> Option<Skip> {
        Some(match s {
            "-" => Skip::No,
            "rebuildable" => Skip::Rebuildable,
            "large" => Skip::Large,
            "special" => Skip::Special,
            "unreadable" => Skip::Unreadable,
            _ => return None,
        })
    }
    /// The reason, for reports and JSON (`rebuildable`, `large`, ...).
    pub fn reason(self) -> &'static str {
        self.code()
    }
}

/// One entry: a file, directory, symlink or special file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Relative to the grant root, as bytes; empty for the root itself.
    pub path: Vec<u8>,
    pub kind: Kind,
    /// Permission bits (07777).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
    pub ino: u64,
    pub dev: u64,
    /// The content's hash: regular files recorded in full.
    pub hash: Option<blake3::Hash>,
    pub skip: Skip,
    /// A symlink's target, as stored.
    pub target: Option<Vec<u8>>,
}

impl Entry {
    /// True when `now` has the same identity and times: the content is
    /// taken to be unchanged without reading it (ctime cannot be set by a
    /// program, so a rewrite that restores mtime still shows).
    pub fn same_stat(&self, now: &Entry) -> bool {
        self.kind == now.kind
            && self.size == now.size
            && self.mtime_ns == now.mtime_ns
            && self.ctime_ns == now.ctime_ns
            && self.ino == now.ino
            && self.dev == now.dev
    }
}

/// Writes `bytes` with `%XX` escapes for `%`, whitespace separators and
/// control bytes.
pub fn escape(bytes: &[u8], out: &mut String) {
    for &b in bytes {
        if b == b'%' || b < 0x21 || b == 0x7f {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[(b >> 4) as usize]));
            out.push(char::from(b"0123456789ABCDEF"[(b & 15) as usize]));
        } else if b < 0x80 {
            out.push(char::from(b));
        } else {
            // Non-ASCII bytes are escaped too, so that the text is ASCII
            // whatever the file names.
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[(b >> 4) as usize]));
            out.push(char::from(b"0123456789ABCDEF"[(b & 15) as usize]));
        }
    }
}

pub fn unescape(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(out)
}

/// Encodes a manifest.
pub fn encode(root: &[u8], entries: &[Entry]) -> String {
    let mut s = String::with_capacity(64 + entries.len() * 160);
    s.push_str(MAGIC);
    s.push('\t');
    escape(root, &mut s);
    s.push('\n');
    for e in entries {
        s.push_str(&format!(
            "{}\t{:o}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t",
            e.kind.code(),
            e.mode,
            e.uid,
            e.gid,
            e.size,
            e.mtime_ns,
            e.ctime_ns,
            e.ino,
            e.dev
        ));
        match &e.hash {
            Some(h) => s.push_str(h.to_hex().as_str()),
            None => s.push('-'),
        }
        s.push('\t');
        s.push_str(e.skip.code());
        s.push('\t');
        escape(&e.path, &mut s);
        s.push('\t');
        match &e.target {
            Some(t) => escape(t, &mut s),
            None => s.push('-'),
        }
        s.push('\n');
    }
    let sum = blake3::hash(s.as_bytes());
    s.push_str(&format!("end\t{}\t{}\n", entries.len(), sum.to_hex()));
    s
}

/// A manifest that cannot be read back: damaged or not a manifest.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Damaged(pub String);

/// Decodes a manifest, checking its trailer.
pub fn decode(text: &str) -> Result<(PathBuf, Vec<Entry>), Damaged> {
    use std::os::unix::ffi::OsStringExt;
    let bad = |what: &str| Damaged(what.to_string());
    let body_end = text
        .trim_end_matches('\n')
        .rfind('\n')
        .map(|i| i + 1)
        .ok_or_else(|| bad("no trailer"))?;
    let (body, trailer) = text.split_at(body_end);
    let mut t = trailer.trim_end().split('\t');
    let (Some("end"), Some(count), Some(sum)) = (t.next(), t.next(), t.next()) else {
        return Err(bad("cut short (no trailer)"));
    };
    if blake3::hash(body.as_bytes()).to_hex().as_str() != sum {
        return Err(bad("checksum mismatch"));
    }
    let mut lines = body.lines();
    let header = lines.next().ok_or_else(|| bad("empty"))?;
    let root = header
        .strip_prefix(MAGIC)
        .and_then(|r| r.strip_prefix('\t'))
        .and_then(unescape)
        .ok_or_else(|| bad("not a manifest"))?;
    let mut entries = Vec::new();
    for line in lines {
        entries.push(decode_line(line).ok_or_else(|| bad("bad entry line"))?);
    }
    if count.parse::<usize>().ok() != Some(entries.len()) {
        return Err(bad("entry count mismatch"));
    }
    Ok((PathBuf::from(std::ffi::OsString::from_vec(root)), entries))
}

fn decode_line(line: &str) -> Option<Entry> {
    let mut f = line.split('\t');
    let kind = match f.next()? {
        "f" => Kind::File,
        "d" => Kind::Dir,
        "l" => Kind::Symlink,
        "o" => Kind::Other,
        _ => return None,
    };
    let mode = u32::from_str_radix(f.next()?, 8).ok()?;
    let uid = f.next()?.parse().ok()?;
    let gid = f.next()?.parse().ok()?;
    let size = f.next()?.parse().ok()?;
    let mtime_ns = f.next()?.parse().ok()?;
    let ctime_ns = f.next()?.parse().ok()?;
    let ino = f.next()?.parse().ok()?;
    let dev = f.next()?.parse().ok()?;
    let hash = match f.next()? {
        "-" => None,
        h => Some(blake3::Hash::from_hex(h).ok()?),
    };
    let skip = Skip::parse(f.next()?)?;
    let path = unescape(f.next()?)?;
    let target = match f.next()? {
        "-" => None,
        t => Some(unescape(t)?),
    };
    Some(Entry {
        path,
        kind,
        mode,
        uid,
        gid,
        size,
        mtime_ns,
        ctime_ns,
        ino,
        dev,
        hash,
        skip,
        target,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &[u8]) -> Entry {
        Entry {
            path: path.to_vec(),
            kind: Kind::File,
            mode: 0o644,
            uid: 1,
            gid: 2,
            size: 3,
            mtime_ns: -5,
            ctime_ns: 6,
            ino: 7,
            dev: 8,
            hash: Some(blake3::hash(b"x")),
            skip: Skip::No,
            target: None,
        }
    }

    #[test]
    fn round_trips_hostile_names() {
        let mut l = entry(b"a\tb\nc%d\xff -");
        l.kind = Kind::Symlink;
        l.hash = None;
        l.target = Some(b"../x y\t".to_vec());
        let entries = vec![entry(b""), entry(b"sub/file.txt"), l];
        let text = encode(b"/r o\not", &entries);
        let (root, back) = decode(&text).unwrap();
        assert_eq!(root, PathBuf::from("/r o\not"));
        assert_eq!(back, entries);
    }

    #[test]
    fn a_manifest_cut_short_is_damaged() {
        let text = encode(b"/r", &[entry(b"a"), entry(b"b")]);
        let cut = &text[..text.len() / 2];
        assert!(decode(cut).is_err());
        let mut changed = text.clone().into_bytes();
        changed[20] ^= 1;
        assert!(decode(&String::from_utf8_lossy(&changed)).is_err());
        assert!(decode("").is_err());
    }
}
