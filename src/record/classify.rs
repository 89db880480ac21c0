//! Classification of records (Dynamics 365 read classes, event categories).
//! Filled in by the formats work (issue 3).
