//! The one integration-test binary (polars links once). Each module tests one seam.
mod analysis;
mod api;
mod charts;
mod cli;
mod download;
mod framework;
mod fuzz;
mod helpers;
mod ingest;
mod limits;
mod method;
mod robustness;
mod server;
mod store;
mod upload;
mod views;
mod web;
