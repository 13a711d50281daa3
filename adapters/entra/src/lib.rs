//! entra
