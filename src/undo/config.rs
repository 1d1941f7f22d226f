//! Snapshot limits and retention: documented defaults, each settable by an
//! environment variable of the user running nono (outside the sandbox;
//! the sandboxed command cannot change what nono itself reads).

use super::UndoError;

/// Files larger than this are recorded (name, size, times) but not copied.
pub const DEFAULT_MAX_FILE: u64 = 64 << 20;
/// A snapshot of more entries than this is refused (strict) or cut
/// (best-effort): a grant of a whole disk by mistake would otherwise copy it.
pub const DEFAULT_MAX_ENTRIES: u64 = 1_000_000;
/// Retention: the newest runs kept.
pub const DEFAULT_KEEP_RUNS: usize = 20;
/// Retention: the objects the kept runs may hold, in bytes.
pub const DEFAULT_MAX_BYTES: u64 = 2 << 30;

#[derive(Clone, Debug)]
pub struct Limits {
    pub max_file: u64,
    pub max_entries: u64,
    pub keep_runs: usize,
    pub max_bytes: u64,
    /// Directory names not descended into.
    pub skip_names: Vec<String>,
    /// Flush the store to disk before a snapshot counts as taken
    /// (`NONO_UNDO_SYNC=1`; see `Store::commit`).
    pub durable: bool,
}

/// `data/skip.toml`'s names, compiled by `build.rs` (no run parses it).
static SKIP_NAMES: &[&str] = include!(concat!(env!("OUT_DIR"), "/skip.rs"));

/// `64M`, `2G`, `1024`, `512K` (binary units).
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last()? {
        (i, 'K' | 'k') => (&s[..i], 1u64 << 10),
        (i, 'M' | 'm') => (&s[..i], 1 << 20),
        (i, 'G' | 'g') => (&s[..i], 1 << 30),
        (i, 'T' | 't') => (&s[..i], 1 << 40),
        _ => (s, 1),
    };
    num.trim().parse::<u64>().ok()?.checked_mul(mult)
}

fn env_size(name: &'static str, default: u64) -> Result<u64, UndoError> {
    match std::env::var(name) {
        Ok(v) => parse_size(&v).ok_or(UndoError::BadSetting { name, value: v }),
        Err(_) => Ok(default),
    }
}

impl Limits {
    /// The defaults, overridden by `NONO_UNDO_MAX_FILE_SIZE`,
    /// `NONO_UNDO_MAX_ENTRIES`, `NONO_UNDO_KEEP_RUNS`, `NONO_UNDO_MAX_BYTES`.
    pub fn from_env() -> Result<Limits, UndoError> {
        Ok(Limits {
            max_file: env_size("NONO_UNDO_MAX_FILE_SIZE", DEFAULT_MAX_FILE)?,
            max_entries: env_size("NONO_UNDO_MAX_ENTRIES", DEFAULT_MAX_ENTRIES)?,
            keep_runs: env_size("NONO_UNDO_KEEP_RUNS", DEFAULT_KEEP_RUNS as u64)? as usize,
            max_bytes: env_size("NONO_UNDO_MAX_BYTES", DEFAULT_MAX_BYTES)?,
            skip_names: SKIP_NAMES.iter().map(|n| (*n).to_string()).collect(),
            durable: std::env::var("NONO_UNDO_SYNC").is_ok_and(|v| v == "1"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64M"), Some(64 << 20));
        assert_eq!(parse_size("2g"), Some(2 << 30));
        assert_eq!(parse_size("100"), Some(100));
        assert_eq!(parse_size("x"), None);
        assert_eq!(parse_size(""), None);
        assert_eq!(parse_size("99999999999T"), None);
    }

    #[test]
    fn the_skip_list_parses() {
        let l = Limits::from_env().unwrap();
        assert!(l.skip_names.iter().any(|n| n == "node_modules"));
        assert!(!l.skip_names.iter().any(|n| n == ".git" || n == ".cache"));
    }

    /// The compiled list is exactly `data/skip.toml`, parsed afresh.
    #[test]
    fn compiled_data_equals_the_toml() {
        let f: crate::test_support::schema::SkipFile =
            toml::from_str(include_str!("data/skip.toml")).unwrap();
        assert_eq!(f.names, SKIP_NAMES);
    }
}
