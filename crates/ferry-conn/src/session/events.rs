//! Keeping the session's view of the cluster current from server events.
//!
//! One connection of the session REGISTERs for topology, status and schema
//! events. A node joining, leaving, moving, or coming back up triggers a
//! topology refresh (after a short pause, so a burst of events costs one
//! refresh); a schema change drops the cached replication and partition
//! keys of its keyspace. If the listening connection closes, another one
//! takes over. The listener holds no strong reference to the session: it
//! ends when the session is closed or dropped.

use std::sync::Weak;
use std::time::Duration;

use ferry_wire::request::event_types;
use ferry_wire::response::{Event, StatusChangeType};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;

use super::{lock, Inner, Session};
use crate::connection::Connection;

/// Pause between an event and the refresh it causes.
const REFRESH_DELAY: Duration = Duration::from_millis(500);
/// Pause before looking for another connection to listen on.
const RETRY_DELAY: Duration = Duration::from_secs(1);

/// What an event asks of the session.
enum Reaction {
    Refresh,
    ForgetKeyspace(String),
    Nothing,
}

fn reaction(event: &Event) -> Reaction {
    match event {
        Event::TopologyChange { .. } => Reaction::Refresh,
        // A node going down is noticed by its pool; one coming back may
        // have new tokens or addresses.
        Event::StatusChange { change, .. } => match change {
            StatusChangeType::Up => Reaction::Refresh,
            _ => Reaction::Nothing,
        },
        Event::SchemaChange(change) => match change.target.keyspace() {
            Some(ks) => Reaction::ForgetKeyspace(ks.to_owned()),
            None => Reaction::Nothing,
        },
        Event::Other { .. } => Reaction::Nothing,
    }
}

/// Starts the listener of `session`.
pub(crate) fn spawn_listener(session: &Session, shutdown: watch::Receiver<bool>) {
    let weak = std::sync::Arc::downgrade(&session.inner);
    tokio::spawn(listen(weak, shutdown));
}

async fn listen(weak: Weak<Inner>, mut shutdown: watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        let Some(conn) = listening_connection(&weak) else {
            return;
        };
        let subscribed = match conn {
            Some(conn) => {
                let types = [
                    event_types::TOPOLOGY_CHANGE,
                    event_types::STATUS_CHANGE,
                    event_types::SCHEMA_CHANGE,
                ];
                match conn.register(types).await {
                    Ok(events) => Some((conn, events)),
                    Err(e) => {
                        tracing::debug!(error = %e, "cannot register for events");
                        None
                    }
                }
            }
            None => None,
        };
        if let Some((conn, mut events)) = subscribed {
            loop {
                tokio::select! {
                    _ = shutdown.changed() => return,
                    _ = conn.closed() => break,
                    received = events.recv() => match received {
                        Ok(event) => {
                            if !handle(&weak, &event, &mut events, &mut shutdown).await {
                                return;
                            }
                        }
                        // Missed events: whatever they said, a refresh covers it.
                        Err(RecvError::Lagged(_)) => {
                            let Some(inner) = weak.upgrade() else { return };
                            let _ = (Session { inner }).refresh_topology().await;
                        }
                        Err(RecvError::Closed) => break,
                    },
                }
            }
        }
        tokio::select! {
            _ = shutdown.changed() => return,
            () = tokio::time::sleep(RETRY_DELAY) => {}
        }
    }
}

/// A connection to listen on: `Some(None)` if none is open right now,
/// `None` if the session is gone.
fn listening_connection(weak: &Weak<Inner>) -> Option<Option<Connection>> {
    let inner = weak.upgrade()?;
    let session = Session { inner };
    let state = session.state();
    let conn = state
        .nodes
        .iter()
        .filter_map(|n| state.pools.get(&n.address))
        .find_map(|p| p.pick());
    Some(conn)
}

/// Acts on `event` (and on the events that arrive during the pause before
/// a refresh). Returns `false` once the session is gone.
async fn handle(
    weak: &Weak<Inner>,
    event: &Event,
    events: &mut tokio::sync::broadcast::Receiver<Event>,
    shutdown: &mut watch::Receiver<bool>,
) -> bool {
    match reaction(event) {
        Reaction::Nothing => true,
        Reaction::ForgetKeyspace(ks) => {
            let Some(inner) = weak.upgrade() else {
                return false;
            };
            lock(&inner.replication).remove(&ks);
            lock(&inner.partition_keys).retain(|(k, _), _| *k != ks);
            true
        }
        Reaction::Refresh => {
            tokio::select! {
                _ = shutdown.changed() => return false,
                () = tokio::time::sleep(REFRESH_DELAY) => {}
            }
            // The burst is covered by this one refresh (schema events in it
            // are handled as usual).
            while let Ok(more) = events.try_recv() {
                if let Reaction::ForgetKeyspace(ks) = reaction(&more) {
                    if let Some(inner) = weak.upgrade() {
                        lock(&inner.replication).remove(&ks);
                        lock(&inner.partition_keys).retain(|(k, _), _| *k != ks);
                    }
                }
            }
            let Some(inner) = weak.upgrade() else {
                return false;
            };
            if let Err(e) = (Session { inner }).refresh_topology().await {
                tracing::warn!(error = %e, "topology refresh after an event failed");
            }
            true
        }
    }
}
