//! What every service shares on the HTTP side: errors, parameter parsing, request counters,
//! fault injection and the access log.

pub mod access_log;
pub mod error;
pub mod faults;
pub mod params;
pub mod stats;
