//! The shop's data: the wire records, their seeded generation and the shared in-memory store.

pub mod model;
pub mod seed;
pub mod store;

pub use model::*;
pub use seed::{Dataset, DatasetSize};
pub use store::{NewLineItem, NewOrder, NewPayment, Page, Paged, Store, StoreError};
