//! Copying elements out of memory that another process may be writing (a live reader's
//! mapping), fast and without tearing an element of 1, 2, 4 or 8 bytes (`docs/design.md`,
//! "Reader reads").
//!
//! A Rust load of memory that another thread or process writes at the same time is a data
//! race unless it is atomic or volatile; a volatile load per element keeps elements whole
//! but is never vectorised (2.4 times a plain scan, issue 21). Here the bulk of a copy is an
//! inline-assembly loop of 16-byte loads from 16-byte-aligned addresses (`movdqa` on x86_64,
//! `ldp` of `q` registers on aarch64): assembly reads memory as the hardware does, outside
//! Rust's memory model, so there is no race to speak of, and the hardware reads each aligned
//! 8-byte half of an aligned 16-byte load in one piece (Intel SDM vol. 3A, 9.1.1: aligned
//! quadword accesses are atomic, and wider SSE accesses are made of such; Arm ARM B2.2.1: a
//! 128-bit SIMD load that is 64-bit aligned is a pair of single-copy-atomic 64-bit reads).
//! The edges, before the first 16-byte boundary and after the last whole 64 bytes, are
//! volatile loads of the widest naturally aligned integer that fits (8, 4, 2 or 1 bytes).
//! An element of 1, 2, 4 or 8 bytes lies at an address aligned to its size, hence inside one
//! aligned 8-byte quadword, and every such quadword is read by one atomic access: no element
//! of those sizes is ever torn. Wider elements may be (as the live readers document).
//!
//! Elsewhere (other architectures, and under Miri, which cannot run assembly) the copy is
//! the edge loop alone: volatile loads of up to 8 bytes.

#![allow(unsafe_code)]

use core::ptr;

/// Copies `len` bytes from `src` to `dst` as the module docs say: every naturally aligned
/// 1-, 2-, 4- or 8-byte unit of `src` is read by one access.
///
/// # Safety
///
/// `src` is readable and `dst` writable for `len` bytes, they do not overlap, and nothing
/// else writes `dst` meanwhile (`src` may be written by others: it is only read by volatile
/// loads and assembly).
pub(crate) unsafe fn copy_shared(src: *const u8, dst: *mut u8, len: usize) {
    let (mut s, mut d, mut n) = (src, dst, len);
    if bulk_available() && n >= 64 + 16 {
        // Head: up to the first 16-byte boundary of the source.
        let head = (16 - (s as usize) % 16) % 16;
        // SAFETY: `head < 16 <= n`: within both ranges (the caller's contract).
        unsafe { edges(s, d, head) };
        // SAFETY: as above: `head` bytes lie within both ranges.
        (s, d, n) = unsafe { (s.add(head), d.add(head), n - head) };
        let body = n / 64 * 64;
        // SAFETY: `s` is 16-byte aligned and `body <= n` bytes from `s` and `d` lie within
        // the caller's ranges; `body` is a positive multiple of 64.
        unsafe { bulk(s, d, body) };
        // SAFETY: `body <= n`.
        (s, d, n) = unsafe { (s.add(body), d.add(body), n - body) };
    }
    // SAFETY: the rest of both ranges.
    unsafe { edges(s, d, n) };
}

/// Whether this build has the assembly loop.
const fn bulk_available() -> bool {
    cfg!(all(
        any(target_arch = "x86_64", target_arch = "aarch64"),
        not(miri)
    ))
}

/// Copies `n` bytes with volatile loads of the widest naturally aligned integer that fits
/// at each source address (8, 4, 2 or 1 bytes), and plain stores.
///
/// # Safety
///
/// As [`copy_shared`].
#[inline]
unsafe fn edges(mut s: *const u8, mut d: *mut u8, mut n: usize) {
    while n > 0 {
        let a = s as usize;
        // SAFETY: in each arm the load is aligned to its width (checked) and within the `n`
        // bytes left; the store writes the same bytes, unaligned, to the destination.
        let w = unsafe {
            if a % 8 == 0 && n >= 8 && cfg!(target_pointer_width = "64") {
                ptr::write_unaligned(d.cast::<u64>(), ptr::read_volatile(s.cast::<u64>()));
                8
            } else if a % 4 == 0 && n >= 4 {
                ptr::write_unaligned(d.cast::<u32>(), ptr::read_volatile(s.cast::<u32>()));
                4
            } else if a % 2 == 0 && n >= 2 {
                ptr::write_unaligned(d.cast::<u16>(), ptr::read_volatile(s.cast::<u16>()));
                2
            } else {
                d.write(ptr::read_volatile(s));
                1
            }
        };
        // SAFETY: `w <= n`: still within both ranges (or one past their end).
        (s, d, n) = unsafe { (s.add(w), d.add(w), n - w) };
    }
}

