//! The in-memory S3 state: buckets, each a sorted map of key → object, its multipart
//! uploads in progress and its notification targets; plus O(1) totals for health.
//!
//! Objects are immutable `Arc<Object>`s with `Bytes` bodies, so a reader clones a
//! pointer under the lock and streams without holding it. Conditional writes
//! (`If-Match`, `If-None-Match: *`) check and insert under the bucket's one write lock,
//! so of two concurrent creators exactly one wins. Lock order: a bucket's objects, then
//! its uploads; the bucket table is never held while a bucket lock is taken.

use super::conditions::{WriteConditions, check_write};
use super::notify::QueueTarget;
use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use s3s::dto::{Checksum, ChecksumAlgorithm, Metadata};
use s3s::{S3Result, s3_error};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The headers an object keeps and answers with.
#[derive(Debug, Clone, Default)]
pub struct ObjectMeta {
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    pub content_disposition: Option<String>,
    pub content_language: Option<String>,
    pub cache_control: Option<String>,
    /// `x-amz-meta-*`.
    pub metadata: Option<Metadata>,
}

#[derive(Debug)]
pub struct Object {
    pub data: Bytes,
    /// Unquoted: hex md5 for a single PUT, `<hex md5 of the part md5s>-N` for multipart
    /// (with fast ETags, CRC64-NVME + length stands in for each md5).
    pub etag: String,
    pub last_modified_ms: i64,
    pub meta: ObjectMeta,
    /// The full-object checksums the writer sent or asked for (none for multipart).
    pub checksum: Checksum,
}

impl Object {
    pub fn size(&self) -> u64 {
        self.data.len() as u64
    }
}

#[derive(Debug)]
pub struct Part {
    pub data: Bytes,
    /// The ETag digest (md5 unless fast ETags).
    pub digest: [u8; 16],
    pub last_modified_ms: i64,
    pub checksum: Checksum,
}

impl Part {
    pub fn etag(&self) -> String {
        hex::encode(self.digest)
    }
}

#[derive(Debug)]
pub struct Upload {
    pub key: String,
    pub meta: ObjectMeta,
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
    pub parts: BTreeMap<i32, Arc<Part>>,
}

#[derive(Debug, Default)]
struct Keys {
    map: BTreeMap<String, Arc<Object>>,
    /// Set by DeleteBucket under this lock: a writer that still holds the bucket's Arc
    /// must not resurrect it.
    deleted: bool,
}

#[derive(Debug)]
pub struct Bucket {
    pub name: String,
    pub created_ms: i64,
    objects: RwLock<Keys>,
    uploads: Mutex<HashMap<String, Upload>>,
    notifications: RwLock<Arc<[QueueTarget]>>,
}

impl Bucket {
    fn new(name: String, created_ms: i64) -> Self {
        Self {
            name,
            created_ms,
            objects: RwLock::default(),
            uploads: Mutex::default(),
            notifications: RwLock::new(Arc::from(Vec::new())),
        }
    }

    pub fn get(&self, key: &str) -> Option<Arc<Object>> {
        self.objects.read().map.get(key).cloned()
    }

    /// Runs `f` over the sorted keys under the read lock (listing).
    pub fn with_keys<R>(&self, f: impl FnOnce(&BTreeMap<String, Arc<Object>>) -> R) -> R {
        f(&self.objects.read().map)
    }

    pub fn notifications(&self) -> Arc<[QueueTarget]> {
        self.notifications.read().clone()
    }

    pub fn set_notifications(&self, targets: Vec<QueueTarget>) {
        *self.notifications.write() = Arc::from(targets);
    }

    pub fn arn(&self) -> String {
        format!("arn:aws:s3:::{}", self.name)
    }
}

/// Totals kept up to date on every write, so health never walks the objects.
#[derive(Debug, Default)]
pub struct Totals {
    pub objects: AtomicU64,
    pub bytes: AtomicU64,
    pub uploads: AtomicU64,
}

#[derive(Debug, Default)]
pub struct Store {
    buckets: RwLock<BTreeMap<String, Arc<Bucket>>>,
    pub totals: Totals,
    sequencer: AtomicU64,
}

fn no_such_bucket(name: &str) -> s3s::S3Error {
    s3_error!(NoSuchBucket, "The specified bucket does not exist: {name}")
}

pub fn no_such_key() -> s3s::S3Error {
    s3_error!(NoSuchKey, "The specified key does not exist.")
}

pub fn no_such_upload() -> s3s::S3Error {
    s3_error!(
        NoSuchUpload,
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."
    )
}

impl Store {
    pub fn bucket_count(&self) -> usize {
        self.buckets.read().len()
    }

    /// Creates a bucket; `false` if it already exists.
    pub fn create_bucket(&self, name: &str, now_ms: i64) -> bool {
        let mut buckets = self.buckets.write();
        if buckets.contains_key(name) {
            return false;
        }
        buckets.insert(
            name.to_owned(),
            Arc::new(Bucket::new(name.to_owned(), now_ms)),
        );
        true
    }

    pub fn bucket(&self, name: &str) -> S3Result<Arc<Bucket>> {
        self.buckets
            .read()
            .get(name)
            .cloned()
            .ok_or_else(|| no_such_bucket(name))
    }

    /// Every bucket, sorted by name.
    pub fn buckets(&self) -> Vec<Arc<Bucket>> {
        self.buckets.read().values().cloned().collect()
    }

