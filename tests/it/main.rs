//! The one integration-test binary (polars links once). Each module tests one seam.
mod analysis;
mod cli;
mod framework;
mod helpers;
mod ingest;
mod method;
mod store;
mod web;
