//! Bitmap index pages hold one bitmap per key in the portable RoaringBitmap format
//! (spec/format.md, "Bitmap index pages"). The writer knows each key's rows as a
//! sorted list, so it writes that format straight from the list instead of building
//! a `RoaringBitmap` per key (two allocations per key: a segment of a `user_id`
//! column has tens of thousands of keys). Reading stays with the `roaring` crate.

/// The portable format's cookie of a bitmap without run containers.
const COOKIE_NO_RUN: u32 = 12346;
/// Rows per container: the high 16 bits of a row are its container's key.
const CONTAINER_BITS: u32 = 16;
/// A container with more values than this is a bitmap of 2^16 bits; up to this, an
/// array of sorted u16.
const ARRAY_MAX: usize = 4096;
/// The bytes of a bitmap container.
const BITMAP_CONTAINER_BYTES: usize = (1 << CONTAINER_BITS) / 8;

/// Appends the portable serialization of the set `rows` (strictly increasing) to
/// `out`: the cookie, the container count, each container's key and cardinality
/// minus one, each container's byte offset, then the containers (arrays of u16, or
/// bitmaps of 2^16 bits above 4096 values), all little-endian. The bytes equal what
/// `RoaringBitmap::serialize_into` writes for the same set built by insertion.
pub fn serialize_sorted_rows(rows: &[u32], out: &mut Vec<u8>) {
    let start = out.len();
    // Container boundaries: runs of rows with the same high 16 bits.
    let mut containers: Vec<(u16, std::ops::Range<usize>)> = Vec::new();
    let mut i = 0;
    while i < rows.len() {
        let key = rows[i] >> CONTAINER_BITS;
        let n = rows[i..].partition_point(|&r| r >> CONTAINER_BITS == key);
        containers.push((key as u16, i..i + n));
        i += n;
    }
    out.extend_from_slice(&COOKIE_NO_RUN.to_le_bytes());
    out.extend_from_slice(&(containers.len() as u32).to_le_bytes());
    for (key, r) in &containers {
        out.extend_from_slice(&key.to_le_bytes());
        out.extend_from_slice(&((r.len() - 1) as u16).to_le_bytes());
    }
    let header = out.len() - start + 4 * containers.len();
    let mut offset = header;
    for (_, r) in &containers {
        out.extend_from_slice(&(offset as u32).to_le_bytes());
        offset += container_bytes(r.len());
    }
    for (_, r) in &containers {
        let values = &rows[r.clone()];
        if values.len() <= ARRAY_MAX {
            for &v in values {
                out.extend_from_slice(&(v as u16).to_le_bytes());
            }
        } else {
            let mut words = [0u64; BITMAP_CONTAINER_BYTES / 8];
            for &v in values {
                let low = (v & 0xffff) as usize;
                words[low / 64] |= 1 << (low % 64);
            }
            for w in words {
                out.extend_from_slice(&w.to_le_bytes());
            }
        }
    }
}

fn container_bytes(values: usize) -> usize {
    if values <= ARRAY_MAX {
        2 * values
    } else {
        BITMAP_CONTAINER_BYTES
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use roaring::RoaringBitmap;

    fn check(rows: &[u32]) {
        let mut mine = Vec::new();
        serialize_sorted_rows(rows, &mut mine);
        let bm = RoaringBitmap::from_sorted_iter(rows.iter().copied()).unwrap();
        let mut theirs = Vec::new();
        bm.serialize_into(&mut theirs).unwrap();
        assert_eq!(mine, theirs);
        assert_eq!(RoaringBitmap::deserialize_from(&mine[..]).unwrap(), bm);
    }

    #[test]
    fn edge_sets_serialize_as_the_roaring_crate_does() {
        check(&[]);
        check(&[0]);
        check(&[u32::MAX]);
        check(&[65535, 65536]);
        check(&(0..4096).collect::<Vec<_>>());
        check(&(0..4097).collect::<Vec<_>>());
        check(&(0..200_000).step_by(3).collect::<Vec<_>>());
    }

    proptest! {
        #[test]
        fn sorted_rows_serialize_as_the_roaring_crate_does(
            mut rows in proptest::collection::vec(0u32..300_000, 0..9000),
            dense in 0u32..3,
        ) {
            if dense == 0 {
                rows.extend(70_000..75_000);
            }
            rows.sort_unstable();
            rows.dedup();
            check(&rows);
        }
    }
}
