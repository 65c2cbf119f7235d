//! The journal: the append-only file that is the source of truth of a [`super::SledStore`].
//!
//! Every batch the sequencer commits is one record, and the record holds everything
//! the batch changed: its entries (in the entry-bundle encoding of C2SP tlog-tiles, so
//! tiles are read straight from the file), each entry's dedup key and subject, the
//! metadata it set, and the checkpoint signed for the new tree size. The sled index is
//! only a cache of these records: it can always be rebuilt by replaying them.
//!
//! A record, all integers big-endian:
//!
//! ```text
//! header (40 bytes)
//!   magic "VJB1" | start u64 | count u32 | entries_len u32 | index_len u32
//!   | meta_len u32 | checkpoint_len u32 | first 8 bytes of SHA-256(the 32 bytes before)
//! body
//!   entries     count × (u16 length, bytes)
//!   index       count × (dedup key [32], subject length u8, subject)
//!   meta        items × (name length u8, name, value length u32, value)
//!   checkpoint  the signed checkpoint note
//!   sum         first 16 bytes of SHA-256(header ‖ entries ‖ index ‖ meta ‖ checkpoint)
//! ```
//!
//! A record is written with one `pwrite` past the end of the last one and made durable
//! with `fdatasync` before anything refers to it. Reading tells three endings apart:
//! - the file ends cleanly after a record;
//! - the file ends inside a record (**torn**): a batch that was being written when
//!   the process or machine stopped. It was never acknowledged, so it may be cut;
//! - a record is complete but its checksums or contents are wrong (**damaged**): the
//!   disk changed bytes that were once durable. It may have been acknowledged, so it is
//!   never cut silently.

use std::fs::File;
use std::os::unix::fs::FileExt;

use sha2::{Digest, Sha256};

use crate::merkle::Hash;

pub(crate) const MAGIC: &[u8; 4] = b"VJB1";
pub(crate) const HEADER_LEN: usize = 40;
const SUM_LEN: usize = 16;
/// The most entries in one record; [`crate::log::LogConfig::max_batch`] is capped to it.
pub const MAX_RECORD_ENTRIES: u32 = 1 << 16;
const MAX_META_LEN: u32 = 64 << 20;
const MAX_CHECKPOINT_LEN: u32 = 1 << 16;

/// One record's parts, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Where the record starts in the journal.
    pub offset: u64,
    /// Where the next record starts.
    pub end: u64,
    /// Index of the first entry.
    pub start: u64,
    /// Where the entries' bundle encoding starts in the journal.
    pub entries_at: u64,
    pub entries: Vec<Vec<u8>>,
    /// Per entry: dedup key and subject.
    pub keys: Vec<(Hash, Option<String>)>,
    pub meta: Vec<(String, Vec<u8>)>,
    pub checkpoint: Vec<u8>,
}

impl Record {
    /// The tree size after this record.
    pub fn new_size(&self) -> u64 {
        self.start + self.entries.len() as u64
    }
}

/// What is found at an offset of the journal.
#[derive(Debug)]
pub enum Read {
    Record(Box<Record>),
    /// The file ends exactly here.
    End,
    /// The file ends inside a record that starts here.
    Torn {
        offset: u64,
        len: u64,
    },
    /// A complete record here is wrong.
    Damaged {
        offset: u64,
        why: String,
    },
}

fn sum8(bytes: &[u8]) -> [u8; 8] {
    let d = Sha256::digest(bytes);
    d[..8].try_into().expect("8 of 32 bytes")
}

