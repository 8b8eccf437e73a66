//! The bundled China defaults: the NBS four-region grouping of the 31 provinces (read from the
//! region set `data/regions/cn-provinces.csv`, column `group`) and their contiguity
//! (`data/geo/cn-provinces-adjacency.csv`; how it was derived is in `data/geo/README.md`), and
//! the centroids of their bundled boundaries for distance weights.
//! Both files are compiled into the binary, so the analyses need no data directory.

use super::{Adjacency, AnalysisError, GroupMap};

const REGION_SET: &str = include_str!("../../data/regions/cn-provinces.csv");
const ADJACENCY: &str = include_str!("../../data/geo/cn-provinces-adjacency.csv");
const CENTROIDS: &str = include_str!("../../data/geo/cn-provinces-centroids.csv");
/// Where the bundled centroids come from, for error messages.
pub const CENTROIDS_FILE: &str = "data/geo/cn-provinces-centroids.csv";

/// The NBS grouping East (10) / Central (6) / West (12) / Northeast (3) by ISO 3166-2 code.
pub fn nbs_groups() -> Result<GroupMap, AnalysisError> {
    let file = "data/regions/cn-provinces.csv";
    let text = REGION_SET.strip_prefix('\u{feff}').unwrap_or(REGION_SET);
    let mut lines = text.lines().enumerate();
    let header: Vec<&str> = lines
        .next()
        .map(|(_, h)| h.split(',').map(str::trim).collect())
        .unwrap_or_default();
    let position = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .ok_or_else(|| AnalysisError::MissingColumn {
                file: file.to_owned(),
                column: name.to_owned(),
            })
    };
    let (code, group) = (position("code")?, position("group")?);
    let mut pairs = Vec::new();
    for (i, line) in lines.filter(|(_, l)| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        match (fields.get(code), fields.get(group)) {
            (Some(c), Some(g)) => pairs.push((*c, *g)),
            _ => {
                return Err(AnalysisError::BadInput {
                    file: file.to_owned(),
                    line: i + 1,
                    message: "missing code or group".to_owned(),
                });
            }
        }
    }
    GroupMap::from_pairs(pairs)
}

/// Contiguity of the 31 provinces (Hainan linked to Guangdong).
pub fn province_adjacency() -> Result<Adjacency, AnalysisError> {
    Adjacency::from_csv(ADJACENCY, "data/geo/cn-provinces-adjacency.csv")
}

/// The centroids (lon, lat) of the 31 provinces' bundled boundaries (`scripts/make_centroids.py`).
pub fn province_centroids() -> Result<Vec<super::weights::Point>, AnalysisError> {
    super::weights::coordinates_from_csv(CENTROIDS, CENTROIDS_FILE)
}

/// True when every one of `regions` (at least one) is a province code of the bundled region
/// set: the 31 provinces, or a subset such as the 30 without Tibet that many papers use.
pub fn is_province_set(regions: &[String]) -> bool {
    !regions.is_empty()
        && nbs_groups().is_ok_and(|g| regions.iter().all(|r| g.group_of(r).is_some()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nbs_groups_have_the_official_sizes() {
        let g = nbs_groups().unwrap();
        let count = |name: &str| {
            [
                "CN-BJ", "CN-TJ", "CN-HE", "CN-SX", "CN-NM", "CN-LN", "CN-JL", "CN-HL",
            ]
            .iter()
            .chain(&[
                "CN-SH", "CN-JS", "CN-ZJ", "CN-AH", "CN-FJ", "CN-JX", "CN-SD",
            ])
            .chain(&[
                "CN-HA", "CN-HB", "CN-HN", "CN-GD", "CN-GX", "CN-HI", "CN-CQ",
            ])
            .chain(&[
                "CN-SC", "CN-GZ", "CN-YN", "CN-XZ", "CN-SN", "CN-GS", "CN-QH",
            ])
            .chain(&["CN-NX", "CN-XJ"])
            .filter(|c| g.group_of(c) == Some(name))
            .count()
        };
        assert_eq!(
            (
                count("East"),
                count("Central"),
                count("West"),
                count("Northeast")
            ),
            (10, 6, 12, 3)
        );
        assert_eq!(g.group_of("CN-HA"), Some("Central"), "CN-HA is Henan");
        assert_eq!(g.group_of("CN-HI"), Some("East"), "CN-HI is Hainan");
    }

    #[test]
    fn province_adjacency_is_complete() {
        let a = province_adjacency().unwrap();
        assert_eq!(a.pair_count(), 69);
        assert_eq!(a.neighbors("CN-HI").collect::<Vec<_>>(), vec!["CN-GD"]);
        let sichuan: Vec<&str> = a.neighbors("CN-SC").collect();
        assert_eq!(
            sichuan,
            vec![
                "CN-CQ", "CN-GS", "CN-GZ", "CN-QH", "CN-SN", "CN-XZ", "CN-YN"
            ]
        );
        assert_eq!(a.neighbors("CN-NM").count(), 8);
    }

    #[test]
    fn province_sets_include_subsets_but_not_other_codes() {
        let some = vec!["CN-BJ".to_owned(), "CN-XJ".to_owned()];
        assert!(is_province_set(&some));
        assert!(!is_province_set(&["CN-BJ".to_owned(), "UKC1".to_owned()]));
        assert!(!is_province_set(&[]));
    }
}
