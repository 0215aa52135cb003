//! Commit groups: several vectors (the columns of a struct of arrays, an index beside its
//! data) in one file, committed by one `sync`, atomically, and read together live
//! (`docs/design.md`, "Commit groups"; `docs/guide.md`, "Commit groups").
//!
//! * [`Group<C>`]: the writer, for a tuple `C` of 1 to 12 [`Pod`] types; each column is a
//!   [`Column<T>`], an [`MmapedVec`] with the whole `Vec` API but no commit of its own.
//! * [`GroupSlice<C>`]: a snapshot, under a shared lock (as [`MmapedSlice`](crate::MmapedSlice)).
//! * [`LiveGroup<C>`] (`live.rs`): a reader beside the writer, which sees every column at
//!   one generation.

#![allow(unsafe_code)]

use core::fmt;
use core::marker::PhantomData;
use core::mem::ManuallyDrop;
use core::ptr;

use crate::error::{Error, ErrorKind, Result};
use crate::format::group::{ColumnType, GroupLayout, MAX_COLUMNS};
use crate::options::OpenOptions;
use crate::path::PathArg;
use crate::pod::{assert_storable, Pod};
use crate::region::{ColumnCommit, ColumnRegion, GroupOptions, GroupRegion};
use crate::storage::GroupColumn;
use crate::vec::MmapedVec;

mod live;

pub use live::{LiveColumn, LiveGroup};

/// One column of a [`Group`]: an [`MmapedVec`] whose elements live in the group's file. It
/// has the whole `Vec` API (`push`, `extend_from_slice`, `truncate`, indexing, slices…) but
/// commits only with its group ([`Group::sync`]): it has no `sync` or `close` of its own, and
/// dropping one commits nothing. [`shrink_to_fit`](MmapedVec::shrink_to_fit) keeps the
/// capacity (a group's file never gets shorter: live readers map it without a lock).
pub type Column<T> = MmapedVec<T, GroupColumn>;

/// The column types of a [`Group`]: tuples of 1 to 12 [`Pod`] types, `(A,)` to
/// `(A, B, C, D, E, F, G, H, I, J, K, L)`. Sealed.
pub trait Columns: sealed::Tuple {}

pub(crate) mod sealed {
    use super::*;

    /// What a group needs of its tuple of column types. Its functions name crate-private
    /// types; the trait is reachable from outside (as `Columns`'s supertrait) but not
    /// nameable, so none of them can be called there (`private_interfaces` allowed for it).
    #[allow(private_interfaces)]
    pub trait Tuple: Copy + 'static {
        /// The typed columns, as a writer holds them: `(Column<A>, Column<B>, …)`.
        type Store;
        /// How many columns.
        const N: usize;
        /// The group's layout with this identity.
        fn layout(magic: [u8; 8], version: u32) -> GroupLayout;
        /// Every column of `region`, typed.
        fn open(region: &GroupRegion) -> Result<Self::Store>;
        /// Every column's length.
        fn lens(store: &Self::Store) -> [usize; MAX_COLUMNS];
        /// Commits every column through `region`; on success, every column's changes are
        /// the committed state.
        fn commit(store: &mut Self::Store, region: &mut GroupRegion) -> Result<()>;
        /// Truncates every column to at most `n`.
        fn truncate(store: &mut Self::Store, n: usize);
        /// Grows every column to at least `capacity`, exactly.
        fn reserve_exact(store: &mut Self::Store, capacity: usize) -> Result<()>;
    }
}

impl OpenOptions {
    /// The region layer's options for a group of `C`.
    fn group_options<C: Columns>(&self, write: bool) -> GroupOptions {
        let r = self.region_options::<u8>(write);
        GroupOptions {
            write,
            create: r.create,
            create_new: r.create_new,
            mode: r.mode,
            wait_for_lock: r.wait_for_lock,
            capacity: r.capacity,
            copy_on_write: r.copy_on_write,
            huge_pages: r.huge_pages,
            layout: C::layout(r.layout.app_magic, r.layout.app_version),
        }
    }

