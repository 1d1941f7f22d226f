//! The command blocklist: which program names are blocked, pure functions
//! only. The filesystem side (finding the blocked files, leaving them
//! without execute) is in [`super::programs`].
//!
//! A program is judged by its file name, never by its arguments. The
//! effective list is the built-in one (`data/blocklist.toml`, the contract's
//! table) minus `--allow-command` plus `--block-command`. A name added with
//! `--block-command` stays blocked even if `--allow-command` names it too:
//! when two options disagree, the safer one wins.

use std::collections::HashMap;

use super::spec::{CommandRequest, Source};

/// A program name pattern.
///
/// * `rm` matches `rm` and `rm` followed by a version suffix of digits and
///   dots, starting with a digit (`pip3.11` for `pip3`, `pip3` for `pip`);
/// * `mkfs.*` matches `mkfs.` followed by anything (the family).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pattern(String);

impl Pattern {
    /// Checks a pattern as written in the data or on the command line.
    pub fn parse(s: &str) -> Result<Pattern, String> {
        let stem = s.strip_suffix(".*").unwrap_or(s);
        if stem.is_empty() {
            return Err(format!("{s:?}: empty command name"));
        }
        if let Some(bad) = stem
            .chars()
            .find(|c| *c == '/' || *c == '*' || c.is_whitespace() || c.is_control())
        {
            return Err(format!(
                "{s:?}: a command name is a file name, without {bad:?} (families are written NAME.*)"
            ));
        }
        if stem == "." || stem == ".." {
            return Err(format!("{s:?}: not a command name"));
        }
        Ok(Pattern(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True if the file name `name` is matched.
    pub fn matches(&self, name: &[u8]) -> bool {
        if let Some(prefix) = self.0.strip_suffix(".*") {
            return name.len() > prefix.len() + 1
                && name.starts_with(prefix.as_bytes())
                && name[prefix.len()] == b'.';
        }
        let Some(rest) = name.strip_prefix(self.0.as_bytes()) else {
            return false;
        };
        rest.is_empty() || is_version_suffix(rest)
    }
}

/// `3`, `3.11`, `2.7.18`: digits and dots, starting with a digit.
fn is_version_suffix(s: &[u8]) -> bool {
    s.first().is_some_and(u8::is_ascii_digit) && s.iter().all(|b| b.is_ascii_digit() || *b == b'.')
}

/// Where a blocklist entry comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntrySource {
    Default,
    User(Source),
}

/// One pattern on the effective blocklist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub pattern: Pattern,
    pub category: String,
    pub source: EntrySource,
}

/// A multi-call binary (busybox): one file that is many commands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Multicall {
    pub names: Vec<Pattern>,
    /// Commands it can run that are on the default blocklist.
    pub provides: Vec<String>,
}

/// Why a name is blocked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    /// The pattern that matched (what `--allow-command` must name).
    pub pattern: String,
    pub category: String,
}

/// The effective blocklist.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Blocklist {
    /// Every blocking pattern, defaults first, in data order.
    pub entries: Vec<Entry>,
    /// `--allow-command` patterns: lift default entries.
    pub allowed: Vec<Pattern>,
    pub multicall: Vec<Multicall>,
    /// Directories whose every entry is a program (from the data).
    pub program_dirs: Vec<String>,
    /// Lookup tables over `entries` (user ones, all) and `allowed`.
    user_index: Index,
    /// Which names can match a blocking pattern at all, by their first
    /// bytes (see [`Prefilter`]).
    prefilter: Prefilter,
    entry_index: Index,
    allow_index: Index,
}

/// Patterns indexed by the stems a name can match through, so that a
/// check costs a few hash lookups instead of one comparison per pattern
/// (it runs for every file of the program directories at each start).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
struct Index {
    plain: HashMap<Vec<u8>, usize, FastHash>,
    family: HashMap<Vec<u8>, usize, FastHash>,
}

/// The index's hash: FxHash (a multiply and rotate per word), not the
/// default SipHash, whose per-key set-up dominated the check of a short
/// name. SipHash guards a table against keys chosen to collide; here the
/// keys are the blocklist patterns (built-in data and the user's own
/// options), fixed before any file name is looked up. A name planted in a
/// program directory only ever *probes* the table, so the worst a chosen
/// name can do is walk the probe sequence of a table of a few dozen
/// patterns: bounded by the list's size, whatever the directory holds.
/// (`rustc-hash`: the compiler's own table hash, a multiply and rotate
/// per word.)
type FastHash = rustc_hash::FxBuildHasher;

