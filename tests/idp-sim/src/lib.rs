//! sim

pub mod graph;
