//! One queue's messages and timers. Messages live in a map ordered by age (so
//! retention looks only at the oldest), visible ones wait in a deque, and delays and
//! visibility timeouts sit in min-heaps; stale heap and deque entries are skipped when
//! met and compacted away when they pile up. Every time decision takes `now_ms` from
//! the caller (the emulator's clock).

use super::attrs::QueueAttrs;
use super::ids::Key;
use super::message::{Message, MsgState};
use parking_lot::Mutex;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::sync::atomic::AtomicBool;
use tokio::sync::Notify;

pub(crate) struct Queue {
    pub name: String,
    pub arn: String,
    /// Distinguishes this queue from an earlier one of the same name (receipt handles).
    pub uid: u64,
    pub created_s: i64,
    pub state: Mutex<State>,
    /// Woken whenever messages become visible (long polls wait on it).
    pub arrivals: Notify,
    pub deleted: AtomicBool,
}

impl Queue {
    pub fn new(name: String, arn: String, uid: u64, now_ms: i64, attrs: QueueAttrs) -> Self {
        Self {
            name,
            arn,
            uid,
            created_s: now_ms / 1000,
            state: Mutex::new(State::new(attrs, now_ms / 1000)),
            arrivals: Notify::new(),
            deleted: AtomicBool::new(false),
        }
    }
}

/// Message counts by state.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counts {
    pub visible: usize,
    pub in_flight: usize,
    pub delayed: usize,
}

impl Counts {
    fn slot(&mut self, s: MsgState) -> &mut usize {
        match s {
            MsgState::Visible => &mut self.visible,
            MsgState::InFlight { .. } => &mut self.in_flight,
            MsgState::Delayed => &mut self.delayed,
        }
    }
}

/// What maintenance passes found.
#[derive(Debug, Default)]
pub(crate) struct Swept {
    /// Received `maxReceiveCount` times and visible again: bound for the DLQ.
    pub dead: Vec<Message>,
    /// Where `dead` goes (the RedrivePolicy's target), set when `dead` is not empty.
    pub dlq_arn: Option<String>,
    /// Past the retention period, gone.
    pub expired: u64,
}

/// Why a receipt handle cannot act on its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HandleFault {
    /// The message is gone (deleted, expired, dead-lettered, purged).
    Gone,
    /// The message was received again since this handle was issued.
    Stale,
    /// The message is not in flight (its visibility timeout ran out).
    NotInFlight,
}

pub(crate) struct State {
    pub attrs: QueueAttrs,
    pub modified_s: i64,
    pub tags: BTreeMap<String, String>,
    msgs: BTreeMap<Key, Message>,
    ready: VecDeque<Key>,
    delayed: BinaryHeap<Reverse<(i64, Key)>>,
    in_flight: BinaryHeap<Reverse<(i64, Key)>>,
    counts: Counts,
    next_seq: u64,
    /// How many times a message became visible: long polls wake when it moves.
    pub became_visible: u64,
    pub last_purge_ms: Option<i64>,
}

/// Slack before stale entries are compacted: a structure may hold twice its live
/// entries plus this many.
const COMPACT_SLACK: usize = 1024;

impl State {
    pub fn new(attrs: QueueAttrs, now_s: i64) -> Self {
        Self {
            attrs,
            modified_s: now_s,
            tags: BTreeMap::new(),
            msgs: BTreeMap::new(),
            ready: VecDeque::new(),
            delayed: BinaryHeap::new(),
            in_flight: BinaryHeap::new(),
            counts: Counts::default(),
            next_seq: 0,
            became_visible: 0,
            last_purge_ms: None,
        }
    }

    pub fn counts(&self) -> Counts {
        self.counts
    }

    fn set_state(counts: &mut Counts, m: &mut Message, to: MsgState) {
        *counts.slot(m.state) -= 1;
        *counts.slot(to) += 1;
        m.state = to;
    }

    fn make_visible(&mut self, key: Key, front: bool) {
        if let Some(m) = self.msgs.get_mut(&key) {
            Self::set_state(&mut self.counts, m, MsgState::Visible);
            if front {
                self.ready.push_front(key);
            } else {
                self.ready.push_back(key);
            }
            self.became_visible += 1;
        }
    }

