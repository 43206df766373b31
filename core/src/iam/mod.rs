//! Identity and access management (filled in by the IAM work).
