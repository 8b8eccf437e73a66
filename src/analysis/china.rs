//! The bundled China defaults: the NBS four-region grouping of the 31 provinces (read from the
//! region set `data/regions/cn-provinces.csv`, column `group`) and their contiguity
//! (`data/geo/cn-provinces-adjacency.csv`; how it was derived is in `data/geo/README.md`), and
//! the centroids of their bundled boundaries for distance weights.
//! Both files are compiled into the binary, so the analyses need no data directory.

use super::{Adjacency, AnalysisError, GroupMap};
use crate::ingest::RegionSet;

const ADJACENCY: &str = include_str!("../../data/geo/cn-provinces-adjacency.csv");
const CENTROIDS: &str = include_str!("../../data/geo/cn-provinces-centroids.csv");
/// Where the bundled centroids come from, for error messages.
pub const CENTROIDS_FILE: &str = "data/geo/cn-provinces-centroids.csv";

/// The NBS grouping East (10) / Central (6) / West (12) / Northeast (3) by ISO 3166-2 code: the
/// `group` column of the bundled region set, as the ingest stage reads it.
pub fn nbs_groups() -> Result<GroupMap, AnalysisError> {
    let set = RegionSet::cn_provinces();
    GroupMap::from_pairs(
        set.regions()
            .iter()
            .map(|r| (r.code.as_str(), r.group.as_str())),
    )
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
    fn nbs_groups_are_the_region_sets_groups() {
        // The sizes 10 / 6 / 12 / 3 are asserted on the region set (`ingest::regions`).
        let g = nbs_groups().unwrap();
        let set = RegionSet::cn_provinces();
        assert_eq!(g.groups().len(), 4);
        for r in set.regions() {
            assert_eq!(
                g.group_of(r.code.as_str()),
                Some(r.group.as_str()),
                "{}",
                r.code
            );
        }
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
