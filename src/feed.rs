//! feed (in progress)
