//! A shared library that is not an adapter: it exports a function, but not the entry symbol.

/// A symbol with a near-miss name, so the library has exports but not the right one.
#[unsafe(no_mangle)]
pub extern "C" fn provisiond_adapter_v0() -> u32 {
    0
}
