//! The contracts between services: for each, what others may know of it — its typed
//! ids, the bodies of its public and internal operations, the payloads of the events it
//! publishes, and the typed client that calls it. Domain crates depend on this crate and
//! on `kernel`, never on each other; a service's own handlers, rules and SQL stay
//! private to its crate.

pub mod cart;
pub mod catalog;
pub mod identity;
pub mod inventory;
pub mod notifications;
pub mod orders;
pub mod payments;
pub mod promotions;
pub mod reviews;
pub mod search;
pub mod shipping;
pub mod tax;
pub mod vendors;