/// The names that can match a blocking pattern: a pattern matches only
/// names that begin with its stem (the name, or a family's prefix), so a
/// name that begins with no stem is not blocked and the full check is
/// skipped. A bit per pair of first bytes rejects most names with one
/// load; the rest are compared with the few stems of their first byte. Most
/// files of a program directory never reach the index. Empty (the
/// default): every name takes the full check.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
struct Prefilter {
    /// One bit per pair of first bytes, 65,536 bits.
    pairs: Vec<u64>,
    /// The stems of two bytes or more, sorted (so grouped by first byte).
    long: Vec<Vec<u8>>,
    /// Where each first byte's stems begin in `long` (257 offsets).
    first: Vec<usize>,
    /// One bit per first byte of a one-byte stem.
    short: [u64; 4],
}

impl Prefilter {
    fn new<'a>(stems: impl Iterator<Item = &'a [u8]>) -> Prefilter {
        let mut f = Prefilter {
            pairs: vec![0; 1024],
            long: Vec::new(),
            first: Vec::new(),
            short: [0; 4],
        };
        for s in stems {
            match *s {
                [] => {}
                [a] => f.short[usize::from(a) >> 6] |= 1 << (a & 63),
                [a, b, ..] => {
                    let i = pair(a, b);
                    f.pairs[i >> 6] |= 1 << (i & 63);
                    f.long.push(s.to_vec());
                }
            }
        }
        f.long.sort();
        f.long.dedup();
        f.first = (0..=256usize)
            .map(|b| f.long.partition_point(|s| usize::from(s[0]) < b))
            .collect();
        f
    }

    /// False only if no stem begins `name`.
    fn may_match(&self, name: &[u8]) -> bool {
        if self.pairs.is_empty() {
            return true;
        }
        let Some(&a) = name.first() else {
            return false;
        };
        if self.short[usize::from(a) >> 6] & (1 << (a & 63)) != 0 {
            return true;
        }
        let Some(&b) = name.get(1) else {
            return false;
        };
        let i = pair(a, b);
        if self
            .pairs
            .get(i >> 6)
            .is_none_or(|w| w & (1 << (i & 63)) == 0)
        {
            return false;
        }
        let a = usize::from(a);
        let (Some(&from), Some(&to)) = (self.first.get(a), self.first.get(a + 1)) else {
            return true;
        };
        self.long
            .get(from..to)
            .unwrap_or_default()
            .iter()
            .any(|s| s.get(1) == Some(&b) && name.starts_with(s))
    }
}

fn pair(a: u8, b: u8) -> usize {
    usize::from(a) << 8 | usize::from(b)
}

impl Pattern {
    /// What every matched name begins with: the name, or a family's prefix.
    fn stem(&self) -> &[u8] {
        self.0.strip_suffix(".*").unwrap_or(&self.0).as_bytes()
    }
}

impl Index {
    fn new<'a>(patterns: impl Iterator<Item = (usize, &'a Pattern)>) -> Index {
        let mut ix = Index::default();
        for (i, p) in patterns {
            match p.as_str().strip_suffix(".*") {
                Some(prefix) => ix.family.entry(prefix.as_bytes().to_vec()).or_insert(i),
                None => ix.plain.entry(p.as_str().as_bytes().to_vec()).or_insert(i),
            };
        }
        ix
    }

    /// The smallest index of a pattern matching `name` (what a linear
    /// search with [`Pattern::matches`] would find first).
    fn find(&self, name: &[u8]) -> Option<usize> {
        let mut best: Option<usize> = None;
        let mut consider = |i: Option<&usize>| {
            if let Some(&i) = i {
                best = Some(best.map_or(i, |b| b.min(i)));
            }
        };
        consider(self.plain.get(name));
        // The name minus a version suffix: each digit in the trailing run
        // of digits and dots can start the suffix.
        let mut i = name.len();
        while i > 0 && (name[i - 1].is_ascii_digit() || name[i - 1] == b'.') {
            i -= 1;
            if name[i].is_ascii_digit() {
                consider(self.plain.get(&name[..i]));
            }
        }
        // Families: every prefix followed by a dot and something more.
        if !self.family.is_empty() {
            for (i, b) in name.iter().enumerate() {
                if *b == b'.' && i + 1 < name.len() {
                    consider(self.family.get(&name[..i]));
                }
            }
        }
        best
    }
}

