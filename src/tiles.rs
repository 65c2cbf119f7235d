//! Tile paths and contents, per [C2SP tlog-tiles](https://c2sp.org/tlog-tiles).
//!
//! A hash tile at level `L` holds up to 256 consecutive hashes of tree level `8·L`; an
//! entry bundle holds up to 256 consecutive entries, each as a big-endian `u16` length
//! then its bytes. Paths write the tile index in groups of three digits, all but the
//! last prefixed with `x`, and a partial tile of width `W < 256` adds `.p/<W>`:
//!
//! ```text
//! tile/0/x001/x234/067        full hash tile 1234067 of level 0
//! tile/1/005.p/17             partial hash tile 5 of level 1, 17 hashes
//! tile/entries/000.p/3        the first three entries
//! ```

use std::fmt;

use crate::merkle::{Hash, Node};

/// Hashes (or entries) in a full tile.
pub const TILE_WIDTH: u64 = 256;
/// Tree levels a tile level spans.
pub const TILE_HEIGHT: u8 = 8;
/// Highest tile level.
pub const MAX_TILE_LEVEL: u8 = 63;
/// The largest entry an entry bundle can hold.
pub const MAX_ENTRY_LEN: usize = u16::MAX as usize;
/// The longest tile path [`TilePath::parse`] reads.
pub const MAX_PATH_LEN: usize = 128;

/// Why a tile path or bundle was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileError {
    #[error("tile path is longer than {MAX_PATH_LEN} bytes")]
    PathTooLong,
    #[error("tile path must start with \"tile/\"")]
    NotATilePath,
    #[error("tile level `{0}` is not a number from 0 to 63 (or \"entries\")")]
    BadLevel(String),
    #[error(
        "tile path segment `{0}` is not three digits (with an `x` prefix on all but the last)"
    )]
    BadSegment(String),
    #[error("tile index is not written canonically (no leading `x000` groups)")]
    NonCanonicalIndex,
    #[error("tile index is too large")]
    IndexTooLarge,
    #[error("partial tile width `{0}` is not a number from 1 to 255")]
    BadWidth(String),
    #[error("entry is {0} bytes; an entry bundle holds at most {MAX_ENTRY_LEN}")]
    EntryTooLong(usize),
    #[error("entry bundle is truncated")]
    TruncatedBundle,
    #[error("entry bundle holds {got} entries, expected {want}")]
    BundleCount { got: usize, want: usize },
}

/// What a tile holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TileKind {
    /// Hashes of tree level `8 · level`.
    Hashes { level: u8 },
    /// Entries, in an entry bundle.
    Entries,
}

/// A tile: kind, index and width (256 for a full tile). Always valid once built.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TilePath {
    kind: TileKind,
    index: u64,
    width: u16,
}

impl TilePath {
    /// # Errors
    /// When the level is above 63, the width is not 1..=256, or the index is so large
    /// that the tile's first element would not fit in 64 bits.
    pub fn new(kind: TileKind, index: u64, width: u16) -> Result<Self, TileError> {
        if let TileKind::Hashes { level } = kind {
            if level > MAX_TILE_LEVEL {
                return Err(TileError::BadLevel(level.to_string()));
            }
        }
        if width == 0 || u64::from(width) > TILE_WIDTH {
            return Err(TileError::BadWidth(width.to_string()));
        }
        index
            .checked_mul(TILE_WIDTH)
            .ok_or(TileError::IndexTooLarge)?;
        Ok(TilePath { kind, index, width })
    }

