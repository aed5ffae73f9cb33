//! Requests waiting for their response, by stream id.
//!
//! A request that timed out (or whose caller went away) after it was sent
//! leaves its id *orphaned*: still taken, because the server may answer it
//! later, and reusing the id would hand that late answer to a different
//! request. The id is freed when the late answer arrives or the connection
//! closes.

use std::collections::HashMap;

use ferry_wire::frame::Frame;
use tokio::sync::oneshot;

use super::stream_ids::StreamIds;

/// What a stream id is waiting for.
#[derive(Debug)]
enum Slot {
    /// A caller waits; `serial` tells this request from a later one that
    /// reuses the id.
    Waiting {
        serial: u64,
        reply: oneshot::Sender<Frame>,
    },
    /// Nobody waits, but the server may still answer.
    Orphaned,
}

/// What an arriving response was for.
#[derive(Debug)]
pub(crate) enum Arrival {
    /// A waiting request: deliver the frame here.
    Waiting(oneshot::Sender<Frame>),
    /// An orphaned request: the id is free again.
    Orphaned,
    /// No request uses this id.
    Unknown,
}

/// The stream id table of one connection.
#[derive(Debug)]
pub(crate) struct Pending {
    ids: StreamIds,
    slots: HashMap<i16, Slot>,
    orphans: usize,
    next_serial: u64,
}

impl Pending {
    /// A table with `capacity` stream ids.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            ids: StreamIds::new(capacity),
            slots: HashMap::new(),
            orphans: 0,
            next_serial: 0,
        }
    }

    /// Takes an id for a request that will wait on `reply`; `None` if all
    /// ids are taken.
    pub(crate) fn register(&mut self, reply: oneshot::Sender<Frame>) -> Option<(i16, u64)> {
        let id = self.ids.allocate()?;
        let serial = self.next_serial;
        self.next_serial += 1;
        self.slots.insert(id, Slot::Waiting { serial, reply });
        Some((id, serial))
    }

    /// A response arrived on `id`: frees the id and says who gets it.
    pub(crate) fn arrive(&mut self, id: i16) -> Arrival {
        match self.slots.remove(&id) {
            Some(Slot::Waiting { reply, .. }) => {
                self.ids.release(id);
                Arrival::Waiting(reply)
            }
            Some(Slot::Orphaned) => {
                self.ids.release(id);
                self.orphans -= 1;
                Arrival::Orphaned
            }
            None => Arrival::Unknown,
        }
    }

    /// The caller of request (`id`, `serial`) stopped waiting after sending
    /// it. Returns whether the id became orphaned (false if the response
    /// already arrived).
    pub(crate) fn orphan(&mut self, id: i16, serial: u64) -> bool {
        match self.slots.get_mut(&id) {
            Some(slot @ Slot::Waiting { .. }) if slot_serial(slot) == Some(serial) => {
                *slot = Slot::Orphaned;
                self.orphans += 1;
                true
            }
            _ => false,
        }
    }

    /// The caller of request (`id`, `serial`) gave up before it was sent:
    /// the id is free at once. Returns whether it was freed.
    pub(crate) fn cancel_unsent(&mut self, id: i16, serial: u64) -> bool {
        match self.slots.get(&id) {
            Some(slot) if slot_serial(slot) == Some(serial) => {
                self.slots.remove(&id);
                self.ids.release(id);
                true
            }
            _ => false,
        }
    }

    /// How many stream ids the table has.
    pub(crate) fn capacity(&self) -> usize {
        self.ids.capacity()
    }

    /// Ids left reserved by requests nobody waits for.
    pub(crate) fn orphans(&self) -> usize {
        self.orphans
    }

    /// Ids taken (waiting or orphaned).
    pub(crate) fn in_use(&self) -> usize {
        self.ids.in_use()
    }

    /// Empties the table (the connection closed): returns how many ids
    /// were taken. Dropping the waiters' senders wakes them.
    pub(crate) fn clear(&mut self) -> usize {
        let taken = self.ids.in_use();
        for id in self.slots.drain().map(|(id, _)| id) {
            self.ids.release(id);
        }
        self.orphans = 0;
        taken
    }
}

fn slot_serial(slot: &Slot) -> Option<u64> {
    match slot {
        Slot::Waiting { serial, .. } => Some(*serial),
        Slot::Orphaned => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sender() -> oneshot::Sender<Frame> {
        oneshot::channel().0
    }

    #[test]
    fn orphaned_id_is_not_reused_until_its_late_answer() {
        let mut p = Pending::new(2);
        let (a, sa) = p.register(sender()).unwrap();
        let (_b, _) = p.register(sender()).unwrap();
        assert!(p.orphan(a, sa));
        assert_eq!(p.orphans(), 1);
        assert!(
            p.register(sender()).is_none(),
            "orphaned id must stay taken"
        );
        assert!(matches!(p.arrive(a), Arrival::Orphaned));
        assert_eq!(p.orphans(), 0);
        assert_eq!(p.register(sender()).map(|(id, _)| id), Some(a));
    }

    #[test]
    fn orphaning_after_the_answer_is_a_no_op() {
        let mut p = Pending::new(1);
        let (a, sa) = p.register(sender()).unwrap();
        assert!(matches!(p.arrive(a), Arrival::Waiting(_)));
        let (again, s2) = p.register(sender()).unwrap();
        assert_eq!(again, a);
        // The first caller's late cleanup must not touch the new request.
        assert!(!p.orphan(a, sa));
        assert!(!p.cancel_unsent(a, sa));
        assert!(matches!(p.arrive(a), Arrival::Waiting(_)));
        assert!(!p.orphan(a, s2));
    }

    #[test]
    fn cancel_before_send_frees_at_once() {
        let mut p = Pending::new(1);
        let (a, sa) = p.register(sender()).unwrap();
        assert!(p.cancel_unsent(a, sa));
        assert!(matches!(p.arrive(a), Arrival::Unknown));
        assert!(p.register(sender()).is_some());
    }

    #[test]
    fn clear_frees_everything() {
        let mut p = Pending::new(3);
        let (a, sa) = p.register(sender()).unwrap();
        p.register(sender()).unwrap();
        p.orphan(a, sa);
        assert_eq!(p.clear(), 2);
        assert_eq!((p.in_use(), p.orphans()), (0, 0));
    }
}
