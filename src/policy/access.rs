//! Platform-neutral access rights.
//!
//! These are the rights the user speaks in (`--read`, `--allow`, ...). Each
//! backend maps them to its kernel's rights in exactly one place
//! (`sandbox::landlock::fs_rights`, `sandbox::seatbelt`).

use std::fmt;
use std::ops::{BitOr, BitOrAssign};

/// A set of platform-neutral access rights.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Access(u8);

impl Access {
    pub const NONE: Access = Access(0);
    /// Read files, list directories.
    pub const READ: Access = Access(1);
    /// Execute files (and use them as an ELF or `#!` interpreter).
    pub const EXECUTE: Access = Access(1 << 1);
    /// Write into existing files; create files, directories, links, fifos and
    /// sockets; move entries between directories that both have this right.
    pub const WRITE: Access = Access(1 << 2);
    /// Remove files and directories, rename or move entries away, truncate.
    pub const DELETE: Access = Access(1 << 3);
    /// ioctl on device files (terminals).
    pub const IOCTL: Access = Access(1 << 4);
    /// Part of DELETE: remove, rename away and truncate files, but not
    /// directories. Only the mount layer gives it on its own, to a carved
    /// directory whose protected entries are all covered by mounts
    /// (`sandbox::mountns`): moving a directory that holds such a mount
    /// aside would let a planted copy take its name.
    pub const DELETE_FILES: Access = Access(1 << 5);

    /// What `--read` grants.
    pub const READ_EXEC: Access = Access(Self::READ.0 | Self::EXECUTE.0);
    /// What `--allow` grants.
    pub const READ_WRITE: Access = Access(Self::READ.0 | Self::EXECUTE.0 | Self::WRITE.0);
    /// Everything (the private temporary directory).
    pub const ALL: Access = Access(0b1_1111);

    const NAMES: [(Access, &'static str); 6] = [
        (Self::READ, "read"),
        (Self::EXECUTE, "execute"),
        (Self::WRITE, "write"),
        (Self::DELETE, "delete"),
        (Self::IOCTL, "ioctl"),
        (Self::DELETE_FILES, "delete-files"),
    ];

    pub fn contains(self, other: Access) -> bool {
        self.0 & other.0 == other.0
    }

    /// True if the two sets share a right.
    pub fn intersects(self, other: Access) -> bool {
        self.0 & other.0 != 0
    }

    pub const fn union(self, other: Access) -> Access {
        Access(self.0 | other.0)
    }

    pub fn intersect(self, other: Access) -> Access {
        Access(self.0 & other.0)
    }

    /// This set without the rights in `other`.
    pub fn without(self, other: Access) -> Access {
        Access(self.0 & !other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The names of the rights in this set, in a fixed order.
    pub fn names(self) -> Vec<&'static str> {
        Self::NAMES
            .iter()
            .filter(|(a, _)| self.contains(*a))
            .map(|(_, n)| *n)
            .collect()
    }

    /// Short form for tables: `rxwd-` (`f` in the `d` column: files
    /// only, see DELETE_FILES).
    pub fn short(self) -> String {
        let letters = ['r', 'x', 'w', 'd', 'i'];
        Self::NAMES
            .iter()
            .zip(letters)
            .map(|((a, _), l)| {
                if self.contains(*a) {
                    l
                } else if l == 'd' && self.contains(Self::DELETE_FILES) {
                    'f'
                } else {
                    '-'
                }
            })
            .collect()
    }
}

impl BitOr for Access {
    type Output = Access;
    fn bitor(self, rhs: Access) -> Access {
        Access(self.0 | rhs.0)
    }
}

impl BitOrAssign for Access {
    fn bitor_assign(&mut self, rhs: Access) {
        self.0 |= rhs.0;
    }
}

impl fmt::Debug for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Access({})", self.short())
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        f.write_str(&self.names().join("+"))
    }
}

/// An operation a user can ask `nono why` about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Read,
    Write,
    Delete,
    Exec,
}

impl Op {
    pub fn needs(self) -> Access {
        match self {
            Op::Read => Access::READ,
            Op::Write => Access::WRITE,
            Op::Delete => Access::DELETE,
            Op::Exec => Access::EXECUTE,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Op::Read => "read",
            Op::Write => "write",
            Op::Delete => "delete",
            Op::Exec => "exec",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_names() {
        assert_eq!(Access::READ_WRITE.short(), "rxw--");
        assert_eq!(Access::ALL.short(), "rxwdi");
        assert_eq!(Access::READ_EXEC.to_string(), "read+execute");
        assert_eq!(Access::NONE.to_string(), "none");
        assert!(Access::ALL.contains(Access::DELETE));
        assert!(!Access::READ_WRITE.contains(Access::DELETE));
    }
}