    /// Parses `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`, accepting only the
    /// canonical form.
    ///
    /// # Errors
    /// A [`TileError`] naming the part that is wrong.
    pub fn parse(path: &str) -> Result<Self, TileError> {
        if path.len() > MAX_PATH_LEN {
            return Err(TileError::PathTooLong);
        }
        let rest = path.strip_prefix("tile/").ok_or(TileError::NotATilePath)?;
        let (level, rest) = rest
            .split_once('/')
            .ok_or_else(|| TileError::BadLevel(rest.to_owned()))?;
        let kind = if level == "entries" {
            TileKind::Entries
        } else {
            let canonical = !level.is_empty()
                && level.len() <= 2
                && level.bytes().all(|b| b.is_ascii_digit())
                && (level == "0" || !level.starts_with('0'));
            let l: u8 = canonical
                .then(|| level.parse().ok())
                .flatten()
                .filter(|l| *l <= MAX_TILE_LEVEL)
                .ok_or_else(|| TileError::BadLevel(level.to_owned()))?;
            TileKind::Hashes { level: l }
        };
        let (index_part, width) = match rest.split_once(".p/") {
            Some((n, w)) => {
                let canonical =
                    !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()) && !w.starts_with('0');
                let width: u16 = canonical
                    .then(|| w.parse().ok())
                    .flatten()
                    .filter(|w| (1..TILE_WIDTH as u16).contains(w))
                    .ok_or_else(|| TileError::BadWidth(w.to_owned()))?;
                (n, width)
            }
            None => (rest, TILE_WIDTH as u16),
        };
        let index = parse_index(index_part)?;
        TilePath::new(kind, index, width)
    }

    pub fn kind(&self) -> TileKind {
        self.kind
    }

    pub fn index(&self) -> u64 {
        self.index
    }

    /// Number of hashes or entries in the tile (256 when full).
    pub fn width(&self) -> u16 {
        self.width
    }

    pub fn is_full(&self) -> bool {
        u64::from(self.width) == TILE_WIDTH
    }

    /// The tree level and first node index of the hashes a hash tile holds, or `None`
    /// for an entry bundle.
    pub fn first_node(&self) -> Option<Node> {
        match self.kind {
            TileKind::Hashes { level } => Some(Node::new(
                level.checked_mul(TILE_HEIGHT)?,
                self.index * TILE_WIDTH,
            )),
            TileKind::Entries => None,
        }
    }

    /// Whether a tree of `size` leaves has this tile: a full tile once complete, and a
    /// partial tile of any width the tree has reached, so that a client holding an older
    /// checkpoint can still read the partial tiles of its size (C2SP tlog-tiles).
    pub fn exists_in(&self, size: u64) -> bool {
        let level = match self.kind {
            TileKind::Hashes { level } => u32::from(level) * u32::from(TILE_HEIGHT),
            TileKind::Entries => 0,
        };
        let nodes = if level >= 64 { 0 } else { size >> level };
        let Some(first) = self.index.checked_mul(TILE_WIDTH) else {
            return false;
        };
        first
            .checked_add(u64::from(self.width))
            .is_some_and(|end| end <= nodes)
    }
}

impl fmt::Display for TilePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            TileKind::Hashes { level } => write!(f, "tile/{level}/")?,
            TileKind::Entries => f.write_str("tile/entries/")?,
        }
        f.write_str(&encode_index(self.index))?;
        if !self.is_full() {
            write!(f, ".p/{}", self.width)?;
        }
        Ok(())
    }
}

