//! Spatial weight matrices over named regions: binary contiguity, inverse great-circle distance
//! (1/d and 1/d²) between region points, economic distance 1/|ȳ_i − ȳ_j|, and user matrices
//! (an edge list `region,neighbor[,weight]`, or a full n×n table as Stata `spmatrix export` and
//! GeoDa write it). Every matrix is row-standardised over the regions present before use
//! ([`WeightsMatrix::standardised`]); one whose rows already sum to 1 is kept as it is.
//!
//! Conventions:
//! - distances are great-circle (haversine) on a sphere of radius 6371 km; the radius cancels
//!   in row standardisation;
//! - two regions at the same point have no finite inverse distance: an error naming both;
//! - two regions with equal means of the economic series get no economic weight (listed in
//!   [`WeightsMatrix::notes`]), never a division by zero;
//! - weights must be finite and non-negative; the diagonal is ignored (w_ii = 0).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::spatial::SpatialWeights;
use super::{Adjacency, AnalysisError, csv_lines, split_fields};

/// Which matrix it is (its name in `--weights-matrix`, on the pages and in the CSV files).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WeightsKind {
    Contiguity,
    InverseDistance,
    InverseDistance2,
    Economic,
    File,
}

impl WeightsKind {
    pub fn as_str(self) -> &'static str {
        match self {
            WeightsKind::Contiguity => "contiguity",
            WeightsKind::InverseDistance => "inverse-distance",
            WeightsKind::InverseDistance2 => "inverse-distance2",
            WeightsKind::Economic => "economic",
            WeightsKind::File => "file",
        }
    }
}

/// A region's point: id, longitude, latitude (degrees).
pub type Point = (String, f64, f64);

/// Mean Earth radius in km (libpysal's `RADIUS_EARTH_KM`).
const EARTH_RADIUS_KM: f64 = 6371.0;

/// Great-circle distance in km between two (lon, lat) points in degrees (haversine).
pub fn great_circle_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lon1, lat1) = (a.0.to_radians(), a.1.to_radians());
    let (lon2, lat2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((lat2 - lat1) / 2.0).sin().powi(2)
        + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

/// A spatial weight matrix over named regions (not yet row-standardised).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeightsMatrix {
    pub kind: WeightsKind,
    /// The file it came from, for error messages (`None` when built).
    source: Option<String>,
    /// Every region the matrix covers (with or without neighbours), with the line that
    /// defines it in `source` (0 when built).
    regions: BTreeMap<String, usize>,
    /// region → neighbour → positive weight.
    rows: BTreeMap<String, BTreeMap<String, f64>>,
    /// Whether every region must have a row (built matrices and n×n files); an edge list
    /// need not list islands.
    complete: bool,
    /// Facts a reader should know (e.g. pairs without an economic weight).
    pub notes: Vec<String>,
}

impl WeightsMatrix {
    fn built(kind: WeightsKind, regions: impl IntoIterator<Item = String>) -> Self {
        Self {
            kind,
            source: None,
            regions: regions.into_iter().map(|r| (r, 0)).collect(),
            rows: BTreeMap::new(),
            complete: true,
            notes: Vec::new(),
        }
    }

    fn set(&mut self, a: &str, b: &str, w: f64) {
        if a != b && w > 0.0 {
            self.rows
                .entry(a.to_owned())
                .or_default()
                .insert(b.to_owned(), w);
        }
    }

    /// Binary contiguity (w_ij = 1 for neighbours). Covers the regions the adjacency lists;
    /// others are islands.
    pub fn contiguity(adjacency: &Adjacency, regions: &[String]) -> Self {
        let mut m = Self::built(WeightsKind::Contiguity, regions.iter().cloned());
        for r in regions {
            for nb in adjacency.neighbors(r) {
                m.set(r, nb, 1.0);
            }
        }
        m
    }

    /// Inverse distance w_ij = 1/d_ij^power between `(region, lon, lat)` points.
    pub fn inverse_distance(
        points: &[Point],
        power: i32,
        file: &str,
    ) -> Result<Self, AnalysisError> {
        let kind = if power == 2 {
            WeightsKind::InverseDistance2
        } else {
            WeightsKind::InverseDistance
        };
        let mut m = Self::built(kind, points.iter().map(|p| p.0.clone()));
        for (a, lon_a, lat_a) in points {
            for (b, lon_b, lat_b) in points {
                if a == b {
                    continue;
                }
                let d = great_circle_km((*lon_a, *lat_a), (*lon_b, *lat_b));
                if d <= 0.0 {
                    return Err(AnalysisError::BadInput {
                        file: file.to_owned(),
                        line: 0,
                        message: format!(
                            "regions '{a}' and '{b}' have the same coordinates, so their inverse distance is undefined"
                        ),
                    });
                }
                m.set(a, b, d.powi(-power));
            }
        }
        Ok(m)
    }

