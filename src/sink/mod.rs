//! sink (in progress)