    /// Opens (creating it if missing, as [`create`](Self::create) says) the commit group at
    /// `path` for writing, under an exclusive lock: one file holding a column per type of
    /// the tuple `C`. Every option applies as for one vector; [`capacity`](Self::capacity)
    /// is each column's.
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open) (`Locked`, `NotFound`, `BadMagic`, `MagicMismatch`,
    /// `VersionMismatch`, `Corrupt`, …); [`ErrorKind::WrongFileKind`] for a vector's file;
    /// [`ErrorKind::LayoutMismatch`] when the file has another number of columns or a column
    /// of another size or alignment, [`ErrorKind::TypeMismatch`] for a column of another
    /// type of the same size ([`Error::column`] says which column).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("trades.bin");
    /// use persistence::{ErrorKind, Group, OpenOptions};
    ///
    /// let opts = *OpenOptions::new().magic(*b"TRADES\0\0").version(1);
    /// let mut g: Group<(u64, f64)> = opts.open_group(&path)?;
    /// g.push_row((1, 101.5))?;
    /// g.close()?;
    ///
    /// let err = opts.open_group::<(u64, u64)>(&path).unwrap_err();
    /// assert_eq!((err.kind(), err.column()), (ErrorKind::TypeMismatch, Some(1)));
    /// # Ok(()) }
    /// ```
    pub fn open_group<C: Columns>(&self, path: impl PathArg) -> Result<Group<C>> {
        let opts = self.group_options::<C>(true);
        let region = path.with_c_path(|p| GroupRegion::open(p, &opts))?;
        let mut store = C::open(&region)?;
        if opts.capacity > 0 {
            C::reserve_exact(&mut store, opts.capacity)?;
        }
        Ok(Group {
            store,
            region,
            commit_on_drop: self.commits_on_drop(),
        })
    }

    /// Opens the commit group at `path` as a read-only snapshot under a shared lock, as
    /// [`open_read_only`](Self::open_read_only) opens a vector: many at once, no writer
    /// meanwhile; it shows the commit found on open. Never creates or writes the file.
    ///
    /// # Errors
    ///
    /// As [`open_group`](Self::open_group); a missing file is `NotFound`, a held writer's
    /// lock `Locked`.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("trades.bin");
    /// use persistence::{Group, OpenOptions};
    ///
    /// let mut g = Group::<(u64, f64)>::open(&path)?;
    /// g.push_row((1, 101.5))?;
    /// g.push_row((2, 102.0))?;
    /// g.close()?;
    ///
    /// let s = OpenOptions::new().open_group_read_only::<(u64, f64)>(&path)?;
    /// let (time, price) = s.columns();
    /// assert_eq!((time, price), (&[1, 2][..], &[101.5, 102.0][..]));
    /// # Ok(()) }
    /// ```
    pub fn open_group_read_only<C: Columns>(&self, path: impl PathArg) -> Result<GroupSlice<C>> {
        let opts = GroupOptions {
            create: false,
            create_new: false,
            capacity: 0,
            ..self.group_options::<C>(false)
        };
        let region = path.with_c_path(|p| GroupRegion::open(p, &opts))?;
        let mut columns: [Option<ColumnRegion>; MAX_COLUMNS] = core::array::from_fn(|_| None);
        for (k, c) in columns.iter_mut().enumerate().take(C::N) {
            *c = Some(region.column(k)?);
        }
        Ok(GroupSlice {
            columns,
            region,
            _marker: PhantomData,
        })
    }
}

