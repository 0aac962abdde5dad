//! Operator alerts: a source that keeps failing, a destination Telegram refuses, notices set
//! aside. Queued in the outbox like any notice (durable, paced), to every admin chat; raised by
//! the ingest stage and the deliverer alike.

use crate::records::{Delivery, Destination, Payload};
use crate::store::{Store, StoreError};

/// Queues an operator alert to every admin chat, except the destination keyed `skip`.
pub(crate) fn enqueue_alert(
    store: &Store,
    admins: &[i64],
    text: &str,
    skip: Option<&str>,
) -> Result<(), StoreError> {
    for admin in admins {
        let destination = Destination::Telegram {
            chat: admin.to_string(),
        };
        if skip == Some(destination.key().as_str()) {
            continue;
        }
        store.enqueue(&Delivery {
            destination,
            payload: Payload::Alert {
                text: text.to_owned(),
            },
            attempts: 0,
            plain: false,
        })?;
    }
    Ok(())
}
