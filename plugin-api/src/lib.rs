//! plugin api
