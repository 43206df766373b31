//! Deterministic simulation of Cairn regions (being written).
