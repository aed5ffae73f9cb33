//! Requests waiting for their response, by stream id.
//!
//! A request that timed out (or whose caller went away) after it was sent
//! leaves its id *orphaned*: still taken, because the server may answer it
//! later, and reusing the id would hand that late answer to a different
//! request. The id is freed when the late answer arrives or the connection
//! closes.
//!
//! Each waiting request carries its deadline here rather than a timer of
//! its own: the connection's sweeper ([`super::sweeper`]) expires the
//! overdue ones (a timer per request was a large share of the proxy's
//! per-write cost). [`Pending::next_sweep`] is when the sweeper looks
//! next; a request due before that asks for an earlier look.

use ferry_wire::frame::Frame;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::stream_ids::StreamIds;
use super::stream_map::StreamIdMap;

/// What a stream id is waiting for.
#[derive(Debug)]
enum Slot {
    /// A caller waits; `serial` tells this request from a later one that
    /// reuses the id.
    Waiting {
        serial: u64,
        deadline: Instant,
        reply: oneshot::Sender<Reply>,
    },
    /// Nobody waits, but the server may still answer. `serial`: the
    /// request's, so a request the sweeper expired before it was sent
    /// can still free its id (see [`Pending::cancel_unsent`]).
    Orphaned { serial: u64 },
}

/// What a waiting request is told.
#[derive(Debug)]
pub(crate) enum Reply {
    /// The server's answer.
    Answer(Frame),
    /// Its deadline passed first: the id is orphaned.
    TimedOut,
}

/// What an arriving response was for.
#[derive(Debug)]
pub(crate) enum Arrival {
    /// A waiting request: deliver the frame here.
    Waiting(oneshot::Sender<Reply>),
    /// An orphaned request: the id is free again.
    Orphaned,
    /// No request uses this id.
    Unknown,
}

/// The stream id table of one connection.
#[derive(Debug)]
pub(crate) struct Pending {
    ids: StreamIds,
    slots: StreamIdMap<Slot>,
    orphans: usize,
    next_serial: u64,
    /// When the sweeper looks at the deadlines next.
    next_sweep: Instant,
}

/// A request entered in the table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Registered {
    pub(crate) id: i16,
    pub(crate) serial: u64,
    /// Its deadline is before the sweeper's next look: wake the sweeper.
    pub(crate) wake_sweeper: bool,
}

impl Pending {
    /// A table with `capacity` stream ids; the sweeper first looks at
    /// `first_sweep`.
    pub(crate) fn new(capacity: usize, first_sweep: Instant) -> Self {
        Self {
            ids: StreamIds::new(capacity),
            slots: StreamIdMap::default(),
            orphans: 0,
            next_serial: 0,
            next_sweep: first_sweep,
        }
    }

    /// Takes an id for a request that will wait on `reply` until
    /// `deadline`; `None` if all ids are taken.
    pub(crate) fn register(
        &mut self,
        reply: oneshot::Sender<Reply>,
        deadline: Instant,
    ) -> Option<Registered> {
        let id = self.ids.allocate()?;
        let serial = self.next_serial;
        self.next_serial += 1;
        self.slots.insert(
            id,
            Slot::Waiting {
                serial,
                deadline,
                reply,
            },
        );
        let wake_sweeper = deadline < self.next_sweep;
        if wake_sweeper {
            self.next_sweep = deadline;
        }
        Some(Registered {
            id,
            serial,
            wake_sweeper,
        })
    }

    /// Orphans every waiting request whose deadline is at or before
    /// `now`, and returns their reply senders; then sets the next look to
    /// the earliest deadline left, or `idle_until` if none is earlier.
    pub(crate) fn expire(
        &mut self,
        now: Instant,
        idle_until: Instant,
    ) -> (Vec<oneshot::Sender<Reply>>, Instant) {
        let mut expired = Vec::new();
        let mut next = idle_until;
        for slot in self.slots.values_mut() {
            match slot {
                Slot::Waiting {
                    deadline, serial, ..
                } if *deadline <= now => {
                    let orphaned = Slot::Orphaned { serial: *serial };
                    if let Slot::Waiting { reply, .. } = std::mem::replace(slot, orphaned) {
                        expired.push(reply);
                    }
                    self.orphans += 1;
                }
                Slot::Waiting { deadline, .. } => next = next.min(*deadline),
                Slot::Orphaned { .. } => {}
            }
        }
        self.next_sweep = next;
        (expired, next)
    }

