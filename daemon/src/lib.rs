//! provisiond library.
