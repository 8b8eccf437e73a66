//! A base map the user may publish: the province boundaries of a standard map of China (标准地图)
//! as GeoJSON, the South China Sea features its inset shows, and the map's approval number
//! (审图号). Chinese journals print a map of China only on such a base map with its approval
//! number; the bundled Natural Earth outline is not one, so figures drawn on it say so.
//!
//! Owns: reading and validating the user's GeoJSON — bounds on size, nesting, features and
//! positions; valid geometry (numeric positions, closed rings, the nesting of each geometry
//! type); longitude/latitude coordinates (a projected map is refused with the advice to export
//! it in EPSG:4326); every feature matched to a province of the region set (by code or name,
//! through `RegionSet::classify`) or to Taiwan, Hong Kong or Macao (drawn without data), or
//! marked as an inset feature; every province of the set present — and the stored form of a
//! valid map ([`StoredBaseMap`]); [`save`] and [`load`], the one way pages, the JSON API and
//! the CLI store and read the data dir's map. Must not: draw (the chart module projects and
//! draws [`BaseMap`]) or write files itself (the store does, atomically).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::chart::ChartError;
use crate::chart::map::{ChinaMap, Polygon, RegionKind, RegionShape, Ring, Shape};
use crate::ingest::{RegionMatch, RegionSet};
use crate::store::Store;

/// Largest GeoJSON accepted, bytes (a province-level standard map at 1:1,000,000 is a few MB).
pub const MAX_BYTES: usize = 24 << 20;
/// Most features in one map.
pub const MAX_FEATURES: usize = 2_000;
/// Most positions (coordinate pairs) over all features.
pub const MAX_POSITIONS: usize = 1_500_000;
/// Deepest nesting of arrays and objects (a MultiPolygon feature in a collection needs 8).
pub const MAX_DEPTH: usize = 16;
/// Longest approval-number text, characters.
pub const MAX_APPROVAL_CHARS: usize = 80;

/// The property that marks a feature as part of the South China Sea inset (islands, the
/// boundary line drawn as polygons); line features belong to the inset without it.
pub const INSET_PROPERTY: &str = "inset";

/// Properties tried first, in this order, to match a feature to a region; then every other
/// property. These are the usual names in province GeoJSON exports (DataV: `adcode`, `name`;
/// GADM: `NAME_1`; shapefile conversions: `code`, `NAME`).
const MATCH_KEYS: [&str; 10] = [
    "code",
    "adcode",
    "iso_3166_2",
    "gb",
    "name",
    "name_zh",
    "NAME",
    "NAME_1",
    "name_en",
    "省",
];

/// Regions a map of China shows that the statistical region set leaves out (no provincial data
/// in the NBS series): matched by these spellings and drawn hatched, "no data". The same three as
/// the bundled map's `no-data` features.
const NO_DATA_REGIONS: &str = "code,name_zh,name_en,group,aliases
CN-TW,台湾省,Taiwan,,台湾|71|710000|Taiwan Province
CN-HK,香港特别行政区,Hong Kong,,香港|81|810000|Hong Kong SAR|Hongkong
CN-MO,澳门特别行政区,Macao,,澳门|82|820000|Macau|Macao SAR
";

/// A validated base map: province polygons and inset features in degrees (WGS 84 / CGCS2000
/// longitude, latitude), with the approval number.
#[derive(Debug, Clone, PartialEq)]
pub struct BaseMap {
    pub approval: String,
    pub regions: Vec<BaseRegion>,
    /// Drawn only in the South China Sea inset.
    pub inset: Vec<Shape>,
    /// Number of features and positions read (the page reports them).
    pub features: usize,
    pub positions: usize,
}

/// One region of the base map (a province of the set, or Taiwan, Hong Kong, Macao).
#[derive(Debug, Clone, PartialEq)]
pub struct BaseRegion {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    /// False for the regions without provincial data.
    pub in_set: bool,
    pub polygons: Vec<Polygon>,
}

impl BaseMap {
    /// The caption printed under a map drawn on this base map.
    pub fn caption(&self) -> String {
        caption(&self.approval)
    }

    /// The map drawn on this base map: projected, with the South China Sea inset and the
    /// caption.
    pub fn chart(&self) -> Result<ChinaMap, ChartError> {
        let regions = self
            .regions
            .iter()
            .map(|r| RegionShape {
                code: r.code.clone(),
                name_zh: r.name_zh.clone(),
                name_en: r.name_en.clone(),
                kind: if r.in_set {
                    RegionKind::Province
                } else {
                    RegionKind::NoData
                },
                polygons: r.polygons.clone(),
            })
            .collect();
        ChinaMap::standard(regions, &self.inset, self.caption())
    }
}

/// What the maps are drawn on, as the publish page and `/api/v1/basemap` report it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BaseMapStatus {
    pub file_name: String,
    pub approval: String,
    /// The caption under every map (`审图号：…`).
    pub caption: String,
    /// Regions matched (provinces of the set plus Taiwan, Hong Kong, Macao).
    pub regions: usize,
    /// Features of the inset (South China Sea islands and lines).
    pub inset_features: usize,
    pub features: usize,
    pub positions: usize,
}