/// A commit group: a column per type of the tuple `C` (1 to 12 [`Pod`] types), all in one
/// file, committed together by one [`sync`](Self::sync), atomically. After a crash or power
/// loss the group opens with every column at its length of one commit, never a mix.
///
/// ```
/// # fn main() -> Result<(), persistence::Error> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("trades.bin");
/// use persistence::{Group, LiveGroup, OpenOptions};
///
/// let opts = *OpenOptions::new().magic(*b"TRADES\0\0").version(1);
/// let mut g: Group<(u64, f64, u32)> = opts.open_group(&path)?; // created if missing
/// {
///     let (time, price, qty) = g.columns_mut(); // (&mut Column<u64>, &mut Column<f64>, &mut Column<u32>)
///     time.push(1)?; // each column has MmapedVec's Vec API and derefs to [T]
///     price.push(101.5)?;
///     qty.extend_from_slice(&[10])?;
/// }
/// g.sync()?; // one commit: every column's length, atomically
/// assert_eq!(g.generation(), 1);
/// let (time, price, qty) = g.columns(); // (&[u64], &[f64], &[u32])
/// assert_eq!((time, price, qty), (&[1][..], &[101.5][..], &[10][..]));
///
/// let mut r: LiveGroup<(u64, f64, u32)> = opts.open_group_live(&path)?; // any process, any order
/// r.refresh()?; // true when a new generation is visible
/// let (time, price, qty) = r.columns(); // each: len(), get(i), iter(), copy_to(start, buf)
/// assert_eq!((time.get(0), price.get(0), qty.len()), (Some(1), Some(101.5), 1));
/// # Ok(()) }
/// ```
///
/// # Guarantees
///
/// * **Atomic.** [`sync`](Self::sync) commits every column's length with one commit record;
///   a crash at any instant leaves the group at generation G or G + 1, every column alike.
///   No column commits alone ([`Column<T>`] has no `sync`).
/// * **Durable** exactly at `sync`, as a vector: element data first (one `fdatasync` for
///   every column), then the commit record in one 512-byte sector, then its flush.
/// * **Drop** commits like `sync` (errors ignored), unless
///   [`commit_on_drop(false)`](OpenOptions::commit_on_drop) or, with `std`, the thread is
///   panicking: a panic between two columns' pushes never commits half a row.
/// * **Full disk**: [`ErrorKind::OutOfSpace`] from the `push` that grows a column; the
///   group stays usable.
/// * **Locking** as a vector: an exclusive `flock`; [`LiveGroup`] readers beside it.
/// * **No heap**, no `std` needed.
pub struct Group<C: Columns> {
    // Declared first, so dropped first: the columns unmap and close their descriptors
    // before the group's region unlocks.
    store: C::Store,
    region: GroupRegion,
    commit_on_drop: bool,
}

impl<C: Columns> Group<C> {
    /// Opens the group at `path`, creating it if missing; as
    /// [`OpenOptions::new().open_group(path)`](OpenOptions::open_group).
    ///
    /// # Errors
    ///
    /// As [`OpenOptions::open_group`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("points.bin");
    /// use persistence::Group;
    ///
    /// let mut g = Group::<(f32, f32)>::open(&path)?;
    /// g.push_row((0.5, 1.5))?;
    /// g.close()?;
    /// assert_eq!(Group::<(f32, f32)>::open(&path)?.get_row(0), Some((0.5, 1.5)));
    /// # Ok(()) }
    /// ```
    pub fn open(path: impl PathArg) -> Result<Self> {
        OpenOptions::new().open_group(path)
    }

    /// The generation of the last commit: 0 for a new group, then one more for each
    /// [`sync`](Self::sync) that changed a length (it may skip a number after a failed
    /// `sync`). A `sync` of in-place changes only keeps the generation.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let mut g = persistence::Group::<(u8,)>::open(dir.path().join("g.bin"))?;
    /// assert_eq!(g.generation(), 0);
    /// g.push_row((1,))?;
    /// g.sync()?;
    /// g.sync()?; // nothing new: the same generation
    /// assert_eq!(g.generation(), 1);
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn generation(&self) -> u64 {
        self.region.generation()
    }

    /// What the open found beyond the commit it opened to (as
    /// [`MmapedVec::open_report`]): whether it fell back to the older generation because the
    /// newest commit record was damaged.
    #[must_use]
    pub fn open_report(&self) -> crate::report::OpenReport {
        self.region.open_report()
    }

