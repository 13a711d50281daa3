//! provisiond library.

pub mod plugins;