impl BaseMapStatus {
    pub fn of(map: &BaseMap, file_name: &str) -> BaseMapStatus {
        BaseMapStatus {
            file_name: file_name.to_owned(),
            approval: map.approval.clone(),
            caption: map.caption(),
            regions: map.regions.len(),
            inset_features: map.inset.len(),
            features: map.features,
            positions: map.positions,
        }
    }
}

/// `审图号：<approval>` unless the text already says 审图号.
pub fn caption(approval: &str) -> String {
    if approval.starts_with("审图号") {
        approval.to_owned()
    } else {
        format!("审图号：{approval}")
    }
}

/// The form a base map is stored in (one JSON file, so it is replaced in one rename): the
/// user's GeoJSON as given, validated again when read, and the approval number.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredBaseMap {
    pub approval: String,
    /// The uploaded file's name, for the page.
    pub file_name: String,
    pub geojson: String,
}

/// Validates a base map and stores it in the data dir, replacing the stored one only when the
/// new one is valid (an invalid map changes nothing).
pub fn save(
    store: &Store,
    geojson: &str,
    file_name: &str,
    approval: &str,
    actor: &str,
) -> crate::Result<BaseMap> {
    let map = parse(geojson, approval, &RegionSet::cn_provinces())?;
    let stored = StoredBaseMap {
        approval: map.approval.clone(),
        file_name: file_name.to_owned(),
        geojson: geojson.to_owned(),
    };
    let bytes = serde_json::to_vec(&stored)
        .map_err(|e| crate::Error::Internal(format!("base map record: {e}")))?;
    store.put_basemap(&bytes, actor, &format!("{} ({file_name})", map.approval))?;
    Ok(map)
}

/// The data dir's base map, if one is stored, read and validated again.
pub fn load(store: &Store) -> crate::Result<Option<(StoredBaseMap, BaseMap)>> {
    let Some(bytes) = store.basemap()? else {
        return Ok(None);
    };
    let stored: StoredBaseMap = serde_json::from_slice(&bytes)
        .map_err(|e| crate::Error::Internal(format!("stored base map record: {e}")))?;
    let map = parse(
        &stored.geojson,
        &stored.approval,
        &RegionSet::cn_provinces(),
    )?;
    Ok(Some((stored, map)))
}

/// Why a base map is refused. Every message names the feature (its index from 0 and the
/// property that identifies it) where one is at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BaseMapError {
    #[error(
        "the base map has more than {limit} {what}; simplify the map (province level is enough)"
    )]
    TooLarge { what: &'static str, limit: usize },
    #[error("the base map nests arrays and objects deeper than {limit} levels at byte {at}")]
    TooDeep { limit: usize, at: usize },
    #[error("the base map is not valid JSON at line {line}, column {column}: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("the base map is not a GeoJSON FeatureCollection: {0}")]
    NotCollection(String),
    #[error(
        "the base map declares the coordinate system {name}; export it in EPSG:4326 (WGS 84 longitude/latitude; CGCS2000 / EPSG:4490 is accepted too)"
    )]
    Crs { name: String },
    #[error(
        "feature {index} ({label}) has the coordinate [{x}, {y}], which is not a longitude/latitude: the map looks projected (metres); export it in EPSG:4326 (WGS 84 longitude/latitude)"
    )]
    Projected {
        index: usize,
        label: String,
        x: f64,
        y: f64,
    },
    #[error(
        "feature {index} ({label}) lies outside China (first position [{lon}, {lat}]); are longitude and latitude swapped?"
    )]
    OutsideChina {
        index: usize,
        label: String,
        lon: f64,
        lat: f64,
    },
    #[error("feature {index} ({label}): {problem}")]
    Geometry {
        index: usize,
        label: String,
        problem: String,
    },
    #[error(
        "feature {index} ({label}) matches no province of the region set{hint}; give it the province's code or name, or mark a South China Sea feature with \"{INSET_PROPERTY}\": true"
    )]
    Unmatched {
        index: usize,
        label: String,
        hint: String,
    },
    #[error("the base map has no feature for {}", .0.join(", "))]
    Missing(Vec<String>),
    #[error("approval number: {0}")]
    Approval(String),
}

impl BaseMapError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            BaseMapError::TooLarge { .. } | BaseMapError::TooDeep { .. } => "basemap.too_large",
            BaseMapError::Json { .. } | BaseMapError::NotCollection(_) => "basemap.json",
            BaseMapError::Crs { .. } | BaseMapError::Projected { .. } => "basemap.crs",
            BaseMapError::OutsideChina { .. } => "basemap.outside",
            BaseMapError::Geometry { .. } => "basemap.geometry",
            BaseMapError::Unmatched { .. } => "basemap.unmatched",
            BaseMapError::Missing(_) => "basemap.missing",
            BaseMapError::Approval(_) => "basemap.approval",
        }
    }
}