    /// Deletes an empty bucket (its unfinished uploads go with it).
    pub fn delete_bucket(&self, name: &str) -> S3Result<()> {
        let bucket = self.bucket(name)?;
        {
            let mut keys = bucket.objects.write();
            if !keys.map.is_empty() {
                return Err(s3_error!(
                    BucketNotEmpty,
                    "The bucket you tried to delete is not empty"
                ));
            }
            keys.deleted = true;
            let dropped = std::mem::take(&mut *bucket.uploads.lock()).len() as u64;
            self.totals.uploads.fetch_sub(dropped, Ordering::Relaxed);
        }
        let mut buckets = self.buckets.write();
        if buckets.get(name).is_some_and(|b| Arc::ptr_eq(b, &bucket)) {
            buckets.remove(name);
        }
        Ok(())
    }

    /// Stores `object` at `key` if `conditions` hold against the current object,
    /// all under the bucket's write lock. Returns the object it replaced.
    pub fn put(
        &self,
        bucket: &Bucket,
        key: &str,
        object: Arc<Object>,
        conditions: &WriteConditions<'_>,
    ) -> S3Result<Option<Arc<Object>>> {
        let mut keys = bucket.objects.write();
        if keys.deleted {
            return Err(no_such_bucket(&bucket.name));
        }
        check_write(keys.map.get(key).map(|o| &**o), conditions)?;
        Ok(self.insert_locked(&mut keys, key, object))
    }

    fn insert_locked(
        &self,
        keys: &mut Keys,
        key: &str,
        object: Arc<Object>,
    ) -> Option<Arc<Object>> {
        let size = object.size();
        let old = match keys.map.get_mut(key) {
            Some(slot) => Some(std::mem::replace(slot, object)),
            None => {
                keys.map.insert(key.to_owned(), object);
                None
            }
        };
        match &old {
            Some(o) => {
                self.totals.bytes.fetch_sub(o.size(), Ordering::Relaxed);
            }
            None => {
                self.totals.objects.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.totals.bytes.fetch_add(size, Ordering::Relaxed);
        old
    }

    /// Removes `key` if `conditions` hold; `Ok(None)` if there was nothing to remove.
    pub fn remove(
        &self,
        bucket: &Bucket,
        key: &str,
        conditions: &WriteConditions<'_>,
    ) -> S3Result<Option<Arc<Object>>> {
        let mut keys = bucket.objects.write();
        if conditions.if_match.is_some() {
            check_write(keys.map.get(key).map(|o| &**o), conditions)?;
        }
        let old = keys.map.remove(key);
        if let Some(o) = &old {
            self.totals.objects.fetch_sub(1, Ordering::Relaxed);
            self.totals.bytes.fetch_sub(o.size(), Ordering::Relaxed);
        }
        Ok(old)
    }

    /// A fresh, strictly increasing event sequencer (hex, as S3 writes it).
    pub fn next_sequencer(&self) -> String {
        let n = self.sequencer.fetch_add(1, Ordering::Relaxed) + 1;
        format!("{n:018X}")
    }

    pub fn create_upload(&self, bucket: &Bucket, id: String, upload: Upload) -> S3Result<()> {
        let keys = bucket.objects.read();
        if keys.deleted {
            return Err(no_such_bucket(&bucket.name));
        }
        bucket.uploads.lock().insert(id, upload);
        self.totals.uploads.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Adds (or replaces) part `number` of upload `id` for `key`.
    pub fn put_part(
        &self,
        bucket: &Bucket,
        id: &str,
        key: &str,
        number: i32,
        part: Part,
    ) -> S3Result<()> {
        let mut uploads = bucket.uploads.lock();
        let upload = uploads
            .get_mut(id)
            .filter(|u| u.key == key)
            .ok_or_else(no_such_upload)?;
        upload.parts.insert(number, Arc::new(part));
        Ok(())
    }

    /// Runs `f` over upload `id` of `key` (ListParts, completion planning).
    pub fn with_upload<R>(
        &self,
        bucket: &Bucket,
        id: &str,
        key: &str,
        f: impl FnOnce(&Upload) -> R,
    ) -> S3Result<R> {
        let uploads = bucket.uploads.lock();
        let upload = uploads
            .get(id)
            .filter(|u| u.key == key)
            .ok_or_else(no_such_upload)?;
        Ok(f(upload))
    }

    pub fn abort_upload(&self, bucket: &Bucket, id: &str, key: &str) -> S3Result<()> {
        let mut uploads = bucket.uploads.lock();
        if uploads.get(id).is_none_or(|u| u.key != key) {
            return Err(no_such_upload());
        }
        uploads.remove(id);
        self.totals.uploads.fetch_sub(1, Ordering::Relaxed);
        Ok(())
    }

    /// Completes upload `id`: if `conditions` hold against the current object, the
    /// upload ends and `object` takes the key, in one step under the bucket's lock.
    /// When they do not hold, the upload stays (the client may abort it).
    pub fn complete_upload(
        &self,
        bucket: &Bucket,
        id: &str,
        key: &str,
        object: Arc<Object>,
        conditions: &WriteConditions<'_>,
    ) -> S3Result<Option<Arc<Object>>> {
        let mut keys = bucket.objects.write();
        if keys.deleted {
            return Err(no_such_bucket(&bucket.name));
        }
        check_write(keys.map.get(key).map(|o| &**o), conditions)?;
        {
            let mut uploads = bucket.uploads.lock();
            if uploads.get(id).is_none_or(|u| u.key != key) {
                return Err(no_such_upload());
            }
            uploads.remove(id);
        }
        self.totals.uploads.fetch_sub(1, Ordering::Relaxed);
        Ok(self.insert_locked(&mut keys, key, object))
    }
}