    /// Commits every column at once: when it returns `Ok`, every column's elements below its
    /// length and every length are durable, and a reopen after any crash shows at least this
    /// generation. The steps and why a crash at any instant leaves generation G or G + 1:
    /// `docs/design.md`, "Commit groups".
    ///
    /// # Errors
    ///
    /// As [`MmapedVec::sync`]: writing the data fails for this and every later `sync`
    /// (reopen to go on); writing or flushing the record leaves the previous generation, or
    /// this one in the page cache, as for a vector. [`ErrorKind::ForeignColumn`] when a
    /// column was swapped with another group's.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("g.bin");
    /// use persistence::{inspect, Group};
    ///
    /// let mut g = Group::<(u64, u32)>::open(&path)?;
    /// g.columns_mut().0.extend_from_slice(&[1, 2, 3])?;
    /// assert_eq!(inspect(&path)?.columns[0].len, 0); // not committed yet
    /// g.sync()?;
    /// assert_eq!(inspect(&path)?.columns[0].len, 3);
    /// # Ok(()) }
    /// ```
    pub fn sync(&mut self) -> Result<()> {
        C::commit(&mut self.store, &mut self.region)
    }

    /// Every column's length, when they are all the same: the number of rows.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::UnequalLengths`] when they differ.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let mut g = persistence::Group::<(u8, u16)>::open(dir.path().join("g.bin"))?;
    /// g.push_row((1, 2))?;
    /// assert_eq!(g.rows()?, 1);
    /// g.columns_mut().0.push(3)?;
    /// assert_eq!(g.rows().unwrap_err().kind(), persistence::ErrorKind::UnequalLengths);
    /// # Ok(()) }
    /// ```
    pub fn rows(&self) -> Result<usize> {
        let lens = C::lens(&self.store);
        let n = lens[0];
        match lens[..C::N].iter().position(|&l| l != n) {
            None => Ok(n),
            Some(k) => Err(Error::mismatch(
                ErrorKind::UnequalLengths,
                "column length, against column 0's",
                lens[k] as u64,
                n as u64,
            )
            .in_column(k)),
        }
    }

    /// Commits like [`sync`](Self::sync), but only when every column has the same length:
    /// for groups whose columns are the fields of one row.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::UnequalLengths`] (nothing committed) when the lengths differ; else as
    /// `sync`.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let mut g = persistence::Group::<(u8, u16)>::open(dir.path().join("g.bin"))?;
    /// g.columns_mut().0.push(1)?; // half a row
    /// assert!(g.sync_rows().is_err());
    /// g.columns_mut().1.push(2)?;
    /// g.sync_rows()?;
    /// # Ok(()) }
    /// ```
    pub fn sync_rows(&mut self) -> Result<()> {
        self.rows()?;
        self.sync()
    }

    /// Truncates every column to at most `n` elements (rows), as `Vec::truncate`.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let mut g = persistence::Group::<(u8, u16)>::open(dir.path().join("g.bin"))?;
    /// for i in 0..5 {
    ///     g.push_row((i, u16::from(i) * 10))?;
    /// }
    /// g.truncate_rows(2);
    /// assert_eq!(g.columns(), (&[0, 1][..], &[0, 10][..]));
    /// # Ok(()) }
    /// ```
    pub fn truncate_rows(&mut self, n: usize) {
        C::truncate(&mut self.store, n);
    }

    /// Commits like [`sync`](Self::sync), then unmaps, unlocks and closes, reporting any
    /// error (which `Drop` cannot).
    ///
    /// # Errors
    ///
    /// The error of the commit, or of `flock(LOCK_UN)`. The file is closed either way.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("g.bin");
    /// use persistence::Group;
    ///
    /// let mut g = Group::<(u32,)>::open(&path)?;
    /// g.push_row((7,))?;
    /// g.close()?;
    /// assert_eq!(Group::<(u32,)>::open(&path)?.columns().0, &[7]);
    /// # Ok(()) }
    /// ```
    pub fn close(mut self) -> Result<()> {
        let synced = self.sync();
        let this = ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again, so each field is moved out of it
        // exactly once, and dropped (or closed) exactly once: the columns first, as a drop
        // would.
        let (store, region) = unsafe { (ptr::read(&this.store), ptr::read(&this.region)) };
        drop(store);
        synced.and(region.close())
    }
}

impl<C: Columns> Drop for Group<C> {
    /// Commits like [`sync`](Group::sync), ignoring errors (use [`close`](Group::close) to
    /// see them), unless [`commit_on_drop(false)`](OpenOptions::commit_on_drop) or (with
    /// `std`) the thread is panicking; then unmaps and unlocks.
    fn drop(&mut self) {
        if self.commit_on_drop && !crate::storage::panicking() {
            let _ = self.sync();
        }
    }
}

