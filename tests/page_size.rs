//! The page arithmetic of systems with 16 KiB and 64 KiB pages (Apple silicon, some ARM
//! Linux), run on this machine by making the region believe in a larger page size: file
//! sizes are whole pages, `msync` ranges start on page boundaries, and the 4096-byte header
//! stays where it is, so the same file opens under any page size.

mod common;

use persistence::test_hooks as fault;
use persistence::{MmapedSlice, MmapedVec, OpenOptions};

fn with_page_size(size: usize) {
    let dir = common::tmpdir();
    let path = common::path_in(&dir, "v.bin");
    fault::set_page_size(Some(size));
    let mut v = MmapedVec::<u32>::open(&path).unwrap();
    let mut model = Vec::new();
    for i in 0..300_000u32 {
        let cap = v.capacity();
        v.push(i).unwrap();
        model.push(i);
        if v.capacity() != cap {
            assert_eq!(
                v.file_len() % size as u64,
                0,
                "file of {} bytes",
                v.file_len()
            );
        }
        if i % 40_000 == 0 {
            v[i as usize / 2] = !i; // in-place change: msync from a page boundary
            model[i as usize / 2] = !i;
            v.sync().unwrap();
        }
    }
    let head = model[..50_000].to_vec();
    v.extend_from_slice(&head).unwrap();
    model.extend_from_slice(&head);
    v.reserve_exact(1_000_000).unwrap();
    assert_eq!(v.file_len() % size as u64, 0);
    v.close().unwrap();
    // Reopened under the same page size, and under the real one: the format does not change.
    let v = MmapedVec::<u32>::open(&path).unwrap();
    assert_eq!(&v[..], &model[..]);
    assert_eq!(v.capacity() as u64, (v.file_len() - 4096) / 4);
    drop(v);
    fault::set_page_size(None);
    let s = MmapedSlice::<u32>::open(&path).unwrap();
    assert_eq!(&s[..], &model[..]);
    drop(s);
    // A file grown under 4 KiB pages opens and grows under the larger size.
    let other = common::path_in(&dir, "w.bin");
    let mut w = OpenOptions::new()
        .capacity(1000)
        .open::<u32>(&other)
        .unwrap();
    w.extend_from_slice(&model[..1000]).unwrap();
    w.close().unwrap();
    fault::set_page_size(Some(size));
    let mut w = MmapedVec::<u32>::open(&other).unwrap();
    w.extend_from_slice(&model[..100_000]).unwrap();
    assert_eq!(w.file_len() % size as u64, 0);
    w.close().unwrap();
    fault::set_page_size(None);
    assert_eq!(MmapedSlice::<u32>::open(&other).unwrap().len(), 101_000);
}

#[test]
fn sixteen_kib_pages() {
    with_page_size(16 << 10);
}

#[test]
fn sixty_four_kib_pages() {
    with_page_size(64 << 10);
}