/// Encodes a record. `entries` are the entries' bytes, each under 64 KiB.
///
/// Returns the record and the position of the entries' bundle encoding inside it.
pub fn encode(
    start: u64,
    entries: &[&[u8]],
    keys: &[(Hash, Option<&str>)],
    meta: &[(String, Vec<u8>)],
    checkpoint: &[u8],
) -> Vec<u8> {
    let entries_len: usize = entries.iter().map(|e| 2 + e.len()).sum();
    let index_len: usize = keys.iter().map(|(_, s)| 33 + s.map_or(0, str::len)).sum();
    let meta_len: usize = meta.iter().map(|(n, v)| 5 + n.len() + v.len()).sum();
    let total = HEADER_LEN + entries_len + index_len + meta_len + checkpoint.len() + SUM_LEN;
    let mut out = Vec::with_capacity(total);
    let u32_of = |n: usize| u32::try_from(n).expect("record parts are capped below 4 GiB");
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&start.to_be_bytes());
    out.extend_from_slice(&u32_of(entries.len()).to_be_bytes());
    out.extend_from_slice(&u32_of(entries_len).to_be_bytes());
    out.extend_from_slice(&u32_of(index_len).to_be_bytes());
    out.extend_from_slice(&u32_of(meta_len).to_be_bytes());
    out.extend_from_slice(&u32_of(checkpoint.len()).to_be_bytes());
    let sum = sum8(&out);
    out.extend_from_slice(&sum);
    for e in entries {
        let len = u16::try_from(e.len()).expect("entries are checked to fit 16 bits");
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(e);
    }
    for (key, subject) in keys {
        out.extend_from_slice(key);
        let s = subject.unwrap_or_default();
        out.push(u8::try_from(s.len()).expect("subjects are checked to fit 255 bytes"));
        out.extend_from_slice(s.as_bytes());
    }
    for (name, value) in meta {
        out.push(u8::try_from(name.len()).expect("metadata names are short"));
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&u32_of(value.len()).to_be_bytes());
        out.extend_from_slice(value);
    }
    out.extend_from_slice(checkpoint);
    let sum = Sha256::digest(&out);
    out.extend_from_slice(&sum[..SUM_LEN]);
    debug_assert_eq!(out.len(), total);
    out
}

struct Header {
    start: u64,
    count: u32,
    entries_len: u32,
    index_len: u32,
    meta_len: u32,
    checkpoint_len: u32,
}

impl Header {
    fn parse(bytes: &[u8; HEADER_LEN]) -> Result<Self, String> {
        if &bytes[..4] != MAGIC {
            return Err("the record does not start with the journal's magic bytes".into());
        }
        if sum8(&bytes[..32]) != bytes[32..40] {
            return Err("the record header's checksum does not match".into());
        }
        let u32_at = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().expect("4"));
        let h = Header {
            start: u64::from_be_bytes(bytes[4..12].try_into().expect("8")),
            count: u32_at(12),
            entries_len: u32_at(16),
            index_len: u32_at(20),
            meta_len: u32_at(24),
            checkpoint_len: u32_at(28),
        };
        let count = u64::from(h.count);
        if h.count > MAX_RECORD_ENTRIES
            || u64::from(h.entries_len) < 2 * count
            || u64::from(h.entries_len) > 65_537 * count
            || u64::from(h.index_len) < 33 * count
            || u64::from(h.index_len) > 288 * count
            || h.meta_len > MAX_META_LEN
            || h.checkpoint_len > MAX_CHECKPOINT_LEN
            || h.checkpoint_len == 0
            || h.start.checked_add(count).is_none()
        {
            return Err("the record header's lengths are out of range".into());
        }
        Ok(h)
    }

    fn body_len(&self) -> u64 {
        u64::from(self.entries_len)
            + u64::from(self.index_len)
            + u64::from(self.meta_len)
            + u64::from(self.checkpoint_len)
            + SUM_LEN as u64
    }
}

