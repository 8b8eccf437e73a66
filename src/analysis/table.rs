//! The score table as the analyses see it: sorted regions × sorted years, one value matrix per
//! measure, missing values as `None`. Built once from the `nqp compute` score frame.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use polars::prelude::*;

use super::AnalysisError;

/// Scores by measure, year and region. Regions and years are sorted ascending.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ScoreTable {
    regions: Vec<String>,
    years: Vec<i32>,
    measures: Vec<String>,
    /// measure → `[year index][region index]`.
    values: BTreeMap<String, Vec<Vec<Option<f64>>>>,
}

impl ScoreTable {
    /// Read `region`, `year` and the given measure columns from a score frame (other columns
    /// are ignored). `source` names the input in error messages. NaN counts as missing.
    pub fn from_frame(
        frame: &DataFrame,
        measures: &[&str],
        source: &str,
    ) -> Result<Self, AnalysisError> {
        let column = |name: &str| {
            frame
                .column(name)
                .map_err(|_| AnalysisError::MissingColumn {
                    file: source.to_owned(),
                    column: name.to_owned(),
                })
        };
        let bad = |name: &str, detail: String| AnalysisError::BadColumn {
            file: source.to_owned(),
            column: name.to_owned(),
            detail,
        };
        let region_col = column("region")?.cast(&DataType::String)?;
        let regions_raw: Vec<Option<&str>> = region_col.str()?.iter().collect();
        let year_col = column("year")?
            .strict_cast(&DataType::Int32)
            .map_err(|_| bad("year", "must hold whole years".to_owned()))?;
        let years_raw: Vec<Option<i32>> = year_col.i32()?.iter().collect();

        let mut measure_raw = Vec::with_capacity(measures.len());
        for &m in measures {
            let c = column(m)?
                .strict_cast(&DataType::Float64)
                .map_err(|_| bad(m, "must be numeric".to_owned()))?;
            let v: Vec<Option<f64>> = c
                .f64()?
                .iter()
                .map(|x| x.filter(|v| v.is_finite()))
                .collect();
            measure_raw.push(v);
        }

        let mut keys = Vec::with_capacity(frame.height());
        for (row, (r, y)) in regions_raw.iter().zip(&years_raw).enumerate() {
            let r = r.ok_or_else(|| bad("region", format!("is empty in data row {}", row + 1)))?;
            let y = y.ok_or_else(|| bad("year", format!("is empty in data row {}", row + 1)))?;
            keys.push((r, y));
        }
        let regions: Vec<String> = keys
            .iter()
            .map(|(r, _)| *r)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(str::to_owned)
            .collect();
        let years: Vec<i32> = keys
            .iter()
            .map(|(_, y)| *y)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let r_index: HashMap<&str, usize> = regions
            .iter()
            .enumerate()
            .map(|(i, r)| (r.as_str(), i))
            .collect();
        let y_index: HashMap<i32, usize> = years.iter().enumerate().map(|(i, y)| (*y, i)).collect();

        let mut seen = vec![vec![false; regions.len()]; years.len()];
        let mut values: BTreeMap<String, Vec<Vec<Option<f64>>>> = measures
            .iter()
            .map(|m| {
                (
                    (*m).to_owned(),
                    vec![vec![None; regions.len()]; years.len()],
                )
            })
            .collect();
        for (row, (r, y)) in keys.iter().enumerate() {
            let (ri, yi) = (r_index[r], y_index[y]);
            if seen[yi][ri] {
                return Err(AnalysisError::DuplicateRow {
                    file: source.to_owned(),
                    region: (*r).to_owned(),
                    year: *y,
                });
            }
            seen[yi][ri] = true;
            for (m, raw) in measures.iter().zip(&measure_raw) {
                if let Some(matrix) = values.get_mut(*m) {
                    matrix[yi][ri] = raw[row];
                }
            }
        }
        Ok(Self {
            regions,
            years,
            measures: measures.iter().map(|m| (*m).to_owned()).collect(),
            values,
        })
    }

    pub fn regions(&self) -> &[String] {
        &self.regions
    }

    pub fn years(&self) -> &[i32] {
        &self.years
    }

    /// Measure names, in the order given to [`ScoreTable::from_frame`].
    pub fn measures(&self) -> impl Iterator<Item = &str> {
        self.measures.iter().map(String::as_str)
    }

    /// The value of `measure` for `region` (index) in `year` (index).
    pub fn value(&self, measure: &str, year_idx: usize, region_idx: usize) -> Option<f64> {
        self.values
            .get(measure)
            .and_then(|m| m.get(year_idx))
            .and_then(|row| row.get(region_idx).copied().flatten())
    }

    /// The non-missing cross-section of `measure` in year `year_idx`: region indices and values.
    pub fn cross_section(&self, measure: &str, year_idx: usize) -> (Vec<usize>, Vec<f64>) {
        let mut idx = Vec::new();
        let mut vals = Vec::new();
        for ri in 0..self.regions.len() {
            if let Some(v) = self.value(measure, year_idx, ri) {
                idx.push(ri);
                vals.push(v);
            }
        }
        (idx, vals)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_sorted_matrix_with_missing_values() {
        let df = df!(
            "region" => ["B", "A", "A", "B"],
            "year" => [2021i64, 2021, 2020, 2020],
            "score" => [Some(4.0), Some(3.0), Some(1.0), None],
            "extra" => ["x", "y", "z", "w"],
        )
        .unwrap();
        let t = ScoreTable::from_frame(&df, &["score"], "s.csv").unwrap();
        assert_eq!(t.regions(), ["A", "B"]);
        assert_eq!(t.years(), [2020, 2021]);
        assert_eq!(t.value("score", 0, 0), Some(1.0));
        assert_eq!(t.value("score", 0, 1), None);
        assert_eq!(t.cross_section("score", 1), (vec![0, 1], vec![3.0, 4.0]));
    }

    #[test]
    fn rejects_duplicates_and_missing_columns() {
        let df =
            df!("region" => ["A", "A"], "year" => [2020i32, 2020], "score" => [1.0, 2.0]).unwrap();
        let err = ScoreTable::from_frame(&df, &["score"], "s.csv").unwrap_err();
        assert_eq!(err.code(), "analysis.duplicate_row");
        let err = ScoreTable::from_frame(&df, &["tools"], "s.csv").unwrap_err();
        assert_eq!(err.code(), "analysis.missing_column");
        assert_eq!(err.to_string(), "s.csv: missing column 'tools'");
    }
}