    /// Enqueues `m` (keeping its `sent_ms`), visible after `delay_ms`.
    pub fn push(&mut self, mut m: Message, delay_ms: i64, now_ms: i64) {
        let key = (m.sent_ms, self.next_seq);
        self.next_seq += 1;
        if delay_ms > 0 {
            m.state = MsgState::Delayed;
            self.counts.delayed += 1;
            self.delayed.push(Reverse((now_ms + delay_ms, key)));
        } else {
            m.state = MsgState::Visible;
            self.counts.visible += 1;
            self.ready.push_back(key);
            self.became_visible += 1;
        }
        self.msgs.insert(key, m);
    }

    /// Moves time forward to `now_ms`: delays end, visibility timeouts run out (a
    /// message received `maxReceiveCount` times leaves for the DLQ instead of
    /// becoming visible), and messages past retention are dropped.
    pub fn sweep(&mut self, now_ms: i64, out: &mut Swept) {
        while let Some(&Reverse((due, key))) = self.delayed.peek() {
            if due > now_ms {
                break;
            }
            self.delayed.pop();
            if self
                .msgs
                .get(&key)
                .is_some_and(|m| m.state == MsgState::Delayed)
            {
                self.make_visible(key, false);
            }
        }
        let max_receives = self.attrs.redrive.as_ref().map(|r| r.max_receive_count);
        while let Some(&Reverse((due, key))) = self.in_flight.peek() {
            if due > now_ms {
                break;
            }
            self.in_flight.pop();
            let Some(m) = self.msgs.get(&key) else {
                continue;
            };
            if m.state != (MsgState::InFlight { until_ms: due }) {
                continue;
            }
            if max_receives.is_some_and(|max| m.receive_count >= max) {
                if out.dlq_arn.is_none() {
                    out.dlq_arn = self.attrs.redrive.as_ref().map(|r| r.dlq_arn.clone());
                }
                if let Some(m) = self.msgs.remove(&key) {
                    *self.counts.slot(m.state) -= 1;
                    out.dead.push(m);
                }
            } else {
                self.make_visible(key, true);
            }
        }
        let retention_ms = i64::from(self.attrs.retention_s) * 1000;
        while let Some(entry) = self.msgs.first_entry() {
            if entry.key().0 + retention_ms > now_ms {
                break;
            }
            let m = entry.remove();
            *self.counts.slot(m.state) -= 1;
            out.expired += 1;
        }
        self.compact();
    }

    /// Drops stale entries once they outnumber live ones.
    fn compact(&mut self) {
        let msgs = &self.msgs;
        if self.ready.len() > 2 * self.counts.visible + COMPACT_SLACK {
            self.ready
                .retain(|k| msgs.get(k).is_some_and(|m| m.state == MsgState::Visible));
        }
        if self.in_flight.len() > 2 * self.counts.in_flight + COMPACT_SLACK {
            self.in_flight.retain(|Reverse((due, k))| {
                msgs.get(k)
                    .is_some_and(|m| m.state == MsgState::InFlight { until_ms: *due })
            });
        }
        if self.delayed.len() > 2 * self.counts.delayed + COMPACT_SLACK {
            self.delayed.retain(|Reverse((_, k))| {
                msgs.get(k).is_some_and(|m| m.state == MsgState::Delayed)
            });
        }
    }

    /// When the next delay or visibility timeout runs out, if any is pending.
    pub fn next_due_ms(&self) -> Option<i64> {
        let d = self.delayed.peek().map(|Reverse((due, _))| *due);
        let f = self.in_flight.peek().map(|Reverse((due, _))| *due);
        d.into_iter().chain(f).min()
    }

    /// Receives up to `max` visible messages, in flight for `visibility_ms`; each gets
    /// a fresh nonce from `nonce`.
    pub fn receive(
        &mut self,
        max: usize,
        visibility_ms: i64,
        now_ms: i64,
        mut nonce: impl FnMut() -> u64,
    ) -> Vec<Key> {
        let mut out = Vec::with_capacity(max);
        let until_ms = now_ms + visibility_ms;
        while out.len() < max {
            let Some(key) = self.ready.pop_front() else {
                break;
            };
            let Some(m) = self.msgs.get_mut(&key) else {
                continue;
            };
            if m.state != MsgState::Visible {
                continue;
            }
            Self::set_state(&mut self.counts, m, MsgState::InFlight { until_ms });
            m.receive_count += 1;
            m.first_receive_ms.get_or_insert(now_ms);
            m.nonce = nonce();
            self.in_flight.push(Reverse((until_ms, key)));
            out.push(key);
        }
        out
    }

    pub fn get(&self, key: &Key) -> Option<&Message> {
        self.msgs.get(key)
    }