    /// Economic distance w_ij = 1/|ȳ_i − ȳ_j| on the panel means of `series`; equal means give
    /// no weight (noted).
    pub fn economic(means: &[(String, f64)], series: &str) -> Self {
        let mut m = Self::built(WeightsKind::Economic, means.iter().map(|p| p.0.clone()));
        let mut equal = Vec::new();
        for (i, (a, ya)) in means.iter().enumerate() {
            for (b, yb) in &means[i + 1..] {
                let d = (ya - yb).abs();
                if d > 0.0 {
                    m.set(a, b, 1.0 / d);
                    m.set(b, a, 1.0 / d);
                } else {
                    equal.push(format!("{a}–{b}"));
                }
            }
        }
        if !equal.is_empty() {
            m.notes.push(format!(
                "economic weights ({series}): equal means, so no weight between {}",
                equal.join(", ")
            ));
        }
        m
    }

    /// A user matrix: an edge list with header `region,neighbor[,weight]` (weight 1 when
    /// absent), or an n×n table whose header starts with an empty cell followed by region ids
    /// (or 1…n, mapped by `ids`), each row a region id (or number) followed by its n weights,
    /// rows in any order.
    pub fn from_csv(
        text: &str,
        file: &str,
        ids: Option<&MatrixIds>,
    ) -> Result<Self, AnalysisError> {
        let mut lines = csv_lines(text);
        let (hline, head) = lines
            .next()
            .ok_or_else(|| bad(file, 1, "empty file".into()))?;
        let header = split_fields(head);
        let mut m = Self {
            kind: WeightsKind::File,
            source: Some(file.to_owned()),
            regions: BTreeMap::new(),
            rows: BTreeMap::new(),
            complete: header.first().is_some_and(String::is_empty),
            notes: Vec::new(),
        };
        let weight = |line: usize, cell: &str, a: &str, b: &str| -> Result<f64, AnalysisError> {
            let w: f64 = cell.parse().map_err(|_| {
                bad(
                    file,
                    line,
                    format!("weight '{cell}' of '{a}' → '{b}' is not a number"),
                )
            })?;
            if !w.is_finite() || w < 0.0 {
                return Err(bad(
                    file,
                    line,
                    format!("weight {cell} of '{a}' → '{b}' is negative or not finite"),
                ));
            }
            Ok(w)
        };
        if header.first().is_some_and(String::is_empty) {
            let name = |line: usize, cell: &str| -> Result<String, AnalysisError> {
                match ids {
                    Some(ids) => ids.region(cell).map(str::to_owned).ok_or_else(|| {
                        bad(
                            file,
                            line,
                            format!(
                                "'{cell}' is not a number of {} (1…{})",
                                ids.source,
                                ids.len()
                            ),
                        )
                    }),
                    None => Ok(cell.to_owned()),
                }
            };
            if let Some(ids) = ids
                && header.len() - 1 != ids.len()
            {
                return Err(bad(
                    file,
                    hline,
                    format!(
                        "the matrix numbers {} regions but {} has {}: the numbers 1…n must count the same regions",
                        header.len() - 1,
                        ids.source,
                        ids.len()
                    ),
                ));
            }
            let columns: Vec<String> = header[1..]
                .iter()
                .map(|c| name(hline, c))
                .collect::<Result<_, _>>()?;
            if let Some(dup) = first_duplicate(&columns) {
                return Err(bad(
                    file,
                    hline,
                    format!("region '{dup}' appears twice in the header"),
                ));
            }
            for (line, l) in lines {
                let cells = split_fields(l);
                if cells.len() != columns.len() + 1 {
                    return Err(bad(
                        file,
                        line,
                        format!(
                            "the matrix is not square: {} weight(s) in this row, {} region(s) in the header",
                            cells.len() - 1,
                            columns.len()
                        ),
                    ));
                }
                let region = name(line, &cells[0])?;
                if !columns.contains(&region) {
                    return Err(bad(
                        file,
                        line,
                        format!("region '{region}' has a row but no column in the header"),
                    ));
                }
                if m.regions.insert(region.clone(), line).is_some() {
                    return Err(bad(file, line, format!("region '{region}' has two rows")));
                }
                for (nb, cell) in columns.iter().zip(&cells[1..]) {
                    let w = weight(line, cell, &region, nb)?;
                    m.set(&region, nb, w);
                }
            }
            if let Some(missing) = columns.iter().find(|c| !m.regions.contains_key(*c)) {
                return Err(bad(
                    file,
                    hline,
                    format!("the matrix is not square: region '{missing}' has a column but no row"),
                ));
            }
        } else {
            let ok = matches!(header.as_slice(), [a, b] | [a, b, _] if a == "region" && b == "neighbor")
                && header.get(2).is_none_or(|w| w == "weight");
            if !ok {
                return Err(bad(
                    file,
                    hline,
                    format!(
                        "expected an edge list with header 'region,neighbor[,weight]' or an n×n matrix whose header starts with an empty cell, found '{head}'"
                    ),
                ));
            }
            for (line, l) in lines {
                let cells = split_fields(l);
                if cells.len() != header.len() || cells.iter().any(String::is_empty) {
                    return Err(bad(
                        file,
                        line,
                        format!("expected {} non-empty fields, found '{l}'", header.len()),
                    ));
                }
                let w = match cells.get(2) {
                    Some(c) => weight(line, c, &cells[0], &cells[1])?,
                    None => 1.0,
                };
                m.regions.entry(cells[0].clone()).or_insert(line);
                m.regions.entry(cells[1].clone()).or_insert(line);
                m.set(&cells[0], &cells[1], w);
            }
        }
        Ok(m)
    }

