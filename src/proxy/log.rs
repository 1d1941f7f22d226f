//! `--net-log FILE`: one JSON line per connection attempt, and the refusal
//! summary printed when the run ends. Never a byte of payload: the line
//! holds the target, the verdict and the byte counts only.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An HTTP CONNECT tunnel (TLS and anything else).
    Connect,
    /// A plain `http://` request forwarded by the proxy.
    Http,
    /// A connection to an exposed host loopback port.
    Expose,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Connect => "connect",
            Kind::Http => "http",
            Kind::Expose => "expose",
        }
    }
}

/// One attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub time: SystemTime,
    pub kind: Kind,
    pub host: String,
    pub port: u16,
    /// `allowed`, `denied` or `error` (allowed, but failed).
    pub verdict: &'static str,
    pub reason: String,
    pub bytes_up: u64,
    pub bytes_down: u64,
}

impl Event {
    pub fn new(kind: Kind, host: &str, port: u16) -> Event {
        Event {
            time: SystemTime::now(),
            kind,
            host: host.to_string(),
            port,
            verdict: "error",
            reason: String::new(),
            bytes_up: 0,
            bytes_down: 0,
        }
    }

    /// The log line (without the newline).
    pub fn json(&self) -> String {
        serde_json::json!({
            "time": rfc3339(self.time),
            "kind": self.kind.name(),
            "host": self.host,
            "port": self.port,
            "verdict": self.verdict,
            "reason": self.reason,
            "bytes_up": self.bytes_up,
            "bytes_down": self.bytes_down,
        })
        .to_string()
    }
}

/// The log file, if any. Each line is written with one `write` on an
/// `O_APPEND` file, so lines from concurrent connections never interleave.
#[derive(Default)]
pub struct Log {
    file: Option<Mutex<File>>,
    /// Lines that could not be written (a full disk, a revoked file):
    /// reported when the run ends, so a gap in the log is never silent.
    lost: AtomicUsize,
}

impl Log {
    pub fn new(file: Option<File>) -> Log {
        Log {
            file: file.map(Mutex::new),
            lost: AtomicUsize::new(0),
        }
    }

    pub fn write(&self, ev: &Event) {
        let Some(f) = &self.file else { return };
        let mut line = ev.json();
        line.push('\n');
        let written = match f.lock() {
            Ok(mut f) => f.write_all(line.as_bytes()).is_ok(),
            Err(_) => false,
        };
        if !written {
            self.lost.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// How many lines could not be written.
    pub fn lost(&self) -> usize {
        self.lost.load(Ordering::Relaxed)
    }
}

/// `2026-12-01T16:03:41.123Z`, without a date library: days since the
/// epoch to a civil date (Howard Hinnant's algorithm).
pub fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// How many targets the summary names before "and N more".
const SUMMARY_TARGETS: usize = 10;

/// The end-of-run lines on stderr, or nothing when nothing was refused.
/// `targets`: `host:port` → (attempts, entry that would allow it).
pub fn summary(targets: &BTreeMap<String, (usize, String)>) -> Option<String> {
    if targets.is_empty() {
        return None;
    }
    let total: usize = targets.values().map(|(n, _)| n).sum();
    let mut names: Vec<&str> = targets
        .keys()
        .map(String::as_str)
        .take(SUMMARY_TARGETS)
        .collect();
    let more = targets.len().saturating_sub(SUMMARY_TARGETS);
    let mut list = names.join(", ");
    if more > 0 {
        list.push_str(&format!(", and {more} more"));
    }
    let plural = if total == 1 {
        "connection"
    } else {
        "connections"
    };
    let mut allow: Vec<&str> = targets.values().map(|(_, a)| a.as_str()).collect();
    allow.dedup();
    allow.truncate(SUMMARY_TARGETS);
    names.clear();
    let flags: Vec<String> = allow.iter().map(|a| format!("--allow-host {a}")).collect();
    Some(format!(
        "nono: refused {total} {plural}: {list}\nhint: to allow them: {}\n",
        flags.join(" ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_796_140_821_123);
        assert_eq!(rfc3339(t), "2026-12-01T16:00:21.123Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn lines_hold_the_target_and_counts_only() {
        let mut e = Event::new(Kind::Connect, "api.example.com", 443);
        e.time = UNIX_EPOCH;
        e.verdict = "allowed";
        e.bytes_up = 10;
        e.bytes_down = 20;
        assert_eq!(
            e.json(),
            r#"{"bytes_down":20,"bytes_up":10,"host":"api.example.com","kind":"connect","port":443,"reason":"","time":"1970-01-01T00:00:00.000Z","verdict":"allowed"}"#
        );
    }

    #[test]
    fn the_summary_names_targets_and_the_option() {
        assert_eq!(summary(&BTreeMap::new()), None);
        let mut t = BTreeMap::new();
        t.insert(
            "evil.example:443".to_string(),
            (2, "evil.example:443".to_string()),
        );
        t.insert(
            "meta.test:80".to_string(),
            (1, "169.254.169.254:80".to_string()),
        );
        assert_eq!(
            summary(&t).unwrap(),
            "nono: refused 3 connections: evil.example:443, meta.test:80\nhint: to allow them: --allow-host evil.example:443 --allow-host 169.254.169.254:80\n"
        );
    }
}