/// Checks the approval number: present, one line, at most [`MAX_APPROVAL_CHARS`].
pub fn check_approval(raw: &str) -> Result<String, BaseMapError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(BaseMapError::Approval(
            "missing: a standard map states its approval number (审图号), e.g. GS(2024)0650号"
                .into(),
        ));
    }
    if text.chars().count() > MAX_APPROVAL_CHARS {
        return Err(BaseMapError::Approval(format!(
            "longer than {MAX_APPROVAL_CHARS} characters"
        )));
    }
    if text.chars().any(char::is_control) {
        return Err(BaseMapError::Approval("must be one line of text".into()));
    }
    Ok(text.to_owned())
}

/// Reads and validates a base map (see the module doc) against the provinces of `set`.
pub fn parse(geojson: &str, approval: &str, set: &RegionSet) -> Result<BaseMap, BaseMapError> {
    let approval = check_approval(approval)?;
    if geojson.len() > MAX_BYTES {
        return Err(BaseMapError::TooLarge {
            what: "bytes",
            limit: MAX_BYTES,
        });
    }
    check_depth(geojson)?;
    let doc: Value = serde_json::from_str(geojson).map_err(|e| BaseMapError::Json {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    let root = doc
        .as_object()
        .ok_or_else(|| BaseMapError::NotCollection("the file is not a JSON object".into()))?;
    if let Some(name) = crs_name(root)
        && !is_lon_lat_crs(&name)
    {
        return Err(BaseMapError::Crs { name });
    }
    let features = root
        .get("features")
        .and_then(Value::as_array)
        .ok_or_else(|| BaseMapError::NotCollection("it has no \"features\" array".into()))?;
    if features.len() > MAX_FEATURES {
        return Err(BaseMapError::TooLarge {
            what: "features",
            limit: MAX_FEATURES,
        });
    }
    let no_data = RegionSet::from_csv("cn-no-data", NO_DATA_REGIONS, "no-data regions")
        .expect("the literal no-data region list is valid");
    let mut positions = 0usize;
    let mut regions: Vec<BaseRegion> = Vec::new();
    let mut inset: Vec<Shape> = Vec::new();
    for (index, f) in features.iter().enumerate() {
        let empty = Map::new();
        let props = f
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let label = label(props);
        let at = |problem: String| BaseMapError::Geometry {
            index,
            label: label.clone(),
            problem,
        };
        let geometry = f
            .get("geometry")
            .filter(|g| !g.is_null())
            .ok_or_else(|| at("has no geometry".into()))?;
        let mut reader = Reader {
            index,
            label: &label,
            positions: &mut positions,
        };
        let shapes = reader.geometry(geometry)?;
        let is_inset = props.get(INSET_PROPERTY).is_some_and(truthy)
            || shapes.iter().all(|s| matches!(s, Shape::Line(_)));
        if is_inset {
            inset.extend(shapes);
            continue;
        }
        let polygons: Vec<Polygon> = shapes
            .into_iter()
            .filter_map(|s| match s {
                Shape::Area(p) => Some(p),
                Shape::Line(_) => None,
            })
            .collect();
        check_in_china(index, &label, &polygons)?;
        let (code, name_zh, name_en, in_set) = match match_region(props, set, &no_data) {
            Some(found) => found,
            None => {
                return Err(BaseMapError::Unmatched {
                    index,
                    label: label.clone(),
                    hint: unmatched_hint(props, set),
                });
            }
        };
        match regions.iter_mut().find(|r| r.code == code) {
            // A province in several features (mainland and islands): one region.
            Some(r) => r.polygons.extend(polygons),
            None => regions.push(BaseRegion {
                code,
                name_zh,
                name_en,
                in_set,
                polygons,
            }),
        }
    }
    let missing: Vec<String> = set
        .regions()
        .iter()
        .filter(|r| !regions.iter().any(|b| b.code == r.code.as_str()))
        .map(|r| format!("{} {} ({})", r.name_zh, r.name_en, r.code.as_str()))
        .collect();
    if !missing.is_empty() {
        return Err(BaseMapError::Missing(missing));
    }
    Ok(BaseMap {
        approval,
        regions,
        inset,
        features: features.len(),
        positions,
    })
}

/// Refuses nesting deeper than [`MAX_DEPTH`] before anything is parsed (brackets outside
/// strings are counted).
fn check_depth(text: &str) -> Result<(), BaseMapError> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (at, b) in text.bytes().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(BaseMapError::TooDeep {
                        limit: MAX_DEPTH,
                        at,
                    });
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// The legacy GeoJSON `crs` member's name, if any (RFC 7946 dropped it, but exports from GIS
/// tools still write it, and a projected map usually names its projection there).
fn crs_name(root: &Map<String, Value>) -> Option<String> {
    let crs = root.get("crs")?;
    let name = crs
        .get("properties")
        .and_then(|p| p.get("name"))
        .and_then(Value::as_str)
        .map_or_else(|| crs.to_string(), str::to_owned);
    Some(name)
}

/// Geographic longitude/latitude systems a map of China comes in: WGS 84 (CRS84, EPSG:4326)
/// and CGCS2000 (EPSG:4490), which differ by centimetres.
fn is_lon_lat_crs(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    [
        "CRS84",
        "EPSG::4326",
        "EPSG:4326",
        "EPSG::4490",
        "EPSG:4490",
    ]
    .iter()
    .any(|k| n.contains(k))
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|x| x != 0.0),
        Value::String(s) => matches!(s.as_str(), "true" | "1" | "yes"),
        _ => false,
    }
}

