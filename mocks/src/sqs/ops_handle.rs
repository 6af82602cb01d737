//! Operations on received messages by receipt handle: DeleteMessage(Batch) and
//! ChangeMessageVisibility(Batch). Deleting with a handle from before the message's
//! latest receive succeeds and deletes nothing, as on AWS ("you must provide the most
//! recently received ReceiptHandle for the message (otherwise, the request succeeds, but
//! the message will not be deleted)" — SQS API reference, DeleteMessage); a visibility
//! change with one is refused (ReceiptHandleIsInvalid). Deleting a message already gone
//! succeeds too. Both are counted.

use super::batch::{self, BatchOut, Done, Failed};
use super::ids::Handle;
use super::queue::{HandleFault, Queue};
use super::{Sqs, empty, errors, required};
use crate::awsjson::{self, JsonError};
use axum::response::Response;
use serde::Deserialize;
use std::sync::Arc;

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct HandleIn {
    queue_url: Option<String>,
    id: Option<String>,
    receipt_handle: Option<String>,
    visibility_timeout: Option<i64>,
    #[serde(default)]
    entries: Vec<HandleIn>,
}

/// What to do with the message a handle names.
#[derive(Clone, Copy)]
enum Action {
    Delete,
    /// New visibility timeout in ms.
    Show(i64),
}

impl Sqs {
    fn handle_of(&self, q: &Queue, receipt: &str) -> Result<Handle, JsonError> {
        self.ids
            .decode_handle(receipt)
            .filter(|h| h.queue_uid == q.uid)
            .ok_or_else(|| {
                self.ctx
                    .counters
                    .incr("sqs.rejected.garbage_receipt_handle");
                errors::receipt_handle_invalid(receipt)
            })
    }

    fn action_of(e: &HandleIn, delete: bool) -> Result<Action, JsonError> {
        if delete {
            return Ok(Action::Delete);
        }
        match required(e.visibility_timeout, "VisibilityTimeout")? {
            v if (0..=43_200).contains(&v) => Ok(Action::Show(v * 1000)),
            v => Err(errors::invalid_value(
                "VisibilityTimeout",
                v,
                "Must be between 0 and 43200.",
            )),
        }
    }

    /// Applies `action` to the message of `receipt`, under the caller's lock.
    fn apply(
        &self,
        st: &mut super::queue::State,
        h: &Handle,
        receipt: &str,
        action: Action,
        now: i64,
    ) -> Result<(), JsonError> {
        let result = match action {
            Action::Delete => st.delete(&h.key, h.nonce),
            Action::Show(ms) => st.change_visibility(&h.key, h.nonce, ms, now),
        };
        match (result, action) {
            (Ok(()), _) => Ok(()),
            (Err(HandleFault::Gone), Action::Delete) => {
                self.ctx.counters.incr("sqs.delete.already_gone");
                Ok(())
            }
            (Err(HandleFault::Gone), Action::Show(_)) => Err(errors::invalid_value(
                "ReceiptHandle",
                receipt,
                "Message does not exist or is not available for visibility timeout change.",
            )),
            (Err(HandleFault::Stale), Action::Delete) => {
                self.ctx.counters.incr("sqs.delete.stale_receipt_handle");
                Ok(())
            }
            (Err(HandleFault::Stale), Action::Show(_)) => {
                self.ctx.counters.incr("sqs.rejected.stale_receipt_handle");
                Err(errors::receipt_handle_stale())
            }
            (Err(HandleFault::NotInFlight), _) => Err(errors::message_not_inflight()),
        }
    }

    fn one(&self, body: &[u8], delete: bool) -> Result<Response, JsonError> {
        let req: HandleIn = awsjson::parse(body)?;
        let q = self.queue(req.queue_url.as_deref())?;
        let receipt = required(req.receipt_handle.as_deref(), "ReceiptHandle")?;
        let action = Self::action_of(&req, delete)?;
        let h = self.handle_of(&q, receipt)?;
        self.with_state(&q, |st, now| self.apply(st, &h, receipt, action, now))?;
        Ok(empty())
    }

    fn batch(&self, body: &[u8], delete: bool) -> Result<Response, JsonError> {
        let req: HandleIn = awsjson::parse(body)?;
        let q: Arc<Queue> = self.queue(req.queue_url.as_deref())?;
        batch::check_entries(req.entries.iter().map(|e| e.id.as_deref()))?;
        let mut successful = Vec::new();
        let mut failed = Vec::new();
        self.with_state(&q, |st, now| {
            for e in &req.entries {
                let id = e.id.clone().unwrap_or_default();
                let result = required(e.receipt_handle.as_deref(), "ReceiptHandle").and_then(|r| {
                    let action = Self::action_of(e, delete)?;
                    let h = self.handle_of(&q, r)?;
                    self.apply(st, &h, r, action, now)
                });
                match result {
                    Ok(()) => successful.push(Done { id }),
                    Err(err) => {
                        self.ctx.counters.incr(&format!("sqs.error.{}", err.code));
                        failed.push(Failed::new(id, &err));
                    }
                }
            }
        });
        Ok(awsjson::ok(
            super::PROTOCOL,
            &BatchOut { successful, failed },
        ))
    }

    pub(super) fn delete_message(&self, body: &[u8]) -> Result<Response, JsonError> {
        self.one(body, true)
    }

    pub(super) fn delete_message_batch(&self, body: &[u8]) -> Result<Response, JsonError> {
        self.batch(body, true)
    }

    pub(super) fn change_message_visibility(&self, body: &[u8]) -> Result<Response, JsonError> {
        self.one(body, false)
    }

    pub(super) fn change_message_visibility_batch(
        &self,
        body: &[u8],
    ) -> Result<Response, JsonError> {
        self.batch(body, false)
    }
}
