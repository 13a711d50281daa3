//! provisiond library.

pub mod scim;