impl<C: Columns> fmt::Debug for Group<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Group")
            .field("columns", &C::N)
            .field("lens", &&C::lens(&self.store)[..C::N])
            .field("generation", &self.generation())
            .finish()
    }
}

/// A read-only snapshot of a commit group, under a shared `flock` lock (many at once, no
/// writer meanwhile), as [`MmapedSlice`](crate::MmapedSlice) is of a vector: every column at
/// the generation found on open. Made by
/// [`OpenOptions::open_group_read_only`].
pub struct GroupSlice<C: Columns> {
    columns: [Option<ColumnRegion>; MAX_COLUMNS],
    region: GroupRegion,
    _marker: PhantomData<C>,
}

impl<C: Columns> GroupSlice<C> {
    /// The generation the snapshot shows.
    #[must_use]
    pub fn generation(&self) -> u64 {
        self.region.generation()
    }

    /// What the open found beyond the commit it opened to (as [`Group::open_report`]).
    #[must_use]
    pub fn open_report(&self) -> crate::report::OpenReport {
        self.region.open_report()
    }

    /// Column `k`'s elements.
    ///
    /// # Safety
    ///
    /// `T` is column `k`'s type.
    unsafe fn column<T: Pod>(&self, k: usize) -> &[T] {
        match &self.columns[k] {
            // SAFETY: the column maps (read-only) the blocks of its committed length, which
            // stay in place while `self` is borrowed; its elements are `T`s (the caller's
            // contract, the header checked on open), aligned (blocks start at 2 MiB
            // boundaries), and every bit pattern is a valid `T`.
            Some(c) => unsafe {
                core::slice::from_raw_parts(
                    c.data_ptr().as_ptr().cast::<T>(),
                    self.region.committed_len(k),
                )
            },
            None => &[],
        }
    }
}

impl<C: Columns> fmt::Debug for GroupSlice<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupSlice")
            .field("columns", &C::N)
            .field("generation", &self.generation())
            .finish()
    }
}

