//! The dataset's series as the analyses use them beyond the scores: the control variables of
//! conditional β-convergence (`--controls a,ln:b`) and the series behind economic-distance
//! weights (`economic:<id>`, by default GDP per capita = `gdp` / `population`).
//!
//! Series come from the long panel (`region, year, indicator, value`: raw inputs such as GDP)
//! and from the index's normalised table (`region, year, indicator, raw`: the framework's
//! indicators after formulas and imputation); the panel wins where both have an id.

use std::collections::BTreeMap;

use polars::prelude::*;

use super::AnalysisError;

/// (region, year) → value.
pub type Values = BTreeMap<(String, i32), f64>;

/// Series by id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeriesTable {
    series: BTreeMap<String, Values>,
}

impl SeriesTable {
    /// Add the rows of a long frame with columns `region, year, indicator` and `value_column`
    /// (non-finite or missing values skipped). Ids already present are kept.
    pub fn add_long(&mut self, frame: &DataFrame, value_column: &str) -> Result<(), AnalysisError> {
        let col = |name: &str| {
            frame
                .column(name)
                .map_err(|_| AnalysisError::MissingColumn {
                    file: "series".to_owned(),
                    column: name.to_owned(),
                })
        };
        let regions = col("region")?.cast(&DataType::String)?;
        let years = col("year")?.cast(&DataType::Int32)?;
        let ids = col("indicator")?.cast(&DataType::String)?;
        let values = col(value_column)?.cast(&DataType::Float64)?;
        let mut added: BTreeMap<String, Values> = BTreeMap::new();
        for (((r, y), id), v) in regions
            .str()?
            .iter()
            .zip(years.i32()?.iter())
            .zip(ids.str()?.iter())
            .zip(values.f64()?.iter())
        {
            if let (Some(r), Some(y), Some(id), Some(v)) = (r, y, id, v)
                && v.is_finite()
                && !self.series.contains_key(id)
            {
                added
                    .entry(id.to_owned())
                    .or_default()
                    .insert((r.to_owned(), y), v);
            }
        }
        self.series.extend(added);
        Ok(())
    }

    /// Every series id, sorted.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.series.keys().map(String::as_str)
    }

    /// The values of series `id`, or an error listing the ids there are.
    pub fn get(&self, id: &str) -> Result<&Values, AnalysisError> {
        self.series
            .get(id)
            .ok_or_else(|| AnalysisError::UnknownSeries {
                name: id.to_owned(),
                available: self.series.keys().cloned().collect(),
            })
    }

    /// Per region of `regions`, the mean of `series` over the years it is observed; regions
    /// without any value are left out.
    pub fn panel_means(values: &Values, regions: &[String]) -> Vec<(String, f64)> {
        regions
            .iter()
            .filter_map(|r| {
                let v: Vec<f64> = values
                    .iter()
                    .filter(|((reg, _), _)| reg == r)
                    .map(|(_, v)| *v)
                    .collect();
                (!v.is_empty()).then(|| (r.clone(), v.iter().sum::<f64>() / v.len() as f64))
            })
            .collect()
    }

    /// The series of economic weights: `Some(id)` → that series; `None` → GDP per capita
    /// (`gdp` / `population` per region-year where both are observed and population > 0).
    /// Returns the label used in notices and the values.
    pub fn economic_series(&self, id: Option<&str>) -> Result<(String, Values), AnalysisError> {
        if let Some(id) = id {
            return Ok((id.to_owned(), self.get(id)?.clone()));
        }
        let missing = |name: &str| AnalysisError::UnknownSeries {
            name: format!(
                "{name} (plain 'economic' means GDP per capita = gdp / population; name another series with economic:<id>)"
            ),
            available: self.series.keys().cloned().collect(),
        };
        let gdp = self.series.get("gdp").ok_or_else(|| missing("gdp"))?;
        let pop = self
            .series
            .get("population")
            .ok_or_else(|| missing("population"))?;
        let per_capita = gdp
            .iter()
            .filter_map(|(k, g)| pop.get(k).filter(|p| **p > 0.0).map(|p| (k.clone(), g / p)))
            .collect();
        Ok(("GDP per capita".to_owned(), per_capita))
    }
}

/// One control variable of conditional β-convergence, taken at the start year t.
#[derive(Debug, Clone, PartialEq)]
pub struct Control {
    /// The term in `beta_panel.csv`: the id, or `ln(id)` for a logged one.
    pub term: String,
    /// (region, year) → value (already logged for `ln:`; non-positive values dropped there).
    pub values: Values,
}

/// Parse `--controls a,ln:b` against the series: each name must exist (else
/// [`AnalysisError::UnknownSeries`]); `ln:` takes the natural log, leaving out non-positive
/// values (the log is undefined there).
pub fn resolve_controls(
    names: &[String],
    table: &SeriesTable,
) -> Result<Vec<Control>, AnalysisError> {
    names
        .iter()
        .map(|raw| {
            let raw = raw.trim();
            let (log, id) = match raw.strip_prefix("ln:") {
                Some(id) => (true, id.trim()),
                None => (false, raw),
            };
            let values = table.get(id)?;
            Ok(if log {
                Control {
                    term: format!("ln({id})"),
                    values: values
                        .iter()
                        .filter(|(_, v)| **v > 0.0)
                        .map(|(k, v)| (k.clone(), v.ln()))
                        .collect(),
                }
            } else {
                Control {
                    term: id.to_owned(),
                    values: values.clone(),
                }
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> SeriesTable {
        let panel = df!(
            "region" => ["A", "A", "B", "B"],
            "year" => [2020i32, 2021, 2020, 2021],
            "indicator" => ["gdp", "gdp", "gdp", "population"],
            "value" => [10.0, 30.0, -4.0, 2.0],
        )
        .unwrap();
        let mut t = SeriesTable::default();
        t.add_long(&panel, "value").unwrap();
        t
    }

    #[test]
    fn controls_resolve_with_logs_and_unknown_names_fail() {
        let t = table();
        let c = resolve_controls(&["gdp".into(), "ln:gdp".into()], &t).unwrap();
        assert_eq!(c[0].term, "gdp");
        assert_eq!(c[0].values.len(), 3);
        assert_eq!(c[1].term, "ln(gdp)");
        assert_eq!(c[1].values.len(), 2, "ln drops the non-positive value");
        assert!((c[1].values[&("A".to_owned(), 2021)] - 30f64.ln()).abs() < 1e-15);
        let err = resolve_controls(&["ln:capital".into()], &t).unwrap_err();
        assert_eq!(err.code(), "analysis.unknown_series");
        assert_eq!(
            err.to_string(),
            "unknown series 'capital' (the dataset has: gdp, population)"
        );
    }

    #[test]
    fn economic_series_and_means() {
        let t = table();
        let (label, v) = t.economic_series(None).unwrap();
        assert_eq!(label, "GDP per capita");
        assert_eq!(v.len(), 0, "no region-year has both gdp and population");
        let (_, gdp) = t.economic_series(Some("gdp")).unwrap();
        let means = SeriesTable::panel_means(&gdp, &["A".to_owned(), "C".to_owned()]);
        assert_eq!(means, vec![("A".to_owned(), 20.0)]);
    }
}
