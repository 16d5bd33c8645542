//! A shutdown signal that long-lived responses (event streams, hung requests) watch, so a
//! stopped service really closes its connections instead of leaving them open.

use tokio::sync::watch;

/// Fires the signal; dropping it fires it too.
#[derive(Debug)]
pub struct ShutdownTrigger(watch::Sender<bool>);

/// Waits for the signal.
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>);

pub fn channel() -> (ShutdownTrigger, Shutdown) {
    let (sender, receiver) = watch::channel(false);
    (ShutdownTrigger(sender), Shutdown(receiver))
}

impl ShutdownTrigger {
    pub fn trigger(&self) {
        self.0.send_replace(true);
    }
}

impl Shutdown {
    /// Resolves once the trigger fired or was dropped.
    pub async fn wait_owned(mut self) {
        // An error means the trigger is gone, which is a shutdown as well.
        let _ = self.0.wait_for(|stopped| *stopped).await;
    }
}
