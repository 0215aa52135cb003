//! What a tailer needs beyond `refresh`: `wait_for_file(true)`, so that a live reader
//! started before its writer waits for the file instead of failing, and `iter_from`, which
//! yields the elements past an index without reading the ones before it.

mod common;

use std::time::{Duration, Instant};

use persistence::{ErrorKind, Group, MmapedVec, OpenOptions};

#[test]
fn a_live_open_waits_for_the_file_only_when_told_to() {
    let dir = common::tmpdir();
    let p = dir.path().join("late.bin");
    let g = dir.path().join("late-group.bin");
    let nested = dir.path().join("not-yet/nested.bin");
    let t = Instant::now();
    let e = OpenOptions::new().open_live::<u64>(&p).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let e = OpenOptions::new()
        .open_group_live::<(u64,)>(&g)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "without waiting: at once"
    );

    let (p2, g2, n2) = (p.clone(), g.clone(), nested.clone());
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        let mut v = MmapedVec::<u64>::open(&p2).unwrap();
        v.extend_from_slice(&[1, 2, 3]).unwrap();
        v.close().unwrap();
        let mut grp = Group::<(u64,)>::open(&g2).unwrap();
        grp.push_row((9,)).unwrap();
        grp.close().unwrap();
        std::fs::create_dir(n2.parent().unwrap()).unwrap();
        let mut v = MmapedVec::<u64>::open(&n2).unwrap();
        v.push(4).unwrap();
        v.close().unwrap();
    });
    let opts = *OpenOptions::new().wait_for_file(true);
    let t = Instant::now();
    let mut r = opts.open_live::<u64>(&p).unwrap();
    assert!(
        t.elapsed() >= Duration::from_millis(250),
        "it waited for the writer"
    );
    r.refresh().unwrap();
    // The writer may have opened the file and not committed yet: then a refresh sees it.
    while r.len() < 3 {
        std::thread::sleep(Duration::from_millis(5));
        r.refresh().unwrap();
    }
    assert_eq!(r.iter().collect::<Vec<_>>(), [1, 2, 3]);
    let mut gr = opts.open_group_live::<(u64,)>(&g).unwrap();
    while gr.generation() < 1 {
        std::thread::sleep(Duration::from_millis(5));
        gr.refresh().unwrap();
    }
    assert_eq!(gr.get_row(0), Some((9,)));
    // A directory of the path that does not exist yet.
    let mut n = opts.open_live::<u64>(&nested).unwrap();
    while n.is_empty() {
        std::thread::sleep(Duration::from_millis(5));
        n.refresh().unwrap();
    }
    assert_eq!(n.get(0), Some(4));
    writer.join().unwrap();
    // Other errors are not waited on.
    let e = opts.open_live::<u32>(&p).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LayoutMismatch);
}

#[test]
fn iter_from_yields_what_skip_yields() {
    let dir = common::tmpdir();
    let p = dir.path().join("v.bin");
    let g = dir.path().join("g.bin");
    let mut v = MmapedVec::<u32>::open(&p).unwrap();
    let xs: Vec<u32> = (0..1000).map(|i| i * 7 + 1).collect();
    v.extend_from_slice(&xs).unwrap();
    v.sync().unwrap();
    let mut grp = Group::<(u32, u8)>::open(&g).unwrap();
    for &x in &xs {
        grp.push_row((x, x as u8)).unwrap();
    }
    grp.sync().unwrap();
    let r = OpenOptions::new().open_live::<u32>(&p).unwrap();
    let gr = OpenOptions::new().open_group_live::<(u32, u8)>(&g).unwrap();
    let (col, small) = gr.columns();
    for start in [0, 1, 499, 998, 999, 1000, 1001, usize::MAX] {
        let want: Vec<u32> = r.iter().skip(start).collect();
        assert_eq!(
            r.iter_from(start).collect::<Vec<_>>(),
            want,
            "start {start}"
        );
        assert_eq!(r.iter_from(start).len(), want.len());
        assert_eq!(
            r.iter_from(start).rev().collect::<Vec<_>>(),
            want.iter().rev().copied().collect::<Vec<_>>()
        );
        assert_eq!(
            col.iter_from(start).collect::<Vec<_>>(),
            want,
            "column, start {start}"
        );
        let bytes: Vec<u8> = want.iter().map(|&x| x as u8).collect();
        assert_eq!(small.iter_from(start).collect::<Vec<_>>(), bytes);
    }
}
