//! The one way an analysis or robustness table's rows become a frame: [`columns!`] lists the
//! row fields in column order, each column named as its field, each value through [`Cell`].
//!
//! Owns: the column types of every table `nqp analyse`, `nqp robustness` and the pages' downloads
//! write. Must not: choose which rows a table holds (the callers filter).

use crate::method::treat::TreatMethod;
use crate::types::Dimension;

/// A row field as the column value of its table: small counts and classes widened to the
/// integer types the tables have always had, text owned, classes as their names.
pub(crate) trait Cell {
    type Out;
    fn cell(&self) -> Self::Out;
}

macro_rules! cell_as {
    ($($t:ty => $out:ty),+ $(,)?) => {
        $(impl Cell for $t {
            type Out = $out;
            fn cell(&self) -> $out {
                <$out>::from(*self)
            }
        })+
    };
}

cell_as!(
    i32 => i32,
    u32 => u32,
    u64 => u64,
    f64 => f64,
    bool => bool,
    Option<f64> => Option<f64>,
    u8 => u32,
    &'static str => &'static str,
);

impl Cell for usize {
    type Out = u64;
    fn cell(&self) -> u64 {
        *self as u64
    }
}

impl Cell for String {
    type Out = String;
    fn cell(&self) -> String {
        self.clone()
    }
}

impl Cell for Dimension {
    type Out = &'static str;
    fn cell(&self) -> &'static str {
        self.as_str()
    }
}

/// An indicator's dimension; empty for a series outside the three (a raw input).
impl Cell for Option<Dimension> {
    type Out = &'static str;
    fn cell(&self) -> &'static str {
        self.map_or("", Dimension::as_str)
    }
}

impl Cell for TreatMethod {
    type Out = &'static str;
    fn cell(&self) -> &'static str {
        self.as_str()
    }
}

/// `columns!(rows => a, b.c, n as u32)`: a `DataFrame` (as a `PolarsResult`) with one column
/// per listed field of `rows`' items — `a`, a nested `b.c` named `c`, or a field cast first —
/// in that order.
macro_rules! columns {
    (@name $name:ident) => { stringify!($name) };
    (@name $outer:ident . $($rest:ident).+) => { columns!(@name $($rest).+) };
    ($rows:expr => $($($field:ident).+ $(as $t:ty)?),+ $(,)?) => {
        polars::prelude::df!($(
            columns!(@name $($field).+) => $rows
                .iter()
                .map(|d| $crate::analysis::columns::Cell::cell(&(d.$($field).+ $(as $t)?)))
                .collect::<Vec<_>>()
        ),+)
    };
}

pub(crate) use columns;
