//! `dump` and `convert`: the commands that read elements, so need their type (`--type`),
//! run through [`types::with_type`](crate::types::with_type).

use std::io::{self, Write};
use std::path::Path;

use persistence::{Error, ErrorKind, OpenOptions};

use crate::types::{Elem, Job};

/// Why a typed command failed.
pub enum Failure {
    /// The library refused or failed.
    Lib(Error),
    /// Writing the output failed.
    Write(io::Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Lib(e)
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::Write(e)
    }
}

/// `dump`: prints committed elements `offset..offset + count` (as many as there are), one a
/// line.
pub struct Dump<'a> {
    /// The file.
    pub path: &'a Path,
    /// Its magic and version (the file's own unless given).
    pub opts: OpenOptions,
    /// The first element printed.
    pub offset: usize,
    /// At most this many; `None`: up to the committed length.
    pub count: Option<usize>,
    /// Where the lines go.
    pub out: &'a mut dyn Write,
}

/// What `dump` did.
pub struct Dumped {
    /// The committed length it read.
    pub len: usize,
    /// Whether a writer held the file, so that it was read beside it as a live reader.
    pub live: bool,
}

impl Dump<'_> {
    /// The indices to print of `len` committed elements.
    fn range(&self, len: usize) -> std::ops::Range<usize> {
        let start = self.offset.min(len);
        let end = match self.count {
            Some(n) => start.saturating_add(n).min(len),
            None => len,
        };
        start..end
    }
}

impl Job for Dump<'_> {
    type Out = Result<Dumped, Failure>;

    /// Opens the file read-only under a shared lock (`open_read_only`); when a writer holds
    /// it (`Locked`), as a live reader beside it (`open_live`): the elements of the last
    /// commit at the moment it opened.
    fn run<T: Elem>(self) -> Result<Dumped, Failure> {
        match self.opts.open_read_only::<T>(self.path) {
            Ok(slice) => {
                let range = self.range(slice.len());
                write_lines(slice[range].iter().copied(), self.out)?;
                Ok(Dumped {
                    len: slice.len(),
                    live: false,
                })
            }
            Err(e) if e.kind() == ErrorKind::Locked => {
                let reader = self.opts.open_live::<T>(self.path)?;
                let len = reader.len();
                write_lines(self.range(len).filter_map(|i| reader.get(i)), self.out)?;
                reader.close()?;
                Ok(Dumped { len, live: true })
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// Writes each element on a line of its own.
fn write_lines<T: Elem>(elems: impl Iterator<Item = T>, out: &mut dyn Write) -> io::Result<()> {
    for x in elems {
        writeln!(out, "{x:?}")?;
    }
    out.flush()
}

/// `convert`: `OpenOptions::convert_foreign::<T>(from, to)`.
pub struct Convert<'a> {
    /// The source.
    pub from: &'a Path,
    /// The destination (may be `from`).
    pub to: &'a Path,
    /// The source's magic and version (its own unless given).
    pub opts: OpenOptions,
}

impl Job for Convert<'_> {
    /// The number of elements written, and their size.
    type Out = Result<(usize, usize), Error>;

    fn run<T: Elem>(self) -> Result<(usize, usize), Error> {
        let n = self.opts.convert_foreign::<T>(self.from, self.to)?;
        Ok((n, std::mem::size_of::<T>()))
    }
}