pub const MULTICALL_CATEGORY: &str = "multi-call binary";

/// `data/blocklist.toml` as compiled by `build.rs` (no run parses it).
struct BlocklistData {
    program_dirs: &'static [&'static str],
    category: &'static [CategoryRow],
    multicall: &'static [MulticallRow],
}

struct CategoryRow {
    name: &'static str,
    commands: &'static [&'static str],
}

struct MulticallRow {
    names: &'static [&'static str],
    provides: &'static [&'static str],
}

static DATA: BlocklistData = include!(concat!(env!("OUT_DIR"), "/blocklist.rs"));

impl Blocklist {
    /// The built-in list with the user's changes applied.
    pub fn build(allow: &[CommandRequest], block: &[CommandRequest]) -> Result<Blocklist, String> {
        let data = &DATA;
        let mut entries = Vec::new();
        for c in data.category {
            for cmd in c.commands {
                entries.push(Entry {
                    pattern: Pattern::parse(cmd)?,
                    category: c.name.to_string(),
                    source: EntrySource::Default,
                });
            }
        }
        for b in block {
            let pattern = Pattern::parse(&b.name).map_err(|e| format!("{}: {e}", b.source))?;
            if !entries
                .iter()
                .any(|e| e.pattern == pattern && e.source != EntrySource::Default)
            {
                entries.push(Entry {
                    pattern,
                    category: "added with --block-command".into(),
                    source: EntrySource::User(b.source.clone()),
                });
            }
        }
        let allowed = allow
            .iter()
            .map(|a| Pattern::parse(&a.name).map_err(|e| format!("{}: {e}", a.source)))
            .collect::<Result<Vec<_>, _>>()?;
        let multicall = data
            .multicall
            .iter()
            .map(|m| {
                Ok(Multicall {
                    names: m
                        .names
                        .iter()
                        .map(|n| Pattern::parse(n))
                        .collect::<Result<_, String>>()?,
                    provides: m.provides.iter().map(|p| (*p).to_string()).collect(),
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let user_index = Index::new(
            entries
                .iter()
                .enumerate()
                .filter(|(_, e)| e.source != EntrySource::Default)
                .map(|(i, e)| (i, &e.pattern)),
        );
        let entry_index = Index::new(entries.iter().enumerate().map(|(i, e)| (i, &e.pattern)));
        let allow_index = Index::new(allowed.iter().enumerate());
        // Only blocking patterns: an allowed one can only lift a match.
        let prefilter = Prefilter::new(
            entries
                .iter()
                .map(|e| &e.pattern)
                .chain(multicall.iter().flat_map(|m| m.names.iter()))
                .map(Pattern::stem),
        );
        Ok(Blocklist {
            entries,
            allowed,
            multicall,
            program_dirs: data.program_dirs.iter().map(|d| (*d).to_string()).collect(),
            user_index,
            prefilter,
            entry_index,
            allow_index,
        })
    }

    /// Is the file name `name` blocked, and why.
    pub fn check(&self, name: &[u8]) -> Option<Hit> {
        if !self.prefilter.may_match(name) {
            return None;
        }
        if let Some(hit) = self.check_plain(name) {
            return Some(hit);
        }
        if self.allow_index.find(name).is_some() {
            return None;
        }
        for m in &self.multicall {
            if let Some(p) = m.names.iter().find(|p| p.matches(name)) {
                let still: Vec<&str> = self.still_blocked(m);
                if !still.is_empty() {
                    return Some(Hit {
                        pattern: p.as_str().to_string(),
                        category: format!(
                            "{MULTICALL_CATEGORY}: it runs {} as applets",
                            still.join(", ")
                        ),
                    });
                }
            }
        }
        None
    }

    /// The applets of `m` that are still blocked.
    pub fn still_blocked<'a>(&self, m: &'a Multicall) -> Vec<&'a str> {
        m.provides
            .iter()
            .filter(|n| self.check_plain(n.as_bytes()).is_some())
            .map(String::as_str)
            .collect()
    }

    /// The category entries only (no multi-call rule).
    fn check_plain(&self, name: &[u8]) -> Option<Hit> {
        let hit = |e: &Entry| Hit {
            pattern: e.pattern.as_str().to_string(),
            category: e.category.clone(),
        };
        // The user's own additions win over --allow-command.
        if let Some(i) = self.user_index.find(name) {
            return Some(hit(&self.entries[i]));
        }
        if self.allow_index.find(name).is_some() {
            return None;
        }
        self.entry_index.find(name).map(|i| hit(&self.entries[i]))
    }

    /// The entries in effect (not lifted by `--allow-command`), for display.
    pub fn effective(&self) -> Vec<&Entry> {
        self.entries
            .iter()
            .filter(|e| e.source != EntrySource::Default || !self.lifts(&e.pattern))
            .collect()
    }

    /// True if `--allow-command` lifts the whole entry `p`: a family only
    /// when named as such, a name when an allowed pattern matches it.
    fn lifts(&self, p: &Pattern) -> bool {
        if p.as_str().ends_with(".*") {
            self.allowed.contains(p)
        } else {
            self.allowed
                .iter()
                .any(|a| a.matches(p.as_str().as_bytes()))
        }
    }

    /// True when no file name can be blocked: nothing was added with
    /// `--block-command` and every default entry is lifted by exactly its
    /// own pattern. Then `check` answers `None` for every name (the allow
    /// index matches whatever the entry index would, and no multi-call
    /// binary has an applet left blocked), so there is nothing to look for
    /// in the program directories.
    pub fn blocks_nothing(&self) -> bool {
        self.entries
            .iter()
            .all(|e| e.source == EntrySource::Default && self.allowed.contains(&e.pattern))
    }

    /// Everything [`Blocklist::check`] answers from, as bytes: two lists
    /// with the same fingerprint give every name the same answer. The scan
    /// cache keys listings by it (`programs::cache`).
    pub fn fingerprint(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut put = |b: &[u8]| {
            out.extend_from_slice(&(b.len() as u32).to_le_bytes());
            out.extend_from_slice(b);
        };
        for e in &self.entries {
            put(e.pattern.as_str().as_bytes());
            put(e.category.as_bytes());
            put(if e.source == EntrySource::Default {
                b"d"
            } else {
                b"u"
            });
        }
        put(b"\xffallowed");
        for a in &self.allowed {
            put(a.as_str().as_bytes());
        }
        for m in &self.multicall {
            put(b"\xffmulticall");
            for n in &m.names {
                put(n.as_str().as_bytes());
            }
            put(b"\xffprovides");
            for n in &m.provides {
                put(n.as_bytes());
            }
        }
        out
    }

    /// Names added by the user with `--block-command`.
    pub fn user_added(&self) -> impl Iterator<Item = &Entry> {
        self.entries
            .iter()
            .filter(|e| e.source != EntrySource::Default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The compiled tables are exactly `data/blocklist.toml`, parsed afresh.
    #[test]
    fn compiled_data_equals_the_toml() {
        let f: crate::test_support::schema::BlocklistFile =
            toml::from_str(include_str!("data/blocklist.toml")).unwrap();
        assert_eq!(f.program_dirs, DATA.program_dirs);
        let compiled: Vec<(&str, &[&str])> =
            DATA.category.iter().map(|c| (c.name, c.commands)).collect();
        let parsed: Vec<(&str, Vec<&str>)> = f
            .category
            .iter()
            .map(|c| {
                (
                    c.name.as_str(),
                    c.commands.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(parsed.len(), compiled.len());
        for ((pn, pc), (cn, cc)) in parsed.iter().zip(&compiled) {
            assert_eq!((pn, pc.as_slice()), (cn, *cc));
        }
        assert_eq!(f.multicall.len(), DATA.multicall.len());
        for (p, c) in f.multicall.iter().zip(DATA.multicall) {
            assert_eq!(p.names, c.names);
            assert_eq!(p.provides, c.provides);
        }
    }

    fn req(names: &[&str], flag: &'static str) -> Vec<CommandRequest> {
        names
            .iter()
            .map(|n| CommandRequest {
                name: n.to_string(),
                source: Source::Flag(flag),
            })
            .collect()
    }

    fn list(allow: &[&str], block: &[&str]) -> Blocklist {
        Blocklist::build(
            &req(allow, "--allow-command"),
            &req(block, "--block-command"),
        )
        .unwrap()
    }

    fn category(b: &Blocklist, name: &str) -> Option<String> {
        b.check(name.as_bytes()).map(|h| h.category)
    }

    /// `blocks_nothing` lets the program scan be skipped: it must hold
    /// only when `check` really is `None` for every name.
    #[test]
    fn blocks_nothing_only_when_every_entry_is_lifted() {
        let all = list(&[], &[]);
        let names: Vec<String> = all
            .entries
            .iter()
            .map(|e| e.pattern.as_str().to_string())
            .collect();
        let every: Vec<&str> = names.iter().map(String::as_str).collect();
        let lifted = list(&every, &[]);
        assert!(lifted.blocks_nothing());
        let probes = [
            "rm",
            "rm2",
            "pip3.11",
            "mkfs.ext4",
            "mkfs.",
            "busybox",
            "toybox",
            "sudo",
            "cp",
            "x",
        ];
        for n in probes.iter().chain(every.iter()) {
            assert_eq!(lifted.check(n.as_bytes()), None, "{n} still blocked");
        }
        assert!(!all.blocks_nothing());
        // One entry left, or one added: something can be blocked.
        assert!(!list(&every[1..], &[]).blocks_nothing());
        assert!(!list(&every, &["zap"]).blocks_nothing());
        assert!(list(&every, &["zap"]).check(b"zap").is_some());
        // A family lifted by name only ("mkfs" but not "mkfs.*") leaves it.
        let partial: Vec<&str> = every.iter().copied().filter(|n| *n != "mkfs.*").collect();
        assert!(!list(&partial, &[]).blocks_nothing());
    }

    #[test]
    fn contract_table_is_blocked_by_category() {
        let b = list(&[], &[]);
        for (cat, names) in [
            ("file destruction", &["rm", "rmdir", "shred", "srm"][..]),
            (
                "disk operations",
                &[
                    "dd",
                    "mkfs",
                    "mkfs.ext4",
                    "mkfs.vfat",
                    "fdisk",
                    "parted",
                    "wipefs",
                ],
            ),
            ("permission changes", &["chmod", "chown", "chgrp", "chattr"]),
            (
                "system modification",
                &["shutdown", "reboot", "halt", "systemctl"],
            ),
            (
                "package managers",
                &[
                    "apt", "apt-get", "brew", "pip", "pip3", "pip3.11", "yum", "pacman",
                ],
            ),
            ("file operations", &["mv", "cp", "truncate"]),
            ("privilege escalation", &["sudo", "su", "doas", "pkexec"]),
            ("network exfiltration", &["scp", "rsync", "sftp", "ftp"]),
        ] {
            for n in names {
                assert_eq!(category(&b, n).as_deref(), Some(cat), "{n}");
            }
        }
    }

    #[test]
    fn similar_names_are_not_blocked() {
        let b = list(&[], &[]);
        for n in [
            "ls",
            "rmail",
            "rm-",
            "rm.",
            "cpp",
            "mvn",
            "sudoedit2x",
            "ddate",
            "mkfsx",
            "mkfs.",
            "pipx",
            "pip-3",
            "apt-cache",
            "suid",
            "git",
            "sh",
            "bash",
            "python3.11",
            "scpx",
        ] {
            assert_eq!(b.check(n.as_bytes()), None, "{n}");
        }
    }

    #[test]
    fn patterns() {
        let p = Pattern::parse("pip").unwrap();
        assert!(p.matches(b"pip") && p.matches(b"pip3") && p.matches(b"pip3.11"));
        assert!(!p.matches(b"pip.3") && !p.matches(b"pipe") && !p.matches(b"pi"));
        let f = Pattern::parse("mkfs.*").unwrap();
        assert!(f.matches(b"mkfs.ext4") && !f.matches(b"mkfs") && !f.matches(b"mkfs."));
        for bad in [
            "",
            "a/b",
            "/usr/bin/rm",
            "r*",
            "a b",
            ".",
            "..",
            ".*",
            "x\n",
        ] {
            assert!(Pattern::parse(bad).is_err(), "{bad:?}");
        }
    }

    /// The prefilter only skips work: with it, `check` answers exactly
    /// what the full check answers, for names that begin a stem, extend
    /// one, share only its first bytes, or are one byte long.
    #[test]
    fn the_prefilter_changes_no_answer() {
        for b in [
            list(&[], &[]),
            list(&["rm", "toybox"], &["x", "tool.*", "ab"]),
            list(&["busybox"], &[]),
        ] {
            let mut full = b.clone();
            full.prefilter = Prefilter::default();
            let mut names: Vec<String> = [
                "",
                "x",
                "x1",
                "x.y",
                "a",
                "ab",
                "ab2",
                "abc",
                "r",
                "rm",
                "rm3",
                "rmdir",
                "rn",
                "tool",
                "tool.x",
                "tool1",
                "toybox",
                "toybo",
                "busybox",
                "mkfs",
                "mkfs.ext4",
                "mk",
                "m",
                "pip3.11",
                "pi",
                "ls",
                "git",
                "sudoedit",
                "\u{e9}t\u{e9}",
            ]
            .iter()
            .map(|n| n.to_string())
            .collect();
            for e in &b.entries {
                let stem = e.pattern.stem();
                for cut in 0..=stem.len() {
                    let n = String::from_utf8_lossy(&stem[..cut]).into_owned();
                    names.push(format!("{n}7"));
                    names.push(format!("{n}.z"));
                    names.push(format!("{n}q"));
                    names.push(n);
                }
            }
            for n in &names {
                assert_eq!(b.check(n.as_bytes()), full.check(n.as_bytes()), "{n:?}");
            }
            assert!(!b.prefilter.may_match(b"ls"));
        }
        // It does reject: a name that shares only its first bytes with a
        // stem (toybox) never reaches the index.
        assert!(!list(&[], &[]).prefilter.may_match(b"tool1234"));
    }

    #[test]
    fn index_finds_what_a_linear_search_finds() {
        let pats: Vec<Pattern> = ["pip", "pip3", "rm", "mkfs", "mkfs.*", "a.b", "x.*", "x.y.*"]
            .iter()
            .map(|p| Pattern::parse(p).unwrap())
            .collect();
        let ix = Index::new(pats.iter().enumerate());
        for name in [
            "pip",
            "pip3",
            "pip3.11",
            "pip.3",
            "pip3.",
            "pipx",
            "rm",
            "rm1",
            "rm1.2.3",
            "rm.1",
            "mkfs",
            "mkfs.ext4",
            "mkfs.",
            "mkfs.a.b",
            "a.b",
            "a.b2",
            "x.",
            "x.y",
            "x.y.z",
            "x",
            "",
            "3",
            "rm3x",
        ] {
            let linear = pats.iter().position(|p| p.matches(name.as_bytes()));
            assert_eq!(ix.find(name.as_bytes()), linear, "{name:?}");
        }
    }

    #[test]
    fn allow_lifts_and_block_adds() {
        let b = list(&["rm", "mkfs.ext4"], &["date", "tool.*"]);
        assert_eq!(b.check(b"rm"), None);
        assert_eq!(b.check(b"mkfs.ext4"), None);
        assert!(b.check(b"mkfs.ext3").is_some(), "only the named member");
        assert!(b.check(b"rmdir").is_some());
        assert_eq!(
            category(&b, "date").as_deref(),
            Some("added with --block-command")
        );
        assert!(b.check(b"tool.x").is_some());
        assert!(b.check(b"dates").is_none());
    }

    #[test]
    fn block_wins_over_allow() {
        let b = list(&["date", "rm"], &["date", "rm"]);
        assert!(b.check(b"date").is_some());
        assert_eq!(
            category(&b, "rm").as_deref(),
            Some("added with --block-command")
        );
    }

    #[test]
    fn busybox_is_blocked_while_an_applet_is() {
        let b = list(&[], &[]);
        let c = category(&b, "busybox").unwrap();
        assert!(c.starts_with(MULTICALL_CATEGORY) && c.contains("rm"), "{c}");
        assert!(b.check(b"toybox").is_some());
        // Explicitly allowed.
        assert_eq!(list(&["busybox"], &[]).check(b"busybox"), None);
        // Every applet it provides allowed: nothing left to protect.
        let all: Vec<String> = b.multicall[0].provides.clone();
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        assert_eq!(list(&all, &[]).check(b"busybox"), None);
        // One left: still blocked, and the message names it.
        let c = category(&list(&all[1..], &[]), "busybox").unwrap();
        assert!(c.contains(all[0]), "{c}");
    }

    #[test]
    fn effective_list_hides_lifted_entries() {
        let b = list(&["rm", "pip"], &["date"]);
        let names: Vec<&str> = b.effective().iter().map(|e| e.pattern.as_str()).collect();
        assert!(!names.contains(&"rm") && !names.contains(&"pip") && !names.contains(&"pip3"));
        assert!(names.contains(&"rmdir") && names.contains(&"date"));
        assert!(names.contains(&"mkfs.*"));
    }

    #[test]
    fn bad_user_names_are_refused_with_the_flag() {
        let e = Blocklist::build(&[], &req(&["/usr/bin/rm"], "--block-command")).unwrap_err();
        assert!(e.starts_with("--block-command"), "{e}");
    }
}
