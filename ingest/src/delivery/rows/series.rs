//! What a sample's label set puts in its `metrics` row — metric name, `series_id`, the
//! promoted label columns' dictionary keys, the map's other labels — worked out once per
//! distinct label set of a flush and looked up by the label fields' bytes for every
//! other sample of that series. A flush holds each series many times over (a 5 MiB
//! buffer of the bench's backlog: ~50,000 samples of ~2,000 series), so a row costs one
//! hash of its label bytes instead of walking its labels, finding each among the
//! promoted names, hashing each promoted value into its dictionary and fingerprinting
//! the whole set.
//!
//! Equal bytes are equal label lists (the same field-1 entries in the same order), so a
//! row gets exactly what reading its labels would give.

use super::super::view::LabelBytes;
use crate::keys::fingerprint_of_pairs;
use crate::table::labels::promoted_index;
use crate::table::schema::PROMOTED_LABELS;
use arrow::array::{ArrayRef, DictionaryArray, Int32Builder, StringArray};
use arrow::datatypes::Int32Type;
use arrow::error::ArrowError;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::ops::Range;
use std::sync::Arc;

const PROMOTED: usize = PROMOTED_LABELS.len();

/// One label set's share of a row.
#[derive(Debug, Clone)]
pub struct Series<'a> {
    /// The last `__name__` (`""` without one), as the reader keeps the last of a
    /// repeated label.
    pub name: &'a str,
    /// `keys::fingerprint_of_pairs` of every label, in order.
    pub id: u64,
    /// Per promoted column, the key of the value in that column's dictionary (the first
    /// value of the label); `None`: the label is absent.
    promoted: [Option<i32>; PROMOTED],
    /// The labels neither named `__name__` nor promoted, in order (into `extras`).
    extra: Range<usize>,
}

/// Label bytes and their precomputed hash (the map hashes once, with xxh3).
#[derive(Clone, Copy)]
struct Key<'a> {
    hash: u64,
    bytes: &'a [u8],
}

impl PartialEq for Key<'_> {
    fn eq(&self, o: &Self) -> bool {
        self.hash == o.hash && self.bytes == o.bytes
    }
}

impl Eq for Key<'_> {}

impl Hash for Key<'_> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_u64(self.hash);
    }
}

/// The process's seed of the label-bytes hash: random, so producers cannot choose label
/// sets that collide in the map and make a flush's lookups quadratic. It only places
/// entries in the map; no output depends on it.
fn seed() -> u64 {
    static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *SEED.get_or_init(rand::random)
}

/// Passes a [`Key`]'s precomputed hash through.
#[derive(Default)]
struct PassHasher(u64);

impl Hasher for PassHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `Key` is hashed with this hasher, and only through `write_u64`.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// Distinct values of one promoted column, in first-seen order (the dictionary's keys).
#[derive(Default)]
struct Dictionary<'a> {
    values: Vec<&'a str>,
    index: HashMap<&'a str, i32>,
}

impl<'a> Dictionary<'a> {
    fn key(&mut self, v: &'a str) -> Result<i32, ArrowError> {
        if let Some(&k) = self.index.get(v) {
            return Ok(k);
        }
        let k =
            i32::try_from(self.values.len()).map_err(|_| ArrowError::DictionaryKeyOverflowError)?;
        self.values.push(v);
        self.index.insert(v, k);
        Ok(k)
    }
}

/// The series of one flush, and the promoted columns' keys and dictionaries.
pub struct SeriesCache<'a> {
    index: HashMap<Key<'a>, usize, BuildHasherDefault<PassHasher>>,
    series: Vec<Series<'a>>,
    extras: Vec<(&'a str, &'a str)>,
    dictionaries: [Dictionary<'a>; PROMOTED],
    keys: [Int32Builder; PROMOTED],
    labels: Vec<(&'a str, &'a str)>,
}

impl<'a> SeriesCache<'a> {
    pub fn new(rows: usize) -> Self {
        Self {
            index: HashMap::default(),
            series: Vec::new(),
            extras: Vec::new(),
            dictionaries: std::array::from_fn(|_| Dictionary::default()),
            keys: std::array::from_fn(|_| Int32Builder::with_capacity(rows)),
            labels: Vec::new(),
        }
    }

    /// The series of a sample whose labels are all in `bytes` (the cached path).
    pub fn get(&mut self, bytes: LabelBytes<'a>) -> Result<usize, super::RowsError> {
        let key = Key {
            hash: xxhash_rust::xxh3::xxh3_64_with_seed(bytes.as_bytes(), seed()),
            bytes: bytes.as_bytes(),
        };
        if let Some(&i) = self.index.get(&key) {
            return Ok(i);
        }
        let mut labels = std::mem::take(&mut self.labels);
        labels.clear();
        bytes.read(&mut labels)?;
        let i = self.add(&labels)?;
        self.labels = labels;
        self.index.insert(key, i);
        Ok(i)
    }

    /// A series of labels read some other way (a sample whose label fields are not in
    /// one run); not looked up, not kept for later rows.
    pub fn add(&mut self, labels: &[(&'a str, &'a str)]) -> Result<usize, ArrowError> {
        let mut name = "";
        let mut promoted = [None; PROMOTED];
        let start = self.extras.len();
        for &(k, v) in labels {
            if k == "__name__" {
                name = v;
            } else if let Some(p) = promoted_index(k) {
                // The first value of a repeated promoted label (as the builder kept it).
                if promoted[p].is_none() {
                    promoted[p] = Some(self.dictionaries[p].key(v)?);
                }
            } else {
                self.extras.push((k, v));
            }
        }
        self.series.push(Series {
            name,
            id: fingerprint_of_pairs(labels.iter().copied()),
            promoted,
            extra: start..self.extras.len(),
        });
        Ok(self.series.len() - 1)
    }

    pub fn series(&self, i: usize) -> &Series<'a> {
        &self.series[i]
    }

    /// The labels of series `i` that go to the map.
    pub fn extras(&self, i: usize) -> &[(&'a str, &'a str)] {
        &self.extras[self.series[i].extra.clone()]
    }

    /// Appends series `i`'s promoted keys as the next row.
    pub fn append_promoted(&mut self, i: usize) {
        let s = &self.series[i];
        for (col, k) in self.keys.iter_mut().zip(s.promoted) {
            col.append_option(k);
        }
    }

    /// The promoted columns, in `PROMOTED_LABELS` order (`schema::promoted_type`).
    pub fn finish(self, cols: &mut Vec<ArrayRef>) -> Result<(), ArrowError> {
        for (mut keys, dict) in self.keys.into_iter().zip(self.dictionaries) {
            let values = StringArray::from(dict.values);
            let array = DictionaryArray::<Int32Type>::try_new(keys.finish(), Arc::new(values))?;
            cols.push(Arc::new(array));
        }
        Ok(())
    }
}
