//! Shared pieces of the project's automation, used by the `xtask` binary and by the
//! end-to-end tests (which start `wrangler dev` exactly as `cargo xtask dev` does).

pub mod wrangler;
