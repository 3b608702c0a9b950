//! Preflight rules (being written).
