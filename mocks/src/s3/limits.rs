//! S3's own size limits, as the emulator enforces them. Defaults are AWS's; tests and
//! benchmarks may lower them (e.g. to see `EntityTooLarge` without sending 5 GiB).

use serde::{Deserialize, Serialize};

/// AWS: a single PUT (and one part) may carry at most 5 GiB.
pub const AWS_MAX_OBJECT_BYTES: u64 = 5 << 30;
/// AWS: every part but the last must be at least 5 MiB.
pub const AWS_MIN_PART_BYTES: u64 = 5 << 20;
/// AWS: part numbers run from 1 to 10,000.
pub const MAX_PART_NUMBER: i32 = 10_000;
/// AWS: ListObjectsV2 and ListParts return at most 1,000 entries per page.
pub const MAX_LIST_KEYS: i32 = 1_000;
/// AWS: DeleteObjects takes at most 1,000 keys.
pub const MAX_DELETE_KEYS: usize = 1_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct S3Limits {
    /// Largest body of one PutObject or UploadPart; larger ones get `EntityTooLarge`.
    /// Objects live in memory, so this is also the emulator's memory guard per request.
    pub max_object_bytes: u64,
    /// Smallest size of a part that is not the last one (`EntityTooSmall` otherwise).
    pub min_part_bytes: u64,
}

impl Default for S3Limits {
    fn default() -> Self {
        Self {
            max_object_bytes: AWS_MAX_OBJECT_BYTES,
            min_part_bytes: AWS_MIN_PART_BYTES,
        }
    }
}
