//! Run ids and times, in UTC, without a date library.

/// `YYYYMMDD-HHMMSS-mmm` for Unix time `ms` in milliseconds: short, and
/// sorted as text in the order the runs were taken.
pub fn run_id(ms: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(ms / 1000);
    format!("{y:04}{mo:02}{d:02}-{h:02}{mi:02}{s:02}-{:03}", ms % 1000)
}

/// `YYYY-MM-DD HH:MM:SS UTC`.
pub fn display(ms: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(ms / 1000);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02} UTC")
}

/// Unix seconds to (year, month, day, hour, minute, second), proleptic
/// Gregorian (the days-to-civil algorithm of H. Hinnant).
fn civil(secs: u64) -> (i64, u32, u32, u32, u32, u32) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
    )
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_utc_and_sortable() {
        assert_eq!(super::run_id(0), "19700101-000000-000");
        // 2026-12-01 16:05:09.042 UTC
        assert_eq!(super::run_id(1_796_141_109_042), "20261201-160509-042");
        assert_eq!(super::display(951_782_400_000), "2000-02-29 00:00:00 UTC");
        assert!(super::run_id(1_000) < super::run_id(999_999_999_000));
    }
}