/// 64 bytes at a time: four 16-byte aligned loads, four stores.
///
/// # Safety
///
/// `s` is 16-byte aligned; `s` readable and `d` writable for `n` bytes, a positive multiple
/// of 64; no overlap.
#[cfg(all(target_arch = "x86_64", not(miri)))]
#[inline]
unsafe fn bulk(s: *const u8, d: *mut u8, n: usize) {
    debug_assert!(n >= 64 && n % 64 == 0 && s as usize % 16 == 0);
    // SAFETY: SSE2 is part of x86_64. The loop reads `n` bytes from `s` with aligned
    // `movdqa` (aligned by the caller's contract) and writes them to `d` with `movdqu`, all
    // within the caller's ranges; it uses no stack and clobbers only the named registers and
    // the flags (so not `preserves_flags`).
    unsafe {
        core::arch::asm!(
            "2:",
            "movdqa {x0}, xmmword ptr [{s}]",
            "movdqa {x1}, xmmword ptr [{s} + 16]",
            "movdqa {x2}, xmmword ptr [{s} + 32]",
            "movdqa {x3}, xmmword ptr [{s} + 48]",
            "movdqu xmmword ptr [{d}], {x0}",
            "movdqu xmmword ptr [{d} + 16], {x1}",
            "movdqu xmmword ptr [{d} + 32], {x2}",
            "movdqu xmmword ptr [{d} + 48], {x3}",
            "add {s}, 64",
            "add {d}, 64",
            "sub {n}, 64",
            "jnz 2b",
            s = inout(reg) s => _,
            d = inout(reg) d => _,
            n = inout(reg) n => _,
            x0 = out(xmm_reg) _,
            x1 = out(xmm_reg) _,
            x2 = out(xmm_reg) _,
            x3 = out(xmm_reg) _,
            options(nostack),
        );
    }
}

/// As the x86_64 version, with `ldp`/`stp` of `q` registers.
///
/// # Safety
///
/// As the x86_64 version.
#[cfg(all(target_arch = "aarch64", not(miri)))]
#[inline]
unsafe fn bulk(s: *const u8, d: *mut u8, n: usize) {
    debug_assert!(n >= 64 && n % 64 == 0 && s as usize % 16 == 0);
    // SAFETY: Advanced SIMD is part of aarch64. The loop reads `n` bytes from `s` with
    // post-indexed `ldp` of two 16-byte registers (each from a 16-byte aligned address) and
    // writes them to `d` with `stp`, all within the caller's ranges; no stack; it clobbers
    // only the named registers and the flags.
    unsafe {
        core::arch::asm!(
            "2:",
            "ldp {a:q}, {b:q}, [{s}], #32",
            "ldp {c:q}, {e:q}, [{s}], #32",
            "stp {a:q}, {b:q}, [{d}], #32",
            "stp {c:q}, {e:q}, [{d}], #32",
            "subs {n}, {n}, #64",
            "b.ne 2b",
            s = inout(reg) s => _,
            d = inout(reg) d => _,
            n = inout(reg) n => _,
            a = out(vreg) _,
            b = out(vreg) _,
            c = out(vreg) _,
            e = out(vreg) _,
            options(nostack),
        );
    }
}

/// Never called where [`bulk_available`] is false.
///
/// # Safety
///
/// None needed: it is never called.
#[cfg(not(all(any(target_arch = "x86_64", target_arch = "aarch64"), not(miri))))]
#[inline]
unsafe fn bulk(_s: *const u8, _d: *mut u8, _n: usize) {
    unreachable!("no assembly copy on this target")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every length and misalignment of source and destination copies the bytes exactly.
    #[test]
    fn copies_every_length_and_alignment() {
        let src: [u8; 512] = core::array::from_fn(|i| (i * 7 + 3) as u8);
        for off in 0..16 {
            for doff in 0..9 {
                for len in [0, 1, 7, 8, 15, 16, 63, 64, 79, 80, 81, 128, 200, 300, 400] {
                    if off + len > src.len() {
                        continue;
                    }
                    let mut dst = [0u8; 512];
                    // SAFETY: both ranges lie in the arrays; they do not overlap.
                    unsafe { copy_shared(src.as_ptr().add(off), dst.as_mut_ptr().add(doff), len) };
                    assert_eq!(
                        &dst[doff..doff + len],
                        &src[off..off + len],
                        "{off} {doff} {len}"
                    );
                    assert!(dst[..doff].iter().all(|&b| b == 0));
                    assert!(
                        dst[doff + len..].iter().all(|&b| b == 0),
                        "wrote past the end"
                    );
                }
            }
        }
    }
}
