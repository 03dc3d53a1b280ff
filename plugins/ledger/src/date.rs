//! Calendar dates: the SDK's [`Date`](backoffice_sdk::Date).

pub use backoffice_sdk::Date;