    /// Check that the matrix covers exactly `regions`: a region of the matrix that the scores
    /// do not have, or (for an n×n matrix or a built one) a scored region the matrix lacks, is
    /// an error naming the file, line and region. An edge list need not list islands.
    pub fn check_regions(&self, regions: &[String]) -> Result<(), AnalysisError> {
        let file = self
            .source
            .clone()
            .unwrap_or_else(|| self.kind.as_str().to_owned());
        let known: BTreeSet<&str> = regions.iter().map(String::as_str).collect();
        if let Some((r, line)) = self
            .regions
            .iter()
            .find(|(r, _)| !known.contains(r.as_str()))
        {
            return Err(bad(
                &file,
                *line,
                format!("region '{r}' is not among the regions of the scores"),
            ));
        }
        if self.complete
            && let Some(r) = regions.iter().find(|r| !self.regions.contains_key(*r))
        {
            return Err(AnalysisError::MissingRegion {
                file,
                region: r.clone(),
            });
        }
        Ok(())
    }

    /// Row-standardised weights over `regions` (in this order): neighbours outside `regions`
    /// are dropped and each row divided by its sum; a region without neighbours keeps an empty
    /// row (an island, lag 0). Rows that already sum to 1 (within 1e-12) stay as they are.
    pub fn standardised(&self, regions: &[impl AsRef<str>]) -> SpatialWeights {
        let index: BTreeMap<&str, usize> = regions
            .iter()
            .enumerate()
            .map(|(i, r)| (r.as_ref(), i))
            .collect();
        let rows = regions
            .iter()
            .map(|r| {
                let row: Vec<(usize, f64)> = self
                    .rows
                    .get(r.as_ref())
                    .into_iter()
                    .flatten()
                    .filter_map(|(nb, w)| index.get(nb.as_str()).map(|j| (*j, *w)))
                    .collect();
                let sum: f64 = row.iter().map(|(_, w)| w).sum();
                if sum > 0.0 && (sum - 1.0).abs() > 1e-12 {
                    row.into_iter().map(|(j, w)| (j, w / sum)).collect()
                } else {
                    row
                }
            })
            .collect();
        SpatialWeights::from_standardised_rows(rows)
    }
}

/// `--matrix-ids`: a CSV `n,region` mapping the numbers 1…n of an n×n matrix to region ids;
/// or `--matrix-order`: the regions in the order the numbers count them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatrixIds {
    ids: BTreeMap<String, String>,
    /// Where the numbering comes from (a file name, `GB/T 2260 order`), for messages.
    source: String,
}

impl MatrixIds {
    /// Number k = the k-th of `regions` (already region ids, distinct).
    pub fn from_regions(regions: &[impl AsRef<str>], source: &str) -> Self {
        let ids = regions
            .iter()
            .enumerate()
            .map(|(k, r)| ((k + 1).to_string(), r.as_ref().to_owned()))
            .collect();
        Self {
            ids,
            source: source.to_owned(),
        }
    }

