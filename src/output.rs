//! Printing untrusted text (file names) safely.

use std::fmt::Write as _;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Renders a path for a terminal: control characters and bytes that are
/// not UTF-8 are escaped (`\n`, `\u{1b}`, `\xff`), so a file name cannot
/// move the cursor, change colours or fake a line of nono's output, and two
/// different names never print the same.
pub fn path(p: &Path) -> String {
    let bytes = p.as_os_str().as_bytes();
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        push_escaped(&mut out, chunk.valid());
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// Escapes control characters in text that may hold untrusted parts.
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_escaped(&mut out, s);
    out
}

fn push_escaped(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn escapes_terminal_control() {
        assert_eq!(path(Path::new("/a/\u{1b}[31mred")), "/a/\\u{1b}[31mred");
        assert_eq!(path(Path::new("/a\nb")), "/a\\nb");
        assert_eq!(path(Path::new("/plain/ü")), "/plain/ü");
        assert_eq!(path(Path::new("/a\\nb")), "/a\\\\nb");
    }

    #[test]
    fn escapes_invalid_utf8_distinctly() {
        let p = Path::new(OsStr::from_bytes(b"/x/\xff"));
        assert_eq!(path(p), "/x/\\xff");
    }
}
