//! The pure core: canonical request, render, map, classify, and stream
//! decoding and mapping. Functions of (spec, input) only: no sockets, no
//! clock, no environment, no global state.

pub(crate) mod canonical;
pub(crate) mod choice;
pub(crate) mod classify;
pub(crate) mod count;
pub(crate) mod embed;
pub(crate) mod events;
pub(crate) mod map;
pub(crate) mod params;
pub(crate) mod parts;
pub(crate) mod read;
pub(crate) mod render;
pub(crate) mod stream;

#[cfg(test)]
mod fidelity_tests;