/// Reads what lies at `offset` of a journal whose length is `len`.
///
/// # Errors
/// When the file cannot be read.
pub fn read(file: &File, offset: u64, len: u64) -> std::io::Result<Read> {
    if offset == len {
        return Ok(Read::End);
    }
    if offset > len {
        return Ok(Read::Damaged {
            offset,
            why: format!("it would start past the end of the journal ({len} bytes)"),
        });
    }
    if len - offset < HEADER_LEN as u64 {
        return Ok(Read::Torn {
            offset,
            len: len - offset,
        });
    }
    let mut head = [0u8; HEADER_LEN];
    file.read_exact_at(&mut head, offset)?;
    let header = match Header::parse(&head) {
        Ok(h) => h,
        Err(why) => return Ok(Read::Damaged { offset, why }),
    };
    let body_len = header.body_len();
    if len - offset - (HEADER_LEN as u64) < body_len {
        return Ok(Read::Torn {
            offset,
            len: len - offset,
        });
    }
    let mut body = vec![0u8; usize::try_from(body_len).expect("bodies are capped")];
    file.read_exact_at(&mut body, offset + HEADER_LEN as u64)?;
    Ok(match decode(offset, &head, &header, &body) {
        Ok(r) => Read::Record(Box::new(r)),
        Err(why) => Read::Damaged { offset, why },
    })
}

/// [`read`] for a journal held in memory, at offset 0: what a fuzzer drives.
pub fn parse(bytes: &[u8]) -> Read {
    let len = bytes.len() as u64;
    let Some(head) = bytes.first_chunk::<HEADER_LEN>() else {
        return if bytes.is_empty() {
            Read::End
        } else {
            Read::Torn { offset: 0, len }
        };
    };
    let header = match Header::parse(head) {
        Ok(h) => h,
        Err(why) => return Read::Damaged { offset: 0, why },
    };
    let end = HEADER_LEN as u64 + header.body_len();
    if len < end {
        return Read::Torn { offset: 0, len };
    }
    match decode(0, head, &header, &bytes[HEADER_LEN..end as usize]) {
        Ok(r) => Read::Record(Box::new(r)),
        Err(why) => Read::Damaged { offset: 0, why },
    }
}

/// The offset just past the record whose header is at `offset`, reading the header
/// only, or `None` where no whole, well-formed header lies (for reports).
///
/// # Errors
/// When the file cannot be read.
pub fn skip(file: &File, offset: u64, len: u64) -> std::io::Result<Option<(u64, u64)>> {
    if len.saturating_sub(offset) < HEADER_LEN as u64 {
        return Ok(None);
    }
    let mut head = [0u8; HEADER_LEN];
    file.read_exact_at(&mut head, offset)?;
    Ok(Header::parse(&head).ok().and_then(|h| {
        let end = offset + HEADER_LEN as u64 + h.body_len();
        (end <= len).then_some((end, h.start + u64::from(h.count)))
    }))
}

