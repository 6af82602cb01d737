//! S3 settings: AWS's own size limits as the emulator enforces them (defaults are AWS's;
//! tests may lower them to see `EntityTooLarge` without sending 5 GiB), and the one
//! opt-in departure from S3 for speed (`fast_etags`).

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
pub struct S3Config {
    /// Largest body of one PutObject or UploadPart; larger ones get `EntityTooLarge`.
    /// Objects live in memory, so this is also the emulator's memory guard per request.
    pub max_object_bytes: u64,
    /// Smallest size of a part that is not the last one (`EntityTooSmall` otherwise).
    pub min_part_bytes: u64,
    /// Off (default): ETags are S3's — hex md5 of the body, `md5(part md5s)-N` for
    /// multipart. On: ETags come from CRC64-NVME and the length instead, still
    /// content-derived and opaque but not md5 (as S3's own SSE-KMS ETags are not);
    /// md5 then costs nothing unless `Content-MD5` is sent. It is the largest share of a
    /// PutObject's CPU, so benchmarks at full rate turn this on.
    pub fast_etags: bool,
}

impl Default for S3Config {
    fn default() -> Self {
        Self {
            max_object_bytes: AWS_MAX_OBJECT_BYTES,
            min_part_bytes: AWS_MIN_PART_BYTES,
            fast_etags: false,
        }
    }
}