/// Writes a tile index in groups of three digits: 1234067 → `x001/x234/067`.
pub fn encode_index(n: u64) -> String {
    let mut groups = vec![format!("{:03}", n % 1000)];
    let mut rest = n / 1000;
    while rest > 0 {
        groups.push(format!("x{:03}", rest % 1000));
        rest /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

fn parse_index(s: &str) -> Result<u64, TileError> {
    let segments: Vec<&str> = s.split('/').collect();
    let (last, init) = segments
        .split_last()
        .expect("split yields at least one item");
    let mut n: u64 = 0;
    for (seg, prefixed) in init.iter().map(|s| (s, true)).chain([(last, false)]) {
        let digits = if prefixed {
            seg.strip_prefix('x')
        } else {
            Some(*seg)
        };
        let value = digits
            .filter(|d| d.len() == 3 && d.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|d| d.parse::<u64>().ok())
            .ok_or_else(|| TileError::BadSegment((*seg).to_owned()))?;
        n = n
            .checked_mul(1000)
            .and_then(|n| n.checked_add(value))
            .ok_or(TileError::IndexTooLarge)?;
    }
    if encode_index(n) != s {
        return Err(TileError::NonCanonicalIndex);
    }
    Ok(n)
}

/// The contents of a hash tile: the hashes, concatenated.
pub fn hash_tile(hashes: &[Hash]) -> Vec<u8> {
    hashes.concat()
}

/// Splits a hash tile into its hashes.
///
/// # Errors
/// [`TileError::TruncatedBundle`] when the length is not a multiple of 32.
pub fn parse_hash_tile(bytes: &[u8]) -> Result<Vec<Hash>, TileError> {
    if !bytes.len().is_multiple_of(32) {
        return Err(TileError::TruncatedBundle);
    }
    Ok(bytes
        .chunks_exact(32)
        .map(|c| c.try_into().expect("chunks are 32 bytes"))
        .collect())
}

/// Checks that an entry fits an entry bundle.
///
/// # Errors
/// [`TileError::EntryTooLong`] when it is over 65,535 bytes.
pub fn check_entry_len(entry: &[u8]) -> Result<(), TileError> {
    if entry.len() > MAX_ENTRY_LEN {
        Err(TileError::EntryTooLong(entry.len()))
    } else {
        Ok(())
    }
}

/// Encodes an entry bundle: each entry as a big-endian `u16` length then its bytes.
///
/// # Errors
/// [`TileError::EntryTooLong`] for an entry over 65,535 bytes.
pub fn encode_bundle<E: AsRef<[u8]>>(entries: &[E]) -> Result<Vec<u8>, TileError> {
    let total = entries.iter().map(|e| e.as_ref().len() + 2).sum();
    let mut out = Vec::with_capacity(total);
    for e in entries {
        let e = e.as_ref();
        check_entry_len(e)?;
        out.extend_from_slice(&(e.len() as u16).to_be_bytes());
        out.extend_from_slice(e);
    }
    Ok(out)
}

/// Decodes an entry bundle that must hold exactly `count` entries and nothing after.
///
/// # Errors
/// When it is truncated or holds another number of entries.
pub fn decode_bundle(mut bytes: &[u8], count: usize) -> Result<Vec<&[u8]>, TileError> {
    let mut out = Vec::with_capacity(count);
    while !bytes.is_empty() {
        if bytes.len() < 2 {
            return Err(TileError::TruncatedBundle);
        }
        let len = usize::from(u16::from_be_bytes([bytes[0], bytes[1]]));
        let rest = &bytes[2..];
        if rest.len() < len {
            return Err(TileError::TruncatedBundle);
        }
        out.push(&rest[..len]);
        bytes = &rest[len..];
    }
    if out.len() != count {
        return Err(TileError::BundleCount {
            got: out.len(),
            want: count,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_encoding_matches_the_spec_example() {
        assert_eq!(encode_index(1234067), "x001/x234/067");
        assert_eq!(encode_index(0), "000");
        assert_eq!(encode_index(1000), "x001/000");
    }

    #[test]
    fn paths_round_trip() {
        for p in [
            "tile/0/000",
            "tile/0/x001/x234/067",
            "tile/63/005.p/255",
            "tile/entries/x002/001.p/1",
        ] {
            assert_eq!(TilePath::parse(p).unwrap().to_string(), p);
        }
    }

    #[test]
    fn tiles_exist_once_the_tree_reaches_them() {
        let t = TilePath::parse("tile/0/001.p/4").unwrap();
        assert!(!t.exists_in(259));
        assert!(t.exists_in(260));
        assert!(
            t.exists_in(261),
            "older checkpoints' partial tiles stay readable"
        );
        assert!(TilePath::parse("tile/0/001").unwrap().exists_in(512));
        assert!(TilePath::parse("tile/1/000.p/1").unwrap().exists_in(256));
        assert!(!TilePath::parse("tile/1/000.p/1").unwrap().exists_in(255));
    }
}
