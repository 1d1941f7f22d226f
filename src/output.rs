//! Printing untrusted text (file names) safely.

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
            out.push_str(&format!("\\x{b:02x}"));
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

/// Colour for human output: on only when stdout is a terminal and
/// `NO_COLOR` is not set (to anything, even empty), never for `--json`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Style {
    color: bool,
}

impl Style {
    pub fn for_stdout() -> Style {
        use std::io::IsTerminal as _;
        Style {
            color: std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal(),
        }
    }

    /// Whether colour is on (clap's help is rendered to match).
    pub fn color(self) -> bool {
        self.color
    }

    #[cfg(test)]
    pub fn plain() -> Style {
        Style { color: false }
    }

    /// `text` in SGR colour `code`. The text must already be escaped: this
    /// only wraps it.
    fn paint(self, text: &str, code: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    pub fn good(self, text: &str) -> String {
        self.paint(text, "1;32")
    }
    pub fn bad(self, text: &str) -> String {
        self.paint(text, "1;31")
    }
    pub fn warn(self, text: &str) -> String {
        self.paint(text, "33")
    }
    pub fn bold(self, text: &str) -> String {
        self.paint(text, "1")
    }
    pub fn dim(self, text: &str) -> String {
        self.paint(text, "2")
    }
}

/// Quotes an already escaped path for a shell command line when it holds
/// characters the shell would interpret.
pub fn shell_word(escaped: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "/._-+,:@=%".contains(c);
    if !escaped.is_empty() && escaped.chars().all(safe) {
        escaped.to_string()
    } else {
        format!("'{}'", escaped.replace('\'', "'\\''"))
    }
}

fn push_escaped(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
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
    fn style_plain_adds_nothing_and_quoting_is_minimal() {
        assert_eq!(Style::plain().bad("x"), "x");
        assert_eq!(Style { color: true }.bad("x"), "\x1b[1;31mx\x1b[0m");
        assert_eq!(shell_word("/a/b.c"), "/a/b.c");
        assert_eq!(shell_word("/a b"), "'/a b'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
    }

    #[test]
    fn escapes_invalid_utf8_distinctly() {
        let p = Path::new(OsStr::from_bytes(b"/x/\xff"));
        assert_eq!(path(p), "/x/\\xff");
    }
}