fn decode(offset: u64, head: &[u8], h: &Header, body: &[u8]) -> Result<Record, String> {
    let (rest, sum) = body.split_at(body.len() - SUM_LEN);
    let mut hasher = Sha256::new();
    hasher.update(head);
    hasher.update(rest);
    if hasher.finalize()[..SUM_LEN] != *sum {
        return Err("the record's checksum does not match its contents".into());
    }
    let (entry_bytes, rest) = rest.split_at(h.entries_len as usize);
    let (index_bytes, rest) = rest.split_at(h.index_len as usize);
    let (meta_bytes, checkpoint) = rest.split_at(h.meta_len as usize);
    let bad = |what: &str| format!("the record's {what} section is malformed");

    let mut entries = Vec::with_capacity(h.count as usize);
    let mut at = entry_bytes;
    while !at.is_empty() {
        let (len, tail) = at.split_at_checked(2).ok_or_else(|| bad("entries"))?;
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        let (entry, tail) = tail.split_at_checked(len).ok_or_else(|| bad("entries"))?;
        entries.push(entry.to_vec());
        at = tail;
    }
    if entries.len() != h.count as usize {
        return Err(bad("entries"));
    }

    let mut keys = Vec::with_capacity(entries.len());
    let mut at = index_bytes;
    while !at.is_empty() {
        let (key, tail) = at.split_at_checked(33).ok_or_else(|| bad("index"))?;
        let key_hash: Hash = key[..32].try_into().expect("32 bytes");
        let (subject, tail) = tail
            .split_at_checked(usize::from(key[32]))
            .ok_or_else(|| bad("index"))?;
        let subject = match subject {
            [] => None,
            s => Some(String::from_utf8(s.to_vec()).map_err(|_| bad("index"))?),
        };
        keys.push((key_hash, subject));
        at = tail;
    }
    if keys.len() != entries.len() {
        return Err(bad("index"));
    }

    let mut meta = Vec::new();
    let mut at = meta_bytes;
    while !at.is_empty() {
        let (n, tail) = at.split_first().ok_or_else(|| bad("metadata"))?;
        let (name, tail) = tail
            .split_at_checked(usize::from(*n))
            .ok_or_else(|| bad("metadata"))?;
        let (vlen, tail) = tail.split_at_checked(4).ok_or_else(|| bad("metadata"))?;
        let vlen = u32::from_be_bytes(vlen.try_into().expect("4")) as usize;
        let (value, tail) = tail.split_at_checked(vlen).ok_or_else(|| bad("metadata"))?;
        let name = String::from_utf8(name.to_vec()).map_err(|_| bad("metadata"))?;
        meta.push((name, value.to_vec()));
        at = tail;
    }

    Ok(Record {
        offset,
        end: offset + (HEADER_LEN + body.len()) as u64,
        start: h.start,
        entries_at: offset + HEADER_LEN as u64,
        entries,
        keys,
        meta,
        checkpoint: checkpoint.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn sample() -> Vec<u8> {
        encode(
            7,
            &[b"one", b"", b"three"],
            &[
                ([1; 32], Some("VN1")),
                ([2; 32], None),
                ([3; 32], Some("x")),
            ],
            &[("origin".into(), b"example.org/log".to_vec())],
            b"example.org/log\n10\nroot\n\n\xe2\x80\x94 sig\n",
        )
    }

    fn file_of(bytes: &[u8]) -> (tempfile::NamedTempFile, u64) {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        (f, bytes.len() as u64)
    }

    #[test]
    fn a_record_reads_back_as_written() {
        let bytes = sample();
        let (f, len) = file_of(&bytes);
        let Read::Record(r) = read(f.as_file(), 0, len).unwrap() else {
            panic!("not a record")
        };
        assert_eq!(r.start, 7);
        assert_eq!(r.new_size(), 10);
        assert_eq!(r.entries, vec![b"one".to_vec(), vec![], b"three".to_vec()]);
        assert_eq!(r.keys[0], ([1; 32], Some("VN1".into())));
        assert_eq!(r.keys[1], ([2; 32], None));
        assert_eq!(r.meta[0].0, "origin");
        assert_eq!(r.end, len);
        assert!(matches!(read(f.as_file(), len, len).unwrap(), Read::End));
        assert!(matches!(parse(&bytes), Read::Record(p) if *p == *r));
        assert_eq!(skip(f.as_file(), 0, len).unwrap(), Some((len, 10)));
    }

    #[test]
    fn every_prefix_is_torn_and_every_flipped_byte_is_damage() {
        let bytes = sample();
        for cut in 1..bytes.len() {
            let (f, len) = file_of(&bytes[..cut]);
            assert!(
                matches!(
                    read(f.as_file(), 0, len).unwrap(),
                    Read::Torn { offset: 0, .. }
                ),
                "prefix of {cut} bytes"
            );
        }
        for at in 0..bytes.len() {
            let mut b = bytes.clone();
            b[at] ^= 0x10;
            let (f, len) = file_of(&b);
            assert!(
                matches!(
                    read(f.as_file(), 0, len).unwrap(),
                    Read::Damaged { offset: 0, .. }
                ),
                "flip at byte {at}"
            );
        }
    }
}