    /// A response arrived on `id`: frees the id and says who gets it.
    pub(crate) fn arrive(&mut self, id: i16) -> Arrival {
        match self.slots.remove(&id) {
            Some(Slot::Waiting { reply, .. }) => {
                self.ids.release(id);
                Arrival::Waiting(reply)
            }
            Some(Slot::Orphaned { .. }) => {
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
            Some(slot @ Slot::Waiting { .. }) if slot_serial(slot) == serial => {
                *slot = Slot::Orphaned { serial };
                self.orphans += 1;
                true
            }
            _ => false,
        }
    }

    /// The caller of request (`id`, `serial`) gave up before it was sent:
    /// the id is free at once, even if the sweeper already orphaned it (no
    /// late answer can come for a request never sent). Returns whether it
    /// was freed.
    pub(crate) fn cancel_unsent(&mut self, id: i16, serial: u64) -> bool {
        match self.slots.get(&id) {
            Some(slot) if slot_serial(slot) == serial => {
                if matches!(slot, Slot::Orphaned { .. }) {
                    self.orphans -= 1;
                }
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

fn slot_serial(slot: &Slot) -> u64 {
    match slot {
        Slot::Waiting { serial, .. } | Slot::Orphaned { serial } => *serial,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sender() -> oneshot::Sender<Reply> {
        oneshot::channel().0
    }

    fn later() -> Instant {
        Instant::now() + std::time::Duration::from_secs(60)
    }

    /// A table with `capacity` ids whose requests are due in a minute.
    struct Table(Pending);

    impl Table {
        fn new(capacity: usize) -> Self {
            Self(Pending::new(capacity, later()))
        }

        fn register(&mut self, reply: oneshot::Sender<Reply>) -> Option<(i16, u64)> {
            self.0.register(reply, later()).map(|r| (r.id, r.serial))
        }
    }

    impl std::ops::Deref for Table {
        type Target = Pending;
        fn deref(&self) -> &Pending {
            &self.0
        }
    }

    impl std::ops::DerefMut for Table {
        fn deref_mut(&mut self) -> &mut Pending {
            &mut self.0
        }
    }

    #[test]
    fn orphaned_id_is_not_reused_until_its_late_answer() {
        let mut p = Table::new(2);
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
        let mut p = Table::new(1);
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
        let mut p = Table::new(1);
        let (a, sa) = p.register(sender()).unwrap();
        assert!(p.cancel_unsent(a, sa));
        assert!(matches!(p.arrive(a), Arrival::Unknown));
        assert!(p.register(sender()).is_some());
    }

    #[test]
    fn clear_frees_everything() {
        let mut p = Table::new(3);
        let (a, sa) = p.register(sender()).unwrap();
        p.register(sender()).unwrap();
        p.orphan(a, sa);
        assert_eq!(p.clear(), 2);
        assert_eq!((p.in_use(), p.orphans()), (0, 0));
    }

    #[test]
    fn overdue_requests_expire_and_the_next_look_is_the_earliest_deadline() {
        let now = Instant::now();
        let ms = std::time::Duration::from_millis;
        let mut p = Pending::new(4, now + ms(1000));
        let (tx_a, mut rx_a) = oneshot::channel();
        let a = p.register(tx_a, now + ms(10)).unwrap();
        assert!(a.wake_sweeper, "due before the sweeper's next look");
        let b = p.register(sender(), now + ms(500)).unwrap();
        assert!(!b.wake_sweeper, "the sweeper already looks earlier");
        let (expired, next) = p.expire(now + ms(20), now + ms(5000));
        assert_eq!(expired.len(), 1);
        assert_eq!(next, now + ms(500));
        assert_eq!(p.orphans(), 1);
        drop(expired);
        assert!(
            rx_a.try_recv().is_err(),
            "the sweeper sends TimedOut, not the table"
        );
        assert!(!p.orphan(a.id, a.serial), "already orphaned by the sweep");
        assert!(matches!(p.arrive(a.id), Arrival::Orphaned));
        // Expired before it was sent: its caller frees the id at once.
        let c = p.register(sender(), now + ms(30)).unwrap();
        let (expired, _) = p.expire(now + ms(40), now + ms(5000));
        assert_eq!((expired.len(), p.orphans()), (1, 1));
        assert!(p.cancel_unsent(c.id, c.serial));
        assert_eq!(p.orphans(), 0);
        assert!(matches!(p.arrive(c.id), Arrival::Unknown));
        assert!(matches!(p.arrive(b.id), Arrival::Waiting(_)));
        let (expired, next) = p.expire(now + ms(600), now + ms(5000));
        assert!(expired.is_empty());
        assert_eq!(next, now + ms(5000), "nothing waits: the idle look");
    }
}