/// Implements [`Columns`] and the typed accessors of [`Group`], [`GroupSlice`] and
/// [`LiveGroup`] for each tuple.
macro_rules! tuples {
    ($( ($($T:ident $i:tt),+) )+) => {$(
        impl<$($T: Pod),+> Columns for ($($T,)+) {}

        #[allow(private_interfaces)]
        impl<$($T: Pod),+> sealed::Tuple for ($($T,)+) {
            type Store = ($(Column<$T>,)+);
            const N: usize = [$(stringify!($T)),+].len();

            fn layout(magic: [u8; 8], version: u32) -> GroupLayout {
                let mut types = [ColumnType::default(); MAX_COLUMNS];
                $(
                    assert_storable::<$T>();
                    types[$i] = ColumnType {
                        size: core::mem::size_of::<$T>() as u64,
                        align: core::mem::align_of::<$T>() as u64,
                        fingerprint: $T::FINGERPRINT.to_u64(),
                    };
                )+
                GroupLayout::new(magic, version, Self::N, types)
            }

            fn open(region: &GroupRegion) -> Result<Self::Store> {
                Ok(($(MmapedVec::<$T, GroupColumn>::from_storage(GroupColumn(region.column($i)?)),)+))
            }

            fn lens(store: &Self::Store) -> [usize; MAX_COLUMNS] {
                let mut lens = [0; MAX_COLUMNS];
                $( lens[$i] = store.$i.len(); )+
                lens
            }

            fn commit(store: &mut Self::Store, region: &mut GroupRegion) -> Result<()> {
                let mut parts = [$(ColumnCommit {
                    region: &mut store.$i.raw.0,
                    len: store.$i.len,
                    dirty_from: store.$i.dirty_from,
                }),+];
                region.commit(&mut parts)?;
                $( store.$i.dirty_from = store.$i.len; )+
                Ok(())
            }

            fn truncate(store: &mut Self::Store, n: usize) {
                $( store.$i.truncate(n); )+
            }

            fn reserve_exact(store: &mut Self::Store, capacity: usize) -> Result<()> {
                $(
                    let c = &mut store.$i;
                    let more = capacity.saturating_sub(c.len());
                    c.reserve_exact(more).map_err(|e| e.in_column($i))?;
                )+
                Ok(())
            }
        }

        impl<$($T: Pod),+> Group<($($T,)+)> {
            /// Every column, to change: `(&mut Column<A>, &mut Column<B>, …)`. Each has the
            /// `Vec` API of [`MmapedVec`]; none commits alone.
            ///
            /// # Examples
            ///
            /// ```
            /// # fn main() -> Result<(), persistence::Error> {
            /// # let dir = tempfile::tempdir().unwrap();
            /// # let mut g = persistence::Group::<(u64, f64)>::open(dir.path().join("g.bin"))?;
            /// let (ids, values) = g.columns_mut();
            /// ids.extend_from_slice(&[1, 2])?;
            /// values.push(0.5)?;
            /// values[0] *= 2.0;
            /// g.sync()?;
            /// # Ok(()) }
            /// ```
            pub fn columns_mut(&mut self) -> ($(&mut Column<$T>,)+) {
                ($(&mut self.store.$i,)+)
            }

            /// Every column's elements: `(&[A], &[B], …)`.
            #[must_use]
            pub fn columns(&self) -> ($(&[$T],)+) {
                ($(&self.store.$i[..],)+)
            }

            /// Appends one element to every column, all or none: the capacity of each is
            /// made first, so that on an error (a full disk) no column changed length.
            ///
            /// # Errors
            ///
            /// As [`MmapedVec::push`] ([`Error::column`] says which column could not grow).
            ///
            /// # Examples
            ///
            /// ```
            /// # fn main() -> Result<(), persistence::Error> {
            /// # let dir = tempfile::tempdir().unwrap();
            /// # let mut g = persistence::Group::<(u64, f64)>::open(dir.path().join("g.bin"))?;
            /// g.push_row((1, 0.5))?;
            /// assert_eq!(g.get_row(0), Some((1, 0.5)));
            /// # Ok(()) }
            /// ```
            pub fn push_row(&mut self, row: ($($T,)+)) -> Result<()> {
                $( self.store.$i.reserve(1).map_err(|e| e.in_column($i))?; )+
                $( self.store.$i.push(row.$i)?; )+
                Ok(())
            }

            /// Element `index` of every column, when every column has one.
            #[must_use]
            pub fn get_row(&self, index: usize) -> Option<($($T,)+)> {
                Some(($(*self.store.$i.get(index)?,)+))
            }
        }

        impl<$($T: Pod),+> GroupSlice<($($T,)+)> {
            /// Every column's elements: `(&[A], &[B], …)`.
            #[must_use]
            pub fn columns(&self) -> ($(&[$T],)+) {
                // SAFETY: column `$i` of this group holds `$T`s (the tuple's type, which the
                // header was checked against on open).
                ($(unsafe { self.column::<$T>($i) },)+)
            }

            /// Element `index` of every column, when every column has one.
            #[must_use]
            pub fn get_row(&self, index: usize) -> Option<($($T,)+)> {
                let c = self.columns();
                Some(($(*c.$i.get(index)?,)+))
            }
        }

        impl<$($T: Pod),+> LiveGroup<($($T,)+)> {
            /// Every column at the adopted generation: `(LiveColumn<A>, LiveColumn<B>, …)`,
            /// each with `len`, `get`, `iter` and `copy_to`.
            #[must_use]
            pub fn columns(&self) -> ($(LiveColumn<'_, $T>,)+) {
                // SAFETY: column `$i` holds `$T`s (checked on open).
                ($(unsafe { self.column::<$T>($i) },)+)
            }

            /// Element `index` of every column at the adopted generation, when every column
            /// has one.
            #[must_use]
            pub fn get_row(&self, index: usize) -> Option<($($T,)+)> {
                let c = self.columns();
                Some(($(c.$i.get(index)?,)+))
            }
        }
    )+};
}

tuples! {
    (A 0)
    (A 0, B 1)
    (A 0, B 1, C 2)
    (A 0, B 1, C 2, D 3)
    (A 0, B 1, C 2, D 3, E 4)
    (A 0, B 1, C 2, D 3, E 4, F 5)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11)
}