    fn check_handle(&self, key: &Key, nonce: u64) -> Result<&Message, HandleFault> {
        let m = self.msgs.get(key).ok_or(HandleFault::Gone)?;
        if m.nonce != nonce {
            return Err(HandleFault::Stale);
        }
        Ok(m)
    }

    /// Deletes the message the handle's receive returned, if it is still the latest one.
    pub fn delete(&mut self, key: &Key, nonce: u64) -> Result<(), HandleFault> {
        self.check_handle(key, nonce)?;
        if let Some(m) = self.msgs.remove(key) {
            *self.counts.slot(m.state) -= 1;
        }
        Ok(())
    }

    /// Sets an in-flight message's visibility timeout to `visibility_ms` from now (0:
    /// visible at the next sweep, which is also where redrive happens).
    pub fn change_visibility(
        &mut self,
        key: &Key,
        nonce: u64,
        visibility_ms: i64,
        now_ms: i64,
    ) -> Result<(), HandleFault> {
        let m = self.check_handle(key, nonce)?;
        if !matches!(m.state, MsgState::InFlight { .. }) {
            return Err(HandleFault::NotInFlight);
        }
        let until_ms = now_ms + visibility_ms;
        if let Some(m) = self.msgs.get_mut(key) {
            m.state = MsgState::InFlight { until_ms };
        }
        self.in_flight.push(Reverse((until_ms, *key)));
        Ok(())
    }

    /// Removes every message; returns how many there were.
    pub fn purge(&mut self) -> usize {
        let n = self.msgs.len();
        self.msgs.clear();
        self.ready.clear();
        self.delayed.clear();
        self.in_flight.clear();
        self.counts = Counts::default();
        n
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.msgs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::super::attrs::RedrivePolicy;
    use super::super::message::Sender;
    use super::*;

    fn msg(sent_ms: i64) -> Message {
        let mut m = Message::new(1, "b".into(), Sender::Account);
        m.sent_ms = sent_ms;
        m
    }

    fn counter() -> impl FnMut() -> u64 {
        let mut n = 0;
        move || {
            n += 1;
            n
        }
    }

    #[test]
    fn delay_then_visibility_then_redrive() {
        let attrs = QueueAttrs {
            redrive: Some(RedrivePolicy {
                dlq_arn: "dlq".into(),
                max_receive_count: 2,
            }),
            ..QueueAttrs::default()
        };
        let mut s = State::new(attrs, 0);
        let mut nonce = counter();
        s.push(msg(0), 5_000, 0);
        assert_eq!(s.counts().delayed, 1);
        assert!(s.receive(10, 1000, 1000, &mut nonce).is_empty());
        let mut swept = Swept::default();
        s.sweep(5_000, &mut swept);
        let got = s.receive(10, 1000, 5_000, &mut nonce);
        assert_eq!(got.len(), 1);
        assert_eq!(s.counts().in_flight, 1);
        assert_eq!(s.next_due_ms(), Some(6_000));
        s.sweep(6_000, &mut swept);
        assert!(swept.dead.is_empty());
        let again = s.receive(10, 1000, 6_000, &mut nonce);
        assert_eq!(s.get(&again[0]).map(|m| m.receive_count), Some(2));
        assert_eq!(s.delete(&again[0], 1), Err(HandleFault::Stale));
        s.sweep(7_000, &mut swept);
        assert_eq!(swept.dead.len(), 1);
        assert_eq!(swept.dlq_arn.as_deref(), Some("dlq"));
        assert_eq!(s.counts(), Counts::default());
        assert_eq!(s.delete(&again[0], 2), Err(HandleFault::Gone));
    }

    #[test]
    fn retention_drops_the_oldest_and_stale_entries_are_compacted() {
        let mut s = State::new(QueueAttrs::default(), 0);
        let mut nonce = counter();
        for i in 0..5_000 {
            s.push(msg(i), 0, i);
        }
        for _ in 0..500 {
            for k in s.receive(10, 0, 10_000, &mut nonce) {
                let n = s.get(&k).map(|m| m.nonce).unwrap_or(0);
                s.change_visibility(&k, n, 60_000, 10_000)
                    .expect("in flight");
                s.delete(&k, n).expect("deleted");
            }
        }
        assert_eq!(s.len(), 0);
        let mut swept = Swept::default();
        s.sweep(10_000, &mut swept);
        assert!(s.in_flight.len() <= COMPACT_SLACK);
        s.push(msg(20_000), 0, 20_000);
        s.sweep(20_000 + 345_600_000, &mut swept);
        assert_eq!(swept.expired, 1);
        assert_eq!(s.counts(), Counts::default());
    }
}