/// A property value as text, when it can name a region (a string or an integer code).
fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

/// The properties tried for a match: [`MATCH_KEYS`] first, then the others.
fn candidates(props: &Map<String, Value>) -> impl Iterator<Item = (&str, String)> {
    let first = MATCH_KEYS.iter().filter_map(|k| props.get_key_value(*k));
    let rest = props
        .iter()
        .filter(|(k, _)| !MATCH_KEYS.contains(&k.as_str()));
    first
        .chain(rest)
        .filter_map(|(k, v)| text_of(v).map(|t| (k.as_str(), t)))
}

/// How errors name a feature: its first identifying property, `name = "…"`.
fn label(props: &Map<String, Value>) -> String {
    const MAX: usize = 60;
    match candidates(props).next() {
        Some((k, v)) => {
            let v: String = v.chars().take(MAX).collect();
            format!("{k} = {v:?}")
        }
        None => "no properties".into(),
    }
}

fn match_region(
    props: &Map<String, Value>,
    set: &RegionSet,
    no_data: &RegionSet,
) -> Option<(String, String, String, bool)> {
    candidates(props).find_map(|(_, text)| {
        [(set, true), (no_data, false)]
            .into_iter()
            .find_map(|(regions, in_set)| match regions.classify(&text) {
                Some(RegionMatch::Matched(code)) => regions.get(code.as_str()).map(|r| {
                    let (zh, en) = (r.name_zh.clone(), r.name_en.clone());
                    (r.code.as_str().to_owned(), zh, en, in_set)
                }),
                _ => None,
            })
    })
}

/// " (an aggregate, not a province)" or " (did you mean 广东省 CN-GD?)" for an unmatched feature.
fn unmatched_hint(props: &Map<String, Value>, set: &RegionSet) -> String {
    for (_, text) in candidates(props) {
        match set.classify(&text) {
            Some(RegionMatch::Aggregate) => {
                return format!(" ({text} is an aggregate, not a province)");
            }
            _ => {
                if let Some(code) = set.suggest(&text)
                    && let Some(r) = set.get(code.as_str())
                {
                    return format!(" (did you mean {} {}?)", r.name_zh, r.code.as_str());
                }
            }
        }
    }
    String::new()
}

/// The envelope positions of China's territory lie in, with a margin (73.5–135.1° E, 3.8–53.6° N).
const CHINA_LON: std::ops::RangeInclusive<f64> = 70.0..=140.0;
const CHINA_LAT: std::ops::RangeInclusive<f64> = 0.0..=56.0;

fn check_in_china(index: usize, label: &str, polygons: &[Polygon]) -> Result<(), BaseMapError> {
    let mut all = polygons.iter().flatten().flatten();
    let Some(&(lon, lat)) = all.clone().next() else {
        return Ok(());
    };
    if all.any(|(x, y)| CHINA_LON.contains(x) && CHINA_LAT.contains(y)) {
        Ok(())
    } else {
        Err(BaseMapError::OutsideChina {
            index,
            label: label.to_owned(),
            lon,
            lat,
        })
    }
}

/// Reads one feature's geometry, counting positions against [`MAX_POSITIONS`].
struct Reader<'a> {
    index: usize,
    label: &'a str,
    positions: &'a mut usize,
}

