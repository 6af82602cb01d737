//! The queues of the account by name, names deleted in the last 60 seconds, and how
//! names, URLs (`http://<host>/<account>/<name>`) and ARNs map to one another.

use super::errors;
use super::queue::Queue;
use crate::awsjson::JsonError;
use parking_lot::{Mutex, RwLock};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// AWS refuses to recreate a deleted queue's name for this long.
const RECREATE_AFTER_MS: i64 = 60_000;

#[derive(Default)]
pub(crate) struct Registry {
    queues: RwLock<BTreeMap<String, Arc<Queue>>>,
    deleted_ms: Mutex<HashMap<String, i64>>,
}

impl Registry {
    pub fn get(&self, name: &str) -> Option<Arc<Queue>> {
        self.queues.read().get(name).cloned()
    }

    /// The queue named `name`, made by `make` if there is none. `Ok(false)` means
    /// it already existed.
    pub fn get_or_create(
        &self,
        name: &str,
        now_ms: i64,
        make: impl FnOnce() -> Queue,
    ) -> Result<(Arc<Queue>, bool), JsonError> {
        let mut queues = self.queues.write();
        if let Some(q) = queues.get(name) {
            return Ok((q.clone(), false));
        }
        {
            let mut deleted = self.deleted_ms.lock();
            deleted.retain(|_, at| now_ms - *at < RECREATE_AFTER_MS);
            if deleted.contains_key(name) {
                return Err(errors::queue_deleted_recently(name));
            }
        }
        let q = Arc::new(make());
        queues.insert(name.to_string(), q.clone());
        Ok((q, true))
    }

    pub fn remove(&self, name: &str, now_ms: i64) -> Option<Arc<Queue>> {
        let q = self.queues.write().remove(name)?;
        self.deleted_ms.lock().insert(name.to_string(), now_ms);
        Some(q)
    }

    /// Queues in name order, starting after `after`.
    pub fn list(&self, prefix: &str, after: Option<&str>) -> Vec<Arc<Queue>> {
        let queues = self.queues.read();
        queues
            .range::<str, _>((
                after.map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded),
                std::ops::Bound::Unbounded,
            ))
            .filter(|(name, _)| name.starts_with(prefix))
            .map(|(_, q)| q.clone())
            .collect()
    }

    pub fn all(&self) -> Vec<Arc<Queue>> {
        self.queues.read().values().cloned().collect()
    }
}

/// Queue names: 1–80 of `[A-Za-z0-9_-]` (a `.fifo` suffix names a FIFO queue).
pub(crate) fn check_name(name: &str) -> Result<(), JsonError> {
    if name.ends_with(".fifo") {
        return Err(errors::unsupported("A FIFO queue"));
    }
    let ok = (1..=80).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(errors::invalid_parameter(
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
        ))
    }
}

/// The queue name in a QueueUrl: its last two path segments are account and name,
/// whatever the host. Another account's queue does not exist here.
pub(crate) fn name_from_url<'a>(url: &'a str, account: &str) -> Result<&'a str, JsonError> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let path = match path.split_once("://") {
        Some((_, rest)) => rest.split_once('/').map_or("", |(_, p)| p),
        None => path,
    };
    let mut segments = path.rsplit('/').filter(|s| !s.is_empty());
    let (Some(name), Some(owner)) = (segments.next(), segments.next()) else {
        return Err(errors::invalid_address(url));
    };
    if owner != account {
        return Err(errors::queue_does_not_exist());
    }
    Ok(name)
}

/// The queue name in `arn:aws:sqs:<region>:<account>:<name>`, if it is this
/// emulator's region and account.
pub(crate) fn name_from_arn<'a>(arn: &'a str, region: &str, account: &str) -> Option<&'a str> {
    let mut parts = arn.splitn(6, ':');
    let fields: [&str; 6] = std::array::from_fn(|_| parts.next().unwrap_or(""));
    let [arn_tag, partition, service, r, a, name] = fields;
    (arn_tag == "arn"
        && partition.starts_with("aws")
        && service == "sqs"
        && r == region
        && a == account
        && !name.is_empty())
    .then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_queues_by_their_last_two_segments() {
        for url in [
            "http://127.0.0.1:4566/000000000000/orders",
            "https://sqs.us-east-1.amazonaws.com/000000000000/orders",
            "http://localhost:4566/queue/us-east-1/000000000000/orders",
            "/000000000000/orders/",
        ] {
            assert_eq!(
                name_from_url(url, "000000000000").ok(),
                Some("orders"),
                "{url}"
            );
        }
        assert_eq!(
            name_from_url("http://h/111111111111/orders", "000000000000")
                .expect_err("other account")
                .code,
            "QueueDoesNotExist"
        );
        assert_eq!(
            name_from_url("orders", "000000000000")
                .expect_err("no account")
                .code,
            "InvalidAddress"
        );
    }

    #[test]
    fn arns_name_queues_of_this_region_and_account() {
        let (r, a) = ("us-east-1", "000000000000");
        assert_eq!(
            name_from_arn("arn:aws:sqs:us-east-1:000000000000:q", r, a),
            Some("q")
        );
        assert_eq!(
            name_from_arn("arn:aws:sqs:eu-west-1:000000000000:q", r, a),
            None
        );
        assert_eq!(
            name_from_arn("arn:aws:sns:us-east-1:000000000000:q", r, a),
            None
        );
        assert_eq!(name_from_arn("q", r, a), None);
    }

    #[test]
    fn names_follow_aws_rules() {
        assert!(check_name("ok-Name_1").is_ok());
        assert!(check_name(&"a".repeat(80)).is_ok());
        for bad in ["", "has space", "dot.ted", &"a".repeat(81)] {
            assert_eq!(
                check_name(bad).expect_err(bad).code,
                "InvalidParameterValueException"
            );
        }
    }
}
