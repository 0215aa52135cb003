mod common;
use persistence::*;

#[test]
fn push_sync_reopen() {
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "v.bin");
    let mut v = MmapedVec::<u64>::open(&p).unwrap();
    for i in 0..100_000u64 {
        v.push(i).unwrap();
    }
    v.sync().unwrap();
    v[5] = 55;
    v.close().unwrap();
    let v = MmapedVec::<u64>::open(&p).unwrap();
    assert_eq!(v.len(), 100_000);
    assert_eq!(v[5], 55);
    assert_eq!(v[99_999], 99_999);
    drop(v);
    let s = MmapedSlice::<u64>::open(&p).unwrap();
    assert_eq!(s.len(), 100_000);
}
