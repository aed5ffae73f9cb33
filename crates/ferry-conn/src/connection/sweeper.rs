//! The sweeper task: times out the requests whose deadline passed.
//!
//! One sleep per connection instead of a timer per request: requests
//! share one timeout, so the earliest deadline is usually a whole timeout
//! away and the sweeper wakes about once per timeout, however many
//! requests come and go meanwhile. A request due earlier than the
//! sweeper's next look (it waited for a slot or an id, so its deadline
//! was set before others') wakes it at once (see `Pending::register`).

use std::sync::Arc;

use tokio::sync::watch;

use super::shared::Shared;

/// Runs until the connection closes.
pub(crate) async fn run(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    loop {
        let next = shared.sweep();
        if shared.close_reason().is_some() {
            return;
        }
        tokio::select! {
            biased;
            _ = shutdown.wait_for(|closed| *closed) => return,
            () = shared.sweep_requested() => {}
            () = tokio::time::sleep_until(next) => {}
        }
    }
}
