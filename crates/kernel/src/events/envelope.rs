use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// What travels on the bus. `event_type` doubles as the routing key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Envelope {
    pub id: Uuid,
    pub event_type: String,
    pub schema_version: i32,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    pub aggregate_id: String,
    /// The W3C `traceparent` of the request or event handling that recorded it, so its
    /// handling joins the same trace.
    pub trace_context: Option<String>,
    pub payload: serde_json::Value,
}

/// A typed event payload with its stable name and schema version.
pub trait Event: Serialize + DeserializeOwned {
    /// `<domain>.<aggregate>.<past-tense verb>`, e.g. `identity.user.registered`.
    const TYPE: &'static str;
    const VERSION: i32 = 1;

    fn aggregate_id(&self) -> String;
}

impl Envelope {
    /// Decodes the payload as `E`, failing when the type does not match.
    pub fn decode<E: Event>(&self) -> anyhow::Result<E> {
        anyhow::ensure!(
            self.event_type == E::TYPE,
            "expected {}, got {}",
            E::TYPE,
            self.event_type
        );
        Ok(serde_json::from_value(self.payload.clone())?)
    }
}
