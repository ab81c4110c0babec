//! Segment files: an immutable, time-ordered slice of one partition, stored column by
//! column in blocks, with zone maps and bitmap indexes.
//!
//! A segment file is, in order (spec/format.md, "Segment files", is the contract):
//!
//! ```text
//! header   magic LOGDBSEG, format version, flags
//! chunks   per column: its dictionary (strings), each block's values and validity,
//!          its index pages (and key pages of integer keys), then each index's
//!          directory (pages with their first keys, counts), read on first use; every chunk compressed and addressed by (offset, len, crc)
//! footer   SegmentMeta: row count, time range, columns and their blocks with zone
//!          maps, the indexes and where their directories are (compressed)
//! tail     footer length, footer CRC-32, format version, magic LOGDBEND
//! ```
//!
//! Map of the module:
//! - `format`: the byte layout: magic, version, header and tail offsets, the footer's
//!   metadata types ([`SegmentMeta`], [`ColumnMeta`], [`BlockMeta`], [`Stats`],
//!   [`IndexEntry`], [`IndexMeta`], [`Chunk`]) and the footer and index directory
//!   codecs.
//! - `writer`: [`write_segment`]: columns encoded in parallel, zone maps, bitmap
//!   indexes, the file image.
//! - `reader`: [`Segment`]: opening and checking a file, chunks, dictionaries,
//!   [`Segment::read_block`] and its cached point-read twin.
//! - `block`: the decoded block in memory ([`ColumnBlock`], [`BlockValues`]).
//! - `index`: reading the bitmap indexes: directories decoded on first use
//!   ([`Segment::index`]), [`Segment::lookup`] and friends.
//! - `verify`: [`Segment::verify`], the cross-check behind `logdb check`.

mod block;
mod format;
mod index;
mod reader;
mod verify;
mod writer;

pub use block::{BlockValues, ColumnBlock};
pub use format::{
    validate_block_rows, BlockMeta, Chunk, ColumnMeta, ColumnStorage, DictPage, IndexEntry,
    IndexKeys, IndexMeta, IndexPage, KeyPage, SegmentMeta, Stats, DEFAULT_BLOCK_ROWS, HEADER_LEN,
    MAX_BLOCK_ROWS, SEGMENT_FORMAT_VERSION, SEGMENT_MAGIC, SEGMENT_TAIL_MAGIC, TAIL_LEN,
};
pub use reader::{ReadBuf, Segment};
pub use writer::{write_segment, EncodedSegment};