    /// An order file: one region per line (blank lines skipped), number k = the k-th; `resolve`
    /// turns what a line says (a GB/T 2260 code, a name) into a region id, `None` when it names
    /// no region. An unknown or repeated region is an error naming its line.
    pub fn from_order(
        text: &str,
        file: &str,
        resolve: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, AnalysisError> {
        let mut regions: Vec<String> = Vec::new();
        let mut lines: BTreeMap<String, usize> = BTreeMap::new();
        for (line, l) in csv_lines(text) {
            let raw = l.split(',').next().unwrap_or_default().trim();
            let region = resolve(raw).ok_or_else(|| {
                bad(
                    file,
                    line,
                    format!("'{raw}' is not a region (expected a GB/T 2260 code such as 110000, or a name)"),
                )
            })?;
            if let Some(first) = lines.insert(region.clone(), line) {
                return Err(bad(
                    file,
                    line,
                    format!("'{raw}' is region {region} again (first on line {first})"),
                ));
            }
            regions.push(region);
        }
        if regions.is_empty() {
            return Err(bad(
                file,
                1,
                "empty file, expected one region per line".into(),
            ));
        }
        Ok(Self::from_regions(&regions, file))
    }

    pub fn from_csv(text: &str, file: &str) -> Result<Self, AnalysisError> {
        let rows = super::parse_two_columns(text, file, ("n", "region"))?;
        let mut ids = BTreeMap::new();
        let mut seen = BTreeSet::new();
        for (line, n, region) in rows {
            let k: usize = n
                .parse()
                .map_err(|_| bad(file, line, format!("'{n}' is not a number 1…n")))?;
            if !seen.insert(region.clone()) {
                return Err(bad(
                    file,
                    line,
                    format!("region '{region}' has two numbers"),
                ));
            }
            if ids.insert(k.to_string(), region).is_some() {
                return Err(bad(file, line, format!("number {k} appears twice")));
            }
        }
        let n = ids.len();
        if let Some(gap) = (1..=n).find(|k| !ids.contains_key(&k.to_string())) {
            return Err(bad(
                file,
                1,
                format!("numbers must run 1…{n}; {gap} is missing"),
            ));
        }
        Ok(Self {
            ids,
            source: file.to_owned(),
        })
    }

    fn region(&self, number: &str) -> Option<&str> {
        let k: usize = number.trim().parse().ok()?;
        self.ids.get(&k.to_string()).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// Points `region,lon,lat` (header required; degrees).
pub fn coordinates_from_csv(text: &str, file: &str) -> Result<Vec<Point>, AnalysisError> {
    let mut lines = csv_lines(text);
    let (hline, head) = lines
        .next()
        .ok_or_else(|| bad(file, 1, "empty file".into()))?;
    if split_fields(head) != ["region", "lon", "lat"] {
        return Err(bad(
            file,
            hline,
            format!("expected header 'region,lon,lat', found '{head}'"),
        ));
    }
    let mut out: Vec<Point> = Vec::new();
    for (line, l) in lines {
        let cells = split_fields(l);
        let [region, lon, lat] = cells.as_slice() else {
            return Err(bad(
                file,
                line,
                format!("expected three fields, found '{l}'"),
            ));
        };
        let coord = |v: &str, what: &str, limit: f64| -> Result<f64, AnalysisError> {
            v.parse::<f64>()
                .ok()
                .filter(|x| x.abs() <= limit)
                .ok_or_else(|| {
                    bad(
                        file,
                        line,
                        format!(
                            "{what} '{v}' of region '{region}' is not a number within ±{limit}"
                        ),
                    )
                })
        };
        let (lon, lat) = (
            coord(lon, "longitude", 180.0)?,
            coord(lat, "latitude", 90.0)?,
        );
        if out.iter().any(|p| p.0 == *region) {
            return Err(bad(
                file,
                line,
                format!("region '{region}' is listed twice"),
            ));
        }
        out.push((region.clone(), lon, lat));
    }
    Ok(out)
}

/// The points of `regions`, in this order; a region without coordinates is an error naming
/// the file and the region.
pub fn points_for(
    points: &[Point],
    regions: &[String],
    file: &str,
) -> Result<Vec<Point>, AnalysisError> {
    regions
        .iter()
        .map(|r| {
            points
                .iter()
                .find(|p| p.0 == *r)
                .cloned()
                .ok_or_else(|| AnalysisError::MissingRegion {
                    file: file.to_owned(),
                    region: r.clone(),
                })
        })
        .collect()
}

fn first_duplicate(names: &[String]) -> Option<&str> {
    let mut seen = BTreeSet::new();
    names
        .iter()
        .find(|n| !seen.insert(n.as_str()))
        .map(String::as_str)
}

fn bad(file: &str, line: usize, message: String) -> AnalysisError {
    AnalysisError::BadInput {
        file: file.to_owned(),
        line,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn square_matrix_with_ids_rows_in_any_order() {
        let ids = MatrixIds::from_csv("n,region\n1,A\n2,B\n3,C\n", "ids.csv").unwrap();
        let m = WeightsMatrix::from_csv(",1,2,3\n3,1,1,0\n1,0,2,2\n2,1,0,3\n", "w.csv", Some(&ids))
            .unwrap();
        let regions = ["A".to_owned(), "B".to_owned(), "C".to_owned()];
        m.check_regions(&regions).unwrap();
        let w = m.standardised(&regions);
        // A: 0, 2, 2 → ½, ½; B: 1, 0, 3 → ¼, ¾; C: 1, 1, 0 → ½, ½.
        assert_eq!(w.row(0), [(1, 0.5), (2, 0.5)]);
        assert_eq!(w.row(1), [(0, 0.25), (2, 0.75)]);
        assert_eq!(w.row(2), [(0, 0.5), (1, 0.5)]);
    }

    #[test]
    fn numbered_matrix_in_the_order_of_a_code_list() {
        let resolve = |raw: &str| {
            let code = match raw {
                "110000" | "11" => "CN-BJ",
                "120000" => "CN-TJ",
                "310000" => "CN-SH",
                _ => return None,
            };
            Some(code.to_owned())
        };
        // 1 = 上海, 2 = 北京, 3 = 天津 (a blank line is no region).
        let order = MatrixIds::from_order("310000\n11\n\n120000\n", "codes.txt", resolve).unwrap();
        let m =
            WeightsMatrix::from_csv(",1,2,3\n1,0,1,3\n2,1,0,1\n3,2,2,0\n", "w.csv", Some(&order))
                .unwrap();
        let regions = ["CN-BJ".to_owned(), "CN-SH".to_owned(), "CN-TJ".to_owned()];
        m.check_regions(&regions).unwrap();
        let w = m.standardised(&regions);
        // 北京 (row 2): 上海 1, 天津 1 → ½, ½; 上海 (row 1): 北京 1, 天津 3 → ¼, ¾;
        // 天津 (row 3): 上海 2, 北京 2 → ½, ½.
        assert_eq!(w.row(0), &[(1, 0.5), (2, 0.5)]);
        assert_eq!(w.row(1), &[(0, 0.25), (2, 0.75)]);
        assert_eq!(w.row(2), &[(0, 0.5), (1, 0.5)]);

        let wrong_n =
            WeightsMatrix::from_csv(",1,2\n1,0,1\n2,1,0\n", "w.csv", Some(&order)).unwrap_err();
        assert_eq!(
            wrong_n.to_string(),
            "w.csv, line 1: the matrix numbers 2 regions but codes.txt has 3: the numbers 1…n must count the same regions"
        );
        let unknown = MatrixIds::from_order("110000\n990000\n", "codes.txt", resolve).unwrap_err();
        assert_eq!(
            unknown.to_string(),
            "codes.txt, line 2: '990000' is not a region (expected a GB/T 2260 code such as 110000, or a name)"
        );
        let twice =
            MatrixIds::from_order("110000\n120000\n11\n", "codes.txt", resolve).unwrap_err();
        assert_eq!(
            twice.to_string(),
            "codes.txt, line 3: '11' is region CN-BJ again (first on line 1)"
        );
    }

    #[test]
    fn a_standardised_matrix_stays_as_it_is() {
        let m = WeightsMatrix::from_csv(
            ",A,B,C\nA,0,0.3,0.7\nB,0.1,0,0.9\nC,0.5,0.5,0\n",
            "w.csv",
            None,
        )
        .unwrap();
        let w = m.standardised(&["A", "B", "C"]);
        assert_eq!(w.row(0), [(1, 0.3), (2, 0.7)]);
        assert_eq!(w.row(1), [(0, 0.1), (2, 0.9)]);
        // Restricted to A and B, A's row is re-standardised over B alone.
        assert_eq!(m.standardised(&["A", "B"]).row(0), [(1, 1.0)]);
    }

    #[test]
    fn bad_matrices_name_file_line_and_region() {
        let err = WeightsMatrix::from_csv(",A,B\nA,0,1\nB,1\n", "w.csv", None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "w.csv, line 3: the matrix is not square: 1 weight(s) in this row, 2 region(s) in the header"
        );
        let err = WeightsMatrix::from_csv(",A,B\nA,0,-1\nB,1,0\n", "w.csv", None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "w.csv, line 2: weight -1 of 'A' → 'B' is negative or not finite"
        );
        let err = WeightsMatrix::from_csv(",A,B\nA,0,1\n", "w.csv", None).unwrap_err();
        assert!(
            err.to_string()
                .contains("region 'B' has a column but no row"),
            "{err}"
        );
        let m = WeightsMatrix::from_csv(",A,Z\nA,0,1\nZ,1,0\n", "w.csv", None).unwrap();
        let err = m
            .check_regions(&["A".to_owned(), "B".to_owned()])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "w.csv, line 3: region 'Z' is not among the regions of the scores"
        );
        let m = WeightsMatrix::from_csv(",A\nA,0\n", "w.csv", None).unwrap();
        let err = m
            .check_regions(&["A".to_owned(), "B".to_owned()])
            .unwrap_err();
        assert_eq!(err.to_string(), "w.csv: no row for region 'B'");
        let edges =
            WeightsMatrix::from_csv("region,neighbor,weight\nA,B,2\n", "e.csv", None).unwrap();
        edges
            .check_regions(&["A".to_owned(), "B".to_owned(), "C".to_owned()])
            .unwrap();
        let err = WeightsMatrix::from_csv("from,to\nA,B\n", "e.csv", None).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("e.csv, line 1: expected an edge list"),
            "{err}"
        );
    }

    #[test]
    fn economic_weights_by_hand() {
        // Means 1, 2, 4: |Δ| = 1, 3, 2 → A: 1, 1/3 → ¾, ¼; B: 1, ½ → ⅔, ⅓; C: ⅓, ½ → ⅖, ⅗.
        let means = [
            ("A".to_owned(), 1.0),
            ("B".to_owned(), 2.0),
            ("C".to_owned(), 4.0),
        ];
        let w = WeightsMatrix::economic(&means, "gdp").standardised(&["A", "B", "C"]);
        let close = |got: &[(usize, f64)], want: [(usize, f64); 2]| {
            got.len() == 2
                && got
                    .iter()
                    .zip(want)
                    .all(|(g, w)| g.0 == w.0 && (g.1 - w.1).abs() < 1e-15)
        };
        assert!(close(w.row(0), [(1, 0.75), (2, 0.25)]), "{:?}", w.row(0));
        assert!(
            close(w.row(1), [(0, 2.0 / 3.0), (2, 1.0 / 3.0)]),
            "{:?}",
            w.row(1)
        );
        assert!(close(w.row(2), [(0, 0.4), (1, 0.6)]), "{:?}", w.row(2));
        let tied = [
            ("A".to_owned(), 1.0),
            ("B".to_owned(), 1.0),
            ("C".to_owned(), 3.0),
        ];
        let m = WeightsMatrix::economic(&tied, "gdp");
        assert_eq!(
            m.notes,
            ["economic weights (gdp): equal means, so no weight between A–B"]
        );
        assert_eq!(m.standardised(&["A", "B", "C"]).row(0), [(2, 1.0)]);
    }

    #[test]
    fn coordinates_and_distances() {
        let p = coordinates_from_csv("region,lon,lat\nA,0,0\nB,0,1\nC,1,0\n", "c.csv").unwrap();
        // One degree of arc on a 6371 km sphere.
        let d = great_circle_km((0.0, 0.0), (0.0, 1.0));
        assert!((d - 6371.0 * 1f64.to_radians()).abs() < 1e-9);
        let err = points_for(&p, &["A".to_owned(), "D".to_owned()], "c.csv").unwrap_err();
        assert_eq!(err.to_string(), "c.csv: no row for region 'D'");
        let err = coordinates_from_csv("region,lon,lat\nA,0,95\n", "c.csv").unwrap_err();
        assert_eq!(
            err.to_string(),
            "c.csv, line 2: latitude '95' of region 'A' is not a number within ±90"
        );
        let same = [("A".to_owned(), 1.0, 1.0), ("B".to_owned(), 1.0, 1.0)];
        assert!(WeightsMatrix::inverse_distance(&same, 1, "c.csv").is_err());
    }
}
