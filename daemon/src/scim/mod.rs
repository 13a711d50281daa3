//! SCIM 2.0 (RFC 7643, RFC 7644) as pure functions over JSON resources.
//!
//! This module owns the protocol rules: the schemas and discovery documents
//! ([`schema`]), filters ([`filter`]), PATCH ([`patch`]), `attributes` /
//! `excludedAttributes` ([`projection`]), normalising request bodies and
//! building `meta` ([`resource`]), the error body ([`error`]), and reading request
//! bodies ([`body`]).
//! Resources are `serde_json::Value` objects in SCIM's JSON shape, so the
//! store can keep them whole. Those engine modules do no I/O, read no clock
//! and know nothing of HTTP or the database: callers pass `now`, ids and
//! versions in, and map [`ScimError`] to a response. [`service`] is the
//! server's domain layer on top of them and the store (one function per
//! operation, one transaction each); [`tokens`] issues and checks the
//! per-connection bearer tokens.

pub mod body;
pub mod error;
pub mod filter;
pub mod patch;
pub mod path;
pub mod projection;
pub mod resource;
pub mod schema;
pub mod service;
pub mod tokens;
pub mod value;

pub use error::{ScimError, ScimType};
pub use filter::{Filter, IndexedAttribute, SimpleEq};
pub use patch::{PatchOutcome, apply_patch};
pub use projection::Projection;
pub use resource::{MetaInfo, etag, normalize, normalize_replacement, parse_etag, with_meta};
pub use schema::ResourceKind;