impl Reader<'_> {
    fn err(&self, problem: impl fmt::Display) -> BaseMapError {
        BaseMapError::Geometry {
            index: self.index,
            label: self.label.to_owned(),
            problem: problem.to_string(),
        }
    }

    fn geometry(&mut self, g: &Value) -> Result<Vec<Shape>, BaseMapError> {
        let kind = g.get("type").and_then(Value::as_str).unwrap_or("");
        let coords = g
            .get("coordinates")
            .ok_or_else(|| self.err(format!("{kind} geometry without \"coordinates\"")))?;
        let not_list = |what: &str| format!("{kind} coordinates: {what} is not an array");
        let shapes = match kind {
            "Polygon" => vec![Shape::Area(self.polygon(coords, "")?)],
            "MultiPolygon" => {
                let mut out = Vec::new();
                let list = coords
                    .as_array()
                    .ok_or_else(|| self.err(not_list("the polygon list")))?;
                for (i, p) in list.iter().enumerate() {
                    out.push(Shape::Area(self.polygon(p, &format!(" of polygon {i}"))?));
                }
                out
            }
            "LineString" => vec![Shape::Line(self.line(coords, "the line")?)],
            "MultiLineString" => {
                let mut out = Vec::new();
                let list = coords
                    .as_array()
                    .ok_or_else(|| self.err(not_list("the line list")))?;
                for (i, l) in list.iter().enumerate() {
                    out.push(Shape::Line(self.line(l, &format!("line {i}"))?));
                }
                out
            }
            other => {
                return Err(self.err(format!(
                    "geometry type {other:?} is not supported (Polygon, MultiPolygon, LineString, MultiLineString)"
                )));
            }
        };
        if shapes.is_empty() {
            return Err(self.err(format!("the {kind} has no coordinates")));
        }
        Ok(shapes)
    }

    fn polygon(&mut self, v: &Value, of: &str) -> Result<Polygon, BaseMapError> {
        let rings = v
            .as_array()
            .ok_or_else(|| self.err(format!("the rings{of} are not an array of rings")))?;
        if rings.is_empty() {
            return Err(self.err(format!("polygon{of} has no ring")));
        }
        let mut out = Vec::with_capacity(rings.len());
        for (i, r) in rings.iter().enumerate() {
            let what = format!("ring {i}{of}");
            let ring = self.positions(r, &what)?;
            if ring.len() < 4 {
                return Err(self.err(format!(
                    "{what} has {} positions; a closed ring needs at least 4",
                    ring.len()
                )));
            }
            if ring.first() != ring.last() {
                let (a, b) = (ring[0], ring[ring.len() - 1]);
                return Err(self.err(format!(
                    "{what} is not closed: it starts at [{}, {}] and ends at [{}, {}]",
                    a.0, a.1, b.0, b.1
                )));
            }
            out.push(ring);
        }
        Ok(out)
    }

    fn line(&mut self, v: &Value, what: &str) -> Result<Ring, BaseMapError> {
        let line = self.positions(v, what)?;
        if line.len() < 2 {
            return Err(self.err(format!("{what} has fewer than 2 positions")));
        }
        Ok(line)
    }

    fn positions(&mut self, v: &Value, what: &str) -> Result<Ring, BaseMapError> {
        let pts = v
            .as_array()
            .ok_or_else(|| self.err(format!("{what} is not an array of positions")))?;
        *self.positions += pts.len();
        if *self.positions > MAX_POSITIONS {
            return Err(BaseMapError::TooLarge {
                what: "positions",
                limit: MAX_POSITIONS,
            });
        }
        let mut out = Vec::with_capacity(pts.len());
        for (k, p) in pts.iter().enumerate() {
            let pair = p
                .as_array()
                .filter(|a| a.len() >= 2)
                .and_then(|a| Some((a[0].as_f64()?, a[1].as_f64()?)));
            let Some((x, y)) = pair else {
                return Err(self.err(format!(
                    "position {k} of {what} is {p}, not [longitude, latitude] numbers"
                )));
            };
            if !(-180.0..=180.0).contains(&x) || !(-90.0..=90.0).contains(&y) {
                return Err(BaseMapError::Projected {
                    index: self.index,
                    label: self.label.to_owned(),
                    x,
                    y,
                });
            }
            out.push((x, y));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SQUARES: &str = include_str!("../../tests/fixtures/basemap/squares.geojson");

    fn set() -> RegionSet {
        RegionSet::cn_provinces()
    }

    fn doc() -> Value {
        serde_json::from_str(SQUARES).unwrap()
    }

    fn parse_doc(d: &Value) -> Result<BaseMap, BaseMapError> {
        parse(&d.to_string(), "GS(2024)0650号", &set())
    }

    /// The fixture with feature `i` replaced by `f`.
    fn with_feature(i: usize, f: Value) -> Value {
        let mut d = doc();
        d["features"][i] = f;
        d
    }

    #[test]
    fn the_fixture_reads_as_31_provinces_3_no_data_regions_and_the_inset() {
        let m = parse(SQUARES, " GS(2024)0650号 ", &set()).unwrap();
        assert_eq!(m.approval, "GS(2024)0650号");
        assert_eq!(m.caption(), "审图号：GS(2024)0650号");
        assert_eq!(m.regions.iter().filter(|r| r.in_set).count(), 31);
        let mut no_data: Vec<&str> = m
            .regions
            .iter()
            .filter(|r| !r.in_set)
            .map(|r| r.code.as_str())
            .collect();
        no_data.sort_unstable();
        assert_eq!(no_data, ["CN-HK", "CN-MO", "CN-TW"]);
        // Matched by `name` (北京市 → CN-BJ) with the set's names.
        let bj = m.regions.iter().find(|r| r.code == "CN-BJ").unwrap();
        assert_eq!(
            (bj.name_zh.as_str(), bj.name_en.as_str()),
            ("北京市", "Beijing")
        );
        assert_eq!(bj.polygons[0][0][0], (115.8046, 39.5774));
        // The island square (marked) and the boundary line (a line) go to the inset.
        assert_eq!(m.inset.len(), 2);
        assert!(matches!(&m.inset[0], Shape::Area(p) if p[0][0] == (111.7, 9.7)));
        assert!(matches!(&m.inset[1], Shape::Line(l) if l.len() == 8));
        assert_eq!(m.features, 36);
        // 34 squares of 5 positions, the island's 5, the line's 8.
        assert_eq!(m.positions, 35 * 5 + 8);
        assert_eq!(caption("审图号：GS(2019)1822号"), "审图号：GS(2019)1822号");
    }

    #[test]
    fn a_province_is_matched_by_its_code_alone_and_in_several_features() {
        let mut d = doc();
        // Guangdong by GB code only, and Hainan split into two features.
        d["features"][18]["properties"] = json!({ "adcode": 440000 });
        let hainan = d["features"][20].clone();
        assert_eq!(hainan["properties"]["name"], "海南省");
        d["features"].as_array_mut().unwrap().push(hainan);
        let m = parse_doc(&d).unwrap();
        assert!(m.regions.iter().any(|r| r.code == "CN-GD"));
        let hi = m.regions.iter().find(|r| r.code == "CN-HI").unwrap();
        assert_eq!(hi.polygons.len(), 2);
        assert_eq!(m.regions.len(), 34);
    }

    #[test]
    fn an_unmatched_feature_is_named_with_its_index_and_property() {
        let d = with_feature(
            5,
            json!({"type":"Feature","properties":{"name":"火星省"},"geometry":{"type":"Polygon","coordinates":[[[110,30],[111,30],[111,31],[110,30]]]}}),
        );
        let e = parse_doc(&d).unwrap_err();
        assert_eq!(e.code(), "basemap.unmatched");
        let msg = e.to_string();
        assert!(
            msg.starts_with("feature 5 (name = \"火星省\") matches no province"),
            "{msg}"
        );
        assert!(msg.contains("\"inset\": true"), "{msg}");
        // An aggregate is said to be one.
        let d = with_feature(
            5,
            json!({"type":"Feature","properties":{"name":"全国"},"geometry":{"type":"Polygon","coordinates":[[[110,30],[111,30],[111,31],[110,30]]]}}),
        );
        assert!(
            parse_doc(&d)
                .unwrap_err()
                .to_string()
                .contains("全国 is an aggregate")
        );
    }

    #[test]
    fn regions_of_the_set_missing_from_the_map_are_listed() {
        let mut d = doc();
        let features = d["features"].as_array_mut().unwrap();
        features.retain(|f| {
            f["properties"]["name"] != "西藏自治区" && f["properties"]["name"] != "上海市"
        });
        let e = parse_doc(&d).unwrap_err();
        assert_eq!(e.code(), "basemap.missing");
        assert_eq!(
            e.to_string(),
            "the base map has no feature for 上海市 Shanghai (CN-SH), 西藏自治区 Tibet (CN-XZ)"
        );
    }

    #[test]
    fn invalid_geometry_is_refused_naming_feature_and_ring() {
        let polygon = |coords: Value| {
            with_feature(
                2,
                json!({"type":"Feature","properties":{"name":"河北省"},"geometry":{"type":"Polygon","coordinates":coords}}),
            )
        };
        let cases = [
            (
                polygon(json!([[[114, 38], [116, 38], [116, 40], [114, 40]]])),
                "feature 2 (name = \"河北省\"): ring 0 is not closed: it starts at [114, 38] and ends at [114, 40]",
            ),
            (
                polygon(json!([[[114, 38], [116, 38], [114, 38]]])),
                "feature 2 (name = \"河北省\"): ring 0 has 3 positions; a closed ring needs at least 4",
            ),
            (
                polygon(json!([[[114, 38], ["116", 38], [116, 40], [114, 38]]])),
                "feature 2 (name = \"河北省\"): position 1 of ring 0 is [\"116\",38], not [longitude, latitude] numbers",
            ),
            // Wrong nesting: a ring where the polygon's list of rings belongs.
            (
                polygon(json!([[114, 38], [116, 38], [116, 40], [114, 38]])),
                "feature 2 (name = \"河北省\"): position 0 of ring 0 is 114, not [longitude, latitude] numbers",
            ),
            (
                with_feature(
                    2,
                    json!({"type":"Feature","properties":{"name":"河北省"},"geometry":{"type":"Point","coordinates":[114, 38]}}),
                ),
                "feature 2 (name = \"河北省\"): geometry type \"Point\" is not supported (Polygon, MultiPolygon, LineString, MultiLineString)",
            ),
            (
                with_feature(
                    2,
                    json!({"type":"Feature","properties":{"name":"河北省"},"geometry":null}),
                ),
                "feature 2 (name = \"河北省\"): has no geometry",
            ),
            (
                with_feature(
                    2,
                    json!({"type":"Feature","properties":{"name":"河北省"},"geometry":{"type":"MultiPolygon","coordinates":[[[[114, 38], [116, 38], [116, 40], [114, 38]]], [[[1, 2]]]]}}),
                ),
                "feature 2 (name = \"河北省\"): ring 0 of polygon 1 has 1 positions; a closed ring needs at least 4",
            ),
        ];
        for (d, want) in cases {
            let e = parse_doc(&d).unwrap_err();
            assert_eq!(e.code(), "basemap.geometry", "{want}");
            assert_eq!(e.to_string(), want);
        }
    }

    #[test]
    fn a_projected_map_is_refused_with_the_advice_to_export_in_epsg_4326() {
        // Web Mercator metres of Beijing.
        let d = with_feature(
            0,
            json!({"type":"Feature","properties":{"name":"北京市"},"geometry":{"type":"Polygon","coordinates":[[[12958000.5, 4852000], [12959000, 4852000], [12959000, 4853000], [12958000.5, 4852000]]]}}),
        );
        let e = parse_doc(&d).unwrap_err();
        assert_eq!(e.code(), "basemap.crs");
        let msg = e.to_string();
        assert!(
            msg.starts_with(
                "feature 0 (name = \"北京市\") has the coordinate [12958000.5, 4852000]"
            ),
            "{msg}"
        );
        assert!(
            msg.contains("looks projected") && msg.contains("EPSG:4326"),
            "{msg}"
        );
        // A declared projected CRS is refused before any feature is read.
        let mut d = doc();
        d["crs"] = json!({"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::3857"}});
        let e = parse_doc(&d).unwrap_err();
        assert_eq!(e.code(), "basemap.crs");
        assert!(e.to_string().contains("EPSG::3857"));
        d["crs"] = json!({"type":"name","properties":{"name":"urn:ogc:def:crs:OGC:1.3:CRS84"}});
        assert!(parse_doc(&d).is_ok());
        // Longitude and latitude in range but far from China (latitude first: [39.9, 30.5]).
        let d = with_feature(
            0,
            json!({"type":"Feature","properties":{"name":"北京市"},"geometry":{"type":"Polygon","coordinates":[[[39.9, 30.5], [40.9, 30.5], [40.9, 31.5], [39.9, 30.5]]]}}),
        );
        let e = parse_doc(&d).unwrap_err();
        assert_eq!(e.code(), "basemap.outside");
        assert!(e.to_string().contains(
            "feature 0 (name = \"北京市\") lies outside China (first position [39.9, 30.5])"
        ));
    }

    #[test]
    fn size_depth_and_count_bounds_and_bad_json() {
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(matches!(
            parse(&deep, "GS", &set()),
            Err(BaseMapError::TooDeep { limit: MAX_DEPTH, at }) if at == MAX_DEPTH
        ));
        // Brackets inside strings do not count.
        let mut d = doc();
        d["features"][0]["properties"]["note"] = json!("[".repeat(40));
        assert!(parse_doc(&d).is_ok());
        let mut d = doc();
        let f = d["features"][0].clone();
        d["features"] = Value::Array(vec![f; MAX_FEATURES + 1]);
        assert_eq!(
            parse_doc(&d).unwrap_err(),
            BaseMapError::TooLarge {
                what: "features",
                limit: MAX_FEATURES
            }
        );
        let big = " ".repeat(MAX_BYTES + 1);
        assert_eq!(
            parse(&big, "GS", &set()).unwrap_err().code(),
            "basemap.too_large"
        );
        let e = parse("{\"features\": [\n  {,]}", "GS", &set()).unwrap_err();
        assert!(
            matches!(
                e,
                BaseMapError::Json {
                    line: 2,
                    column: 4,
                    ..
                }
            ),
            "{e:?}"
        );
        assert_eq!(
            parse("{\"type\": \"Feature\"}", "GS", &set())
                .unwrap_err()
                .to_string(),
            "the base map is not a GeoJSON FeatureCollection: it has no \"features\" array"
        );
    }

    #[test]
    fn the_map_on_a_standard_base_map_has_the_inset_and_the_caption() {
        use crate::chart::Bins;
        use crate::chart::map::MapValue;
        use crate::chart::testutil::{check_xml, choropleth, count, texts};
        use crate::types::Lang;

        let m = parse(SQUARES, "GS(2024)0650号", &set()).unwrap();
        let map = m.chart().unwrap();
        assert_eq!(map.caption(), Some("审图号：GS(2024)0650号"));
        let inset = map.inset().unwrap();
        let (x, y, w, h) = inset.frame;
        let (width, height) = map.size();
        // Lower-right corner, inside the map, a fifth of its width.
        assert_eq!((x + w, y + h), (width - 8.0, height - 8.0));
        assert!(w < width / 4.0 && h > w, "{w}×{h}");
        let inside = |(px, py): (f64, f64)| px > x && px < x + w && py > y && py < y + h;
        // The box's centre and its corners land inside the frame; Beijing and a point west
        // of the box do not.
        assert!(inside(inset.to_px(115.0, 14.0)));
        assert!(inside(inset.to_px(105.5, 24.5)) && inside(inset.to_px(124.5, 3.5)));
        assert!(!inside(inset.to_px(116.4, 39.9)) && !inside(inset.to_px(100.0, 14.0)));
        // South is down: 10° N is below 20° N.
        assert!(inset.to_px(112.0, 10.0).1 > inset.to_px(112.0, 20.0).1);

        let values: Vec<MapValue> = set()
            .regions()
            .iter()
            .enumerate()
            .map(|(i, r)| MapValue {
                code: r.code.as_str().to_owned(),
                name: r.name_en.clone(),
                value: Some(i as f64),
                rank: Some(i as u32 + 1),
                display: i.to_string(),
            })
            .collect();
        let bins = Bins::equal(0.0, 31.0, 5).unwrap();
        let href = |c: &str| Some(format!("/regions/{c}"));
        let svg = choropleth(&map, (&values, &bins), Lang::Zh, &href);
        check_xml(&svg).unwrap();
        assert!(svg.contains("class=\"nqp-chart nqp-map nqp-map-standard\""));
        assert_eq!(count(&svg, "a[href] > path"), 31);
        assert_eq!(texts(&svg, "text.map-caption"), ["审图号：GS(2024)0650号"]);
        assert_eq!(count(&svg, "g.inset rect.inset-frame"), 1);
        assert_eq!(texts(&svg, "g.inset text"), ["南海诸岛"]);
        // The inset draws the island square at (112 ± 0.3° E, 10 ± 0.3° N) where to_px puts it,
        // and the boundary line starting at (108.5° E, 18° N).
        let (ix, iy) = inset.to_px(111.7, 9.7);
        let area = texts_attr(&svg, "path.inset-areas", "d");
        assert!(
            area.starts_with(&format!("M{},{}", num(ix), num(iy))),
            "{area}"
        );
        let (lx, ly) = inset.to_px(108.5, 18.0);
        let line = texts_attr(&svg, "path.inset-lines", "d");
        assert!(line.starts_with(&format!("M{},{}", num(lx), num(ly))) && !line.ends_with('Z'));
        // Guangdong, Guangxi, Hainan, Taiwan, Hong Kong and Macao reach into the box and are
        // drawn there (with their colours); the others (Fujian's square starts at 25.5° N) not.
        assert_eq!(count(&svg, "g.inset g path:not([class])"), 6);
        // The main map is clipped at 17.5° N.
        assert!(svg.contains("<g class=\"regions\" clip-path=\"url(#m-main)\""));
    }

    /// The attribute `attr` of the one element matching `selector`.
    fn texts_attr(svg: &str, selector: &str, attr: &str) -> String {
        let doc = scraper::Html::parse_fragment(svg);
        let sel = scraper::Selector::parse(selector).unwrap();
        let mut hits = doc.select(&sel);
        let first = hits.next().unwrap_or_else(|| panic!("no {selector}"));
        assert!(hits.next().is_none(), "one {selector}");
        first.value().attr(attr).unwrap().to_owned()
    }

    fn num(v: f64) -> String {
        crate::chart::svg::num(v)
    }

    #[test]
    fn save_keeps_the_old_map_until_a_new_one_is_valid_and_load_reads_it_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert!(load(&store).unwrap().is_none());
        let m = save(
            &store,
            SQUARES,
            "squares.geojson",
            "GS(2024)0650号",
            "alice",
        )
        .unwrap();
        let (stored, loaded) = load(&store).unwrap().unwrap();
        assert_eq!(loaded, m);
        assert_eq!(stored.file_name, "squares.geojson");
        // An invalid replacement is refused and the stored map stays as it was.
        let e = save(
            &store,
            "{\"features\": []}",
            "empty.geojson",
            "GS(2025)1号",
            "bob",
        )
        .unwrap_err();
        assert_eq!(e.code(), "basemap.missing");
        let (stored, loaded) = load(&store).unwrap().unwrap();
        assert_eq!(
            (stored.file_name.as_str(), loaded.approval.as_str()),
            ("squares.geojson", "GS(2024)0650号")
        );
    }

    #[test]
    fn the_approval_number_is_required_and_one_short_line() {
        assert_eq!(
            parse(SQUARES, "  ", &set()).unwrap_err().code(),
            "basemap.approval"
        );
        assert_eq!(
            parse(SQUARES, "GS\n(2024)", &set())
                .unwrap_err()
                .to_string(),
            "approval number: must be one line of text"
        );
        assert!(check_approval(&"号".repeat(MAX_APPROVAL_CHARS + 1)).is_err());
        assert_eq!(
            check_approval(&"号".repeat(MAX_APPROVAL_CHARS))
                .unwrap()
                .chars()
                .count(),
            80
        );
    }
}
