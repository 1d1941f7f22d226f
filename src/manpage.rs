//! The man page, generated from the same clap definitions as `--help`
//! (`nono man > ~/.local/share/man/man1/nono.1`).
//!
//! clap_mangen renders the top-level sections; each subcommand's options
//! are appended as a section of their own so one page documents everything.

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::{self, Exit};

const ENVIRONMENT: &str = r#".SH ENVIRONMENT
.TP
\fBNO_COLOR\fR
When set (to anything), output has no colour. Colour is only used when stdout is a terminal, and never with \fB\-\-json\fR.
.TP
\fBTMPDIR\fR
Where the per-run private temporary directories are created (\fI$TMPDIR/nono\-<uid>/run\-*\fR); inside the sandbox it names the run's own directory.
.TP
\fBNONO_LOG\fR
Log filter for \fB\-v\fR output on stderr.
"#;

/// Escapes text for roff: backslashes, and a leading `.` or `'`, which
/// would start a request.
fn roff(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    escaped
        .lines()
        .map(|l| {
            if l.starts_with('.') || l.starts_with('\'') {
                format!("\\&{l}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Markdown `code` spans as bold, the rest as roff text.
fn roff_markdown(text: &str) -> String {
    text.split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("\\fB{}\\fR", roff(part))
            } else {
                roff(part)
            }
        })
        .collect()
}

/// The EXIT STATUS section, from [`Exit`]: the same table as README's.
fn exit_status_section() -> String {
    let mut s = String::from(".SH \"EXIT STATUS\"\n");
    let (own, meaning) = error::COMMAND_OWN;
    s.push_str(&format!(
        ".TP\n\\fI{}\\fR\n{}\n",
        roff(own),
        roff_markdown(meaning)
    ));
    for e in Exit::ALL {
        s.push_str(&format!(
            ".TP\n\\fB{}\\fR\n{}\n",
            e.code(),
            roff_markdown(e.meaning())
        ));
    }
    s
}

fn subcommand_section(sub: &clap::Command) -> String {
    let mut s = format!(".SH \"NONO {}\"\n", sub.get_name().to_uppercase());
    if let Some(about) = sub.get_long_about().or(sub.get_about()) {
        s.push_str(&roff(&about.to_string()));
        s.push('\n');
    }
    for arg in sub.get_arguments() {
        if arg.is_hide_set() || arg.get_id() == "help" || arg.get_id() == "version" {
            continue;
        }
        let mut names = Vec::new();
        if let Some(c) = arg.get_short() {
            names.push(format!("\\fB\\-{c}\\fR"));
        }
        if let Some(l) = arg.get_long() {
            names.push(format!("\\fB\\-\\-{}\\fR", roff(l)));
        }
        let value = arg
            .get_value_names()
            .map(|v| {
                v.iter()
                    .map(|n| n.to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        let head = if names.is_empty() {
            format!("\\fI{}\\fR", roff(&value))
        } else if arg.get_action().takes_values() && !value.is_empty() {
            format!("{} \\fI{}\\fR", names.join(", "), roff(&value))
        } else {
            names.join(", ")
        };
        s.push_str(".TP\n");
        s.push_str(&head);
        s.push('\n');
        if let Some(help) = arg.get_long_help().or(arg.get_help()) {
            s.push_str(&roff(&help.to_string()));
            s.push('\n');
        }
        let values: Vec<String> = arg
            .get_possible_values()
            .iter()
            .filter(|v| !v.is_hide_set())
            .map(|v| v.get_name().to_string())
            .collect();
        if !values.is_empty() {
            s.push_str(".br\n");
            s.push_str(&format!("One of: {}.", roff(&values.join(", "))));
            if let Some(d) = arg.get_default_values().first() {
                s.push_str(&format!(" Default: {}.", roff(&d.to_string_lossy())));
            }
            s.push('\n');
        }
    }
    if let Some(after) = sub.get_after_help() {
        s.push_str(".PP\n.nf\n");
        s.push_str(&roff(&after.to_string()));
        s.push_str("\n.fi\n");
    }
    s
}

/// The whole page as roff.
pub fn render() -> std::io::Result<Vec<u8>> {
    let cmd = Cli::command();
    let mut out = Vec::new();
    let man = clap_mangen::Man::new(cmd.clone());
    // Not `render()`: its SUBCOMMANDS section points at nono-run(1) and
    // friends, which do not exist; the subcommands are sections here.
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        out.extend_from_slice(subcommand_section(sub).as_bytes());
    }
    out.extend_from_slice(exit_status_section().as_bytes());
    out.extend_from_slice(ENVIRONMENT.as_bytes());
    man.render_version_section(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roff_escapes_requests_and_backslashes() {
        assert_eq!(roff(".x\\y"), "\\&.x\\ey");
        assert_eq!(roff("a-b"), "a\\-b");
        assert_eq!(roff_markdown("`why`: no"), "\\fBwhy\\fR: no");
    }

    /// Every status of the enum is in the page, with its meaning.
    #[test]
    fn exit_status_section_lists_every_status() {
        let page = String::from_utf8(render().unwrap()).unwrap();
        for e in Exit::ALL {
            let entry = format!(
                ".TP\n\\fB{}\\fR\n{}\n",
                e.code(),
                roff_markdown(e.meaning())
            );
            assert!(page.contains(&entry), "missing: {entry}");
        }
        assert!(page.contains("the command's own"));
    }
}
