//! The China choropleth: province boundaries projected once at start-up, coloured per request.
//!
//! Boundaries: `data/geo/cn-provinces.geojson`, built by `scripts/make_geo.py` from Natural
//! Earth 1:50m (public domain): the 31 provinces plus Taiwan, Hong Kong and Macao as regions
//! without data. The South China Sea islands inset is not drawn (the methodology page says so):
//! it is a schematic map. A standard map the user supplies ([`ChinaMap::standard`], validated in
//! `service::basemap`) is drawn with the South China Sea inset (南海诸岛) in the lower-right
//! corner — the box 105–125° E, 3–25° N at a smaller scale, in its own frame — and the caption
//! with its approval number (审图号); the main map then ends at [`MAIN_SOUTH`].
//!
//! Projection: Albers equal-area conic on the sphere (equal area, so a province's ink matches
//! its size), standard parallels 25° N and 47° N, central meridian 105° E, origin latitude 0°,
//! the usual parameters for maps of China. Formulas: Snyder (1987), *Map Projections — A Working
//! Manual*, USGS Professional Paper 1395, pp. 98–101, eqs. (14-1)–(14-6). The projected plane is
//! fitted into a `WIDTH`-px-wide viewBox with north up; every region's SVG path is precomputed
//! with coordinates rounded to 0.1 px.
//!
//! Owns: GeoJSON parsing of the bundled map, projection, the inset's layout, the map SVG. Must not: compute bins or format values
//! (callers pass `Bins` and `display` strings).

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::OnceLock;

use serde_json::Value;

use super::legend::{self, LegendItem, Swatch};
use super::svg::{self, ChartHead, escape_xml, num};
use super::{Bins, ChartError};
use crate::types::Lang;

/// Albers equal-area conic projection on a unit sphere (Snyder 1987, eqs. 14-1 to 14-6).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Albers {
    n: f64,
    c: f64,
    rho0: f64,
    lambda0: f64,
}

impl Albers {
    /// Standard parallels `phi1`, `phi2`, origin latitude `phi0`, central meridian `lambda0`,
    /// all in degrees.
    pub fn new(phi1: f64, phi2: f64, phi0: f64, lambda0: f64) -> Albers {
        let (s1, s2) = (phi1.to_radians().sin(), phi2.to_radians().sin());
        let n = (s1 + s2) / 2.0; // (14-6)
        let c = phi1.to_radians().cos().powi(2) + 2.0 * n * s1; // (14-5)
        let rho0 = (c - 2.0 * n * phi0.to_radians().sin()).sqrt() / n; // (14-3a)
        Albers {
            n,
            c,
            rho0,
            lambda0: lambda0.to_radians(),
        }
    }

    /// The parameters used for the China map: 25° N / 47° N, origin 0° N, 105° E.
    pub fn china() -> Albers {
        Albers::new(25.0, 47.0, 0.0, 105.0)
    }

    /// The cone constant n.
    pub fn n(&self) -> f64 {
        self.n
    }

    /// Snyder's C.
    pub fn c(&self) -> f64 {
        self.c
    }

    /// ρ0, the radius of the origin latitude's arc.
    pub fn rho0(&self) -> f64 {
        self.rho0
    }

    /// Projects (longitude, latitude) in degrees to plane (x, y), x east, y north, in units of
    /// the sphere's radius.
    pub fn project(&self, lon: f64, lat: f64) -> (f64, f64) {
        let mut dl = lon.to_radians() - self.lambda0;
        // Keep λ − λ0 in (−π, π] so meridians near ±180° stay on their side.
        if dl > std::f64::consts::PI {
            dl -= std::f64::consts::TAU;
        } else if dl <= -std::f64::consts::PI {
            dl += std::f64::consts::TAU;
        }
        let rho = (self.c - 2.0 * self.n * lat.to_radians().sin())
            .max(0.0)
            .sqrt()
            / self.n; // (14-3)
        let theta = self.n * dl; // (14-4)
        (rho * theta.sin(), self.rho0 - rho * theta.cos()) // (14-1), (14-2)
    }
}

/// Whether a region is one of the 31 provinces or a region the data never covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionKind {
    Province,
    /// Taiwan, Hong Kong, Macao: drawn hatched unless a value is supplied.
    NoData,
}

/// One region of the map with its precomputed path.
#[derive(Debug, Clone, PartialEq)]
pub struct MapRegion {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub kind: RegionKind,
    /// SVG path data in viewBox px.
    pub path: String,
    /// Projected area in px² (for tests and label decisions).
    pub area: f64,
}

impl MapRegion {
    pub fn name(&self, lang: Lang) -> &str {
        match lang {
            Lang::Zh => &self.name_zh,
            Lang::En => &self.name_en,
        }
    }
}

/// The projected map, built once.
#[derive(Debug, Clone, PartialEq)]
pub struct ChinaMap {
    regions: Vec<MapRegion>,
    width: f64,
    height: f64,
    /// Lowest inked y per `COLUMN`-px-wide column, to place the legend below the outline.
    bottom: Vec<f64>,
    /// The South China Sea inset and the caption (审图号) of a standard map; `None` for the
    /// schematic bundled map.
    standard: Option<(Inset, String)>,
}

/// One region's value on a choropleth.
#[derive(Debug, Clone, PartialEq)]
pub struct MapValue {
    /// Region code as in the map (ISO 3166-2, e.g. "CN-GD").
    pub code: String,
    /// Display name (overrides the map's own name).
    pub name: String,
    /// `None` = no data (hatched).
    pub value: Option<f64>,
    pub rank: Option<u32>,
    /// The value as the page formats it, shown in the tooltip.
    pub display: String,
}

/// Everything one choropleth needs besides the map.
pub struct ChoroplethSpec<'a> {
    /// `no_data_label` also labels the hatched regions and their legend entry.
    pub head: ChartHead<'a>,
    pub values: &'a [MapValue],
    /// Computed once over all years, so colours mean the same on every year's map.
    pub bins: &'a Bins,
    /// The link of a region (its profile), by code; `None` leaves it unlinked.
    pub href: &'a dyn Fn(&str) -> Option<String>,
    pub lang: Lang,
    pub legend_title: &'a str,
    /// A region drawn with a heavy outline (e.g. the region whose profile is open).
    pub highlight: Option<&'a str>,
}

/// A line or ring of (longitude, latitude) positions, in degrees.
pub type Ring = Vec<(f64, f64)>;
/// An exterior ring followed by its holes.
pub type Polygon = Vec<Ring>;

/// One drawable piece of a base map's feature.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    Area(Polygon),
    Line(Ring),
}

/// One region of a base map, in degrees.
#[derive(Debug, Clone, PartialEq)]
pub struct RegionShape {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub kind: RegionKind,
    pub polygons: Vec<Polygon>,
}

/// The South China Sea inset's box, degrees: longitudes, latitudes.
pub const INSET_LON: (f64, f64) = (105.0, 125.0);
pub const INSET_LAT: (f64, f64) = (3.0, 25.0);
/// With an inset, the main map shows what lies north of this latitude (Hainan Island reaches
/// 18.2° N; the islands further south are in the inset).
pub const MAIN_SOUTH: f64 = 17.5;
/// Width of the inset's frame, px of the map's viewBox.
const INSET_WIDTH: f64 = 150.0;
/// Height of the caption line under a standard map, px.
const CAPTION_HEIGHT: f64 = 20.0;

/// The South China Sea inset of a standard map: its frame in the map's px, and its own linear
/// map from the projected plane to px.
#[derive(Debug, Clone, PartialEq)]
pub struct Inset {
    /// (x, y, width, height) of the frame.
    pub frame: (f64, f64, f64, f64),
    /// Height of the main map's outline box: the main map is clipped there.
    main_height: f64,
    /// Projected (x, y) of the frame's top-left corner and px per projected unit.
    origin: (f64, f64),
    scale: f64,
    /// Per region (same order as the map's regions): its path in the inset, empty when the
    /// region lies outside the inset's box.
    paths: Vec<String>,
    /// Inset-only areas (islands) and lines (the boundary line), path data.
    areas: String,
    lines: String,
}

impl Inset {
    /// Where (longitude, latitude) lands on the map inside the inset.
    pub fn to_px(&self, lon: f64, lat: f64) -> (f64, f64) {
        let (x, y) = Albers::china().project(lon, lat);
        (
            self.frame.0 + (x - self.origin.0) * self.scale,
            self.frame.1 + (self.origin.1 - y) * self.scale,
        )
    }
}

/// Padding around the projected outline, px.
const PAD: f64 = 8.0;
/// Width of the columns of `ChinaMap::bottom`, px.
const COLUMN: f64 = 10.0;
/// The legend is drawn larger than chart text: pages show the map scaled down to about
/// two thirds, where 12 px would become too small to read.
const LEGEND_SCALE: f64 = 1.4;

static BUNDLED: OnceLock<ChinaMap> = OnceLock::new();

fn feature_err(index: usize, reason: impl Into<String>) -> ChartError {
    ChartError::Feature {
        index,
        reason: reason.into(),
    }
}

fn parse_ring(index: usize, v: &Value) -> Result<Ring, ChartError> {
    let pts = v
        .as_array()
        .ok_or_else(|| feature_err(index, "a ring is not an array"))?;
    let mut ring = Vec::with_capacity(pts.len());
    for p in pts {
        let pair = p.as_array().filter(|a| a.len() >= 2);
        let (lon, lat) = match pair.map(|a| (a[0].as_f64(), a[1].as_f64())) {
            Some((Some(lon), Some(lat))) => (lon, lat),
            _ => return Err(feature_err(index, "a position is not [lon, lat]")),
        };
        if !((-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat)) {
            return Err(feature_err(
                index,
                format!("position [{lon}, {lat}] is out of range"),
            ));
        }
        ring.push((lon, lat));
    }
    if ring.len() < 4 {
        return Err(feature_err(index, "a ring has fewer than 4 positions"));
    }
    Ok(ring)
}

fn parse_polygon(index: usize, v: &Value) -> Result<Vec<Ring>, ChartError> {
    v.as_array()
        .ok_or_else(|| feature_err(index, "a polygon is not an array of rings"))?
        .iter()
        .map(|r| parse_ring(index, r))
        .collect()
}

fn ring_area(r: &[(f64, f64)]) -> f64 {
    let n = r.len();
    (0..n)
        .map(|i| {
            let (a, b) = (r[i], r[(i + 1) % n]);
            a.0 * b.1 - b.0 * a.1
        })
        .sum::<f64>()
        / 2.0
}

impl ChinaMap {
    /// Width of the map's viewBox in px (the height follows from the projected outline).
    pub const WIDTH: f64 = 800.0;

    /// Parses a GeoJSON FeatureCollection whose features carry `code`, `name_zh`, `name_en`
    /// and `kind` ("province" | "no-data") and a Polygon/MultiPolygon, projects and fits it.
    pub fn from_geojson(text: &str) -> Result<ChinaMap, ChartError> {
        let doc: Value = serde_json::from_str(text).map_err(|e| ChartError::GeoJson {
            message: e.to_string(),
            line: e.line(),
            column: e.column(),
        })?;
        let features =
            doc.get("features")
                .and_then(Value::as_array)
                .ok_or(ChartError::GeoJson {
                    message: "no \"features\" array".into(),
                    line: 1,
                    column: 1,
                })?;
        let mut parsed = Vec::with_capacity(features.len());
        for (index, f) in features.iter().enumerate() {
            let props = f.get("properties");
            let prop = |k: &str| props.and_then(|p| p.get(k)).and_then(Value::as_str);
            let code =
                prop("code").ok_or_else(|| feature_err(index, "missing property \"code\""))?;
            let kind = match prop("kind").unwrap_or("province") {
                "province" => RegionKind::Province,
                "no-data" => RegionKind::NoData,
                other => return Err(feature_err(index, format!("unknown kind \"{other}\""))),
            };
            let geom = f
                .get("geometry")
                .ok_or_else(|| feature_err(index, "missing geometry"))?;
            let coords = geom
                .get("coordinates")
                .ok_or_else(|| feature_err(index, "missing coordinates"))?;
            let polygons = match geom.get("type").and_then(Value::as_str) {
                Some("Polygon") => vec![parse_polygon(index, coords)?],
                Some("MultiPolygon") => coords
                    .as_array()
                    .ok_or_else(|| feature_err(index, "MultiPolygon coordinates are not an array"))?
                    .iter()
                    .map(|p| parse_polygon(index, p))
                    .collect::<Result<Vec<_>, _>>()?,
                other => {
                    return Err(feature_err(
                        index,
                        format!("unsupported geometry {other:?}"),
                    ));
                }
            };
            parsed.push(RegionShape {
                code: code.to_string(),
                name_zh: prop("name_zh").unwrap_or(code).to_string(),
                name_en: prop("name_en").unwrap_or(code).to_string(),
                kind,
                polygons,
            });
        }
        Self::build(parsed, None)
    }

    /// A standard map: `regions` drawn north of [`MAIN_SOUTH`], the South China Sea inset in
    /// the lower-right corner with the regions and `inset` shapes (islands, the boundary line)
    /// inside 105–125° E, 3–25° N, and `caption` (the approval number) under the map.
    pub fn standard(
        regions: Vec<RegionShape>,
        inset: &[Shape],
        caption: String,
    ) -> Result<ChinaMap, ChartError> {
        Self::build(regions, Some((inset, caption)))
    }

    fn build(
        shapes: Vec<RegionShape>,
        standard: Option<(&[Shape], String)>,
    ) -> Result<ChinaMap, ChartError> {
        let proj = Albers::china();
        let project_ring = |ring: &Ring| -> Ring {
            ring.iter()
                .map(|&(lon, lat)| proj.project(lon, lat))
                .collect()
        };
        // With an inset, the islands south of MAIN_SOUTH do not stretch the main map.
        let south = if standard.is_some() {
            MAIN_SOUTH
        } else {
            f64::NEG_INFINITY
        };
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for &(lon, lat) in shapes
            .iter()
            .flat_map(|r| r.polygons.iter().flatten().flatten())
        {
            if lat >= south {
                let (x, y) = proj.project(lon, lat);
                (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
            }
        }
        if x0 >= x1 || y0 >= y1 {
            return Err(ChartError::GeoJson {
                message: "no area to draw".into(),
                line: 1,
                column: 1,
            });
        }
        let s = (Self::WIDTH - 2.0 * PAD) / (x1 - x0);
        let height = ((y1 - y0) * s + 2.0 * PAD).ceil();
        // North up: SVG's y grows downwards.
        let to_px = |(x, y): (f64, f64)| (PAD + (x - x0) * s, PAD + (y1 - y) * s);
        let mut bottom = vec![PAD; (Self::WIDTH / COLUMN).ceil() as usize];
        let mut regions = Vec::with_capacity(shapes.len());
        for shape in &shapes {
            let mut path = String::new();
            let mut area = 0.0;
            for poly in &shape.polygons {
                for (i, ring) in poly.iter().enumerate() {
                    let px: Ring = project_ring(ring).into_iter().map(to_px).collect();
                    for &(x, y) in px.iter().filter(|p| p.1 <= height) {
                        let col = ((x.max(0.0) / COLUMN) as usize).min(bottom.len() - 1);
                        bottom[col] = bottom[col].max(y);
                    }
                    // Exterior rings add, holes subtract.
                    let a = ring_area(&px).abs();
                    area += if i == 0 { a } else { -a };
                    write_ring(&mut path, &px, true);
                }
            }
            regions.push(MapRegion {
                code: shape.code.clone(),
                name_zh: shape.name_zh.clone(),
                name_en: shape.name_en.clone(),
                kind: shape.kind,
                path,
                area,
            });
        }
        let mut map_height = height;
        let standard = standard.map(|(extra, caption)| {
            let inset = inset(&shapes, extra, Self::WIDTH, height, &bottom);
            let (fx, fy, _, fh) = inset.frame;
            map_height = map_height.max(fy + fh + PAD);
            // The legend must not run into the inset either.
            for (col, b) in bottom.iter_mut().enumerate() {
                if (col + 1) as f64 * COLUMN > fx {
                    *b = b.max(fy + fh);
                }
            }
            (inset, caption)
        });
        Ok(ChinaMap {
            regions,
            width: Self::WIDTH,
            height: map_height,
            bottom,
            standard,
        })
    }

    /// The South China Sea inset of a standard map, `None` for the schematic map.
    pub fn inset(&self) -> Option<&Inset> {
        self.standard.as_ref().map(|(inset, _)| inset)
    }

    /// The caption (approval number) of a standard map.
    pub fn caption(&self) -> Option<&str> {
        self.standard.as_ref().map(|(_, caption)| caption.as_str())
    }

    /// The map built from the bundled `data/geo/cn-provinces.geojson`, parsed on first use.
    pub fn bundled() -> &'static ChinaMap {
        BUNDLED.get_or_init(|| {
            // The file is compiled in and checked by the `bundled_map_*` tests, so failure here
            // is a build defect, not a user error.
            ChinaMap::from_geojson(include_str!("../../data/geo/cn-provinces.geojson"))
                .expect("bundled data/geo/cn-provinces.geojson is valid")
        })
    }

    pub fn regions(&self) -> &[MapRegion] {
        &self.regions
    }

    pub fn region(&self, code: &str) -> Option<&MapRegion> {
        self.regions.iter().find(|r| r.code == code)
    }

    /// (width, height) of the outline's box in px; a rendered map may be taller when the
    /// legend needs room below the outline.
    pub fn size(&self) -> (f64, f64) {
        (self.width, self.height)
    }

    /// Renders the choropleth: one `<a href>` (or `<g>` when unlinked) per region with a
    /// `<title>` tooltip "name: value (rank N)", hatched "no data", a legend of the bins.
    pub fn render(&self, spec: &ChoroplethSpec<'_>) -> String {
        let by_code: HashMap<&str, &MapValue> =
            spec.values.iter().map(|v| (v.code.as_str(), v)).collect();
        let id = svg::sanitize_id(spec.head.id);
        let hatch = format!("{id}-nodata");
        // The legend goes bottom-left, under the lowest outline point in the columns it covers
        // (south of Xizang on the bundled map); the SVG grows if it does not fit.
        let mut items: Vec<LegendItem> = spec
            .bins
            .labels()
            .into_iter()
            .zip(spec.bins.colors())
            .map(|(label, c)| LegendItem {
                label,
                swatch: Swatch::Fill((*c).to_string()),
            })
            .collect();
        items.push(LegendItem {
            label: spec.head.no_data_label.to_string(),
            swatch: Swatch::Pattern(hatch.clone()),
        });
        let mut legend_svg = String::new();
        let (lw, lh) = legend::vertical(&mut legend_svg, 0.0, 0.0, spec.legend_title, &items);
        let (lw, lh) = (lw * LEGEND_SCALE, lh * LEGEND_SCALE);
        let lx = PAD + 4.0;
        // 20 px of slack: label widths are estimates.
        let cols = ((lx + lw + 20.0) / COLUMN).ceil() as usize;
        let ly = self.bottom.iter().take(cols).fold(PAD, |a, b| a.max(*b)) + 12.0;
        let map_height = self.height.max((ly + lh + PAD).ceil());
        let height = map_height
            + if self.standard.is_some() {
                CAPTION_HEIGHT
            } else {
                0.0
            };
        // `nqp-map-standard`: drawn on the user's standard map, captioned; a figure of any
        // other map says it is schematic.
        let class = if self.standard.is_some() {
            "nqp-chart nqp-map nqp-map-standard"
        } else {
            "nqp-chart nqp-map"
        };
        let (mut out, _) = spec
            .head
            .frame(class, (self.width, height))
            .linked(true)
            .open();
        svg::no_data_pattern(&mut out, &hatch);
        let fill_of = |code: &str| -> String {
            by_code
                .get(code)
                .and_then(|v| v.value)
                .and_then(|x| spec.bins.color_of(x))
                .map_or_else(|| format!("url(#{hatch})"), str::to_string)
        };
        if self.standard.is_some() {
            // The main map ends at MAIN_SOUTH; the islands further south are in the inset.
            let _ = write!(
                out,
                "<clipPath id=\"{id}-main\"><rect x=\"0\" y=\"0\" width=\"{}\" height=\"{}\"/></clipPath>\
                 <g class=\"regions\" clip-path=\"url(#{id}-main)\" stroke=\"#4d4d4d\" stroke-width=\"0.5\" stroke-linejoin=\"round\">",
                num(self.width),
                num(self.inset().map_or(self.height, |i| i.main_height))
            );
        } else {
            out.push_str(
                "<g class=\"regions\" stroke=\"#4d4d4d\" stroke-width=\"0.5\" stroke-linejoin=\"round\">",
            );
        }
        // Provinces first, then the no-data regions on top (Hong Kong and Macao overlap the
        // Guangdong outline a little), then the highlighted region so its outline is not hidden.
        let mut order: Vec<&MapRegion> = self.regions.iter().collect();
        order.sort_by_key(|r| {
            (
                spec.highlight == Some(r.code.as_str()),
                r.kind == RegionKind::NoData,
            )
        });
        for r in order {
            let v = by_code.get(r.code.as_str()).copied();
            let name = v.map_or_else(|| r.name(spec.lang), |v| v.name.as_str());
            let fill = v.and_then(|v| v.value).and_then(|x| spec.bins.color_of(x));
            let tip = tooltip(spec, name, v.filter(|_| fill.is_some()));
            let linked = r.kind == RegionKind::Province || v.is_some();
            let href = if linked { (spec.href)(&r.code) } else { None };
            let mut class = String::from("region");
            if fill.is_none() {
                class.push_str(" no-data");
            }
            let selected = spec.highlight == Some(r.code.as_str());
            if selected {
                class.push_str(" selected");
            }
            match &href {
                Some(h) => {
                    let _ = write!(out, "<a href=\"{}\"", escape_xml(h));
                }
                None => out.push_str("<g"),
            }
            let _ = write!(
                out,
                " class=\"{class}\" data-code=\"{}\"><title>{}</title><path d=\"{}\" fill=\"{}\"{}/>",
                escape_xml(&r.code),
                escape_xml(&tip),
                r.path,
                fill_of(&r.code),
                if selected {
                    " stroke=\"#000\" stroke-width=\"2\""
                } else {
                    ""
                }
            );
            out.push_str(if href.is_some() { "</a>" } else { "</g>" });
        }
        out.push_str("</g>");
        if let Some((inset, caption)) = &self.standard {
            self.write_inset(&mut out, inset, &id, spec.lang, &fill_of);
            let _ = write!(
                out,
                "<text class=\"map-caption\" x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"13\" fill=\"#333\">{}</text>",
                num(self.width - PAD),
                num(height - 6.0),
                escape_xml(caption)
            );
        }
        let _ = write!(
            out,
            "<g transform=\"translate({},{}) scale({LEGEND_SCALE})\">{legend_svg}</g>",
            num(lx),
            num(ly)
        );
        svg::close(out)
    }
}

impl ChinaMap {
    /// The inset: a white box with its frame, the regions in their colours (no links or
    /// tooltips: the main map has them), the inset-only islands and lines, and its label.
    fn write_inset(
        &self,
        out: &mut String,
        inset: &Inset,
        id: &str,
        lang: Lang,
        fill_of: &dyn Fn(&str) -> String,
    ) {
        let (x, y, w, h) = inset.frame;
        let rect = format!(
            "x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"",
            num(x),
            num(y),
            num(w),
            num(h)
        );
        let _ = write!(
            out,
            "<g class=\"inset\" aria-hidden=\"true\"><clipPath id=\"{id}-inset\"><rect {rect}/></clipPath>\
             <rect {rect} fill=\"#fff\"/><g clip-path=\"url(#{id}-inset)\" stroke=\"#4d4d4d\" stroke-width=\"0.4\" stroke-linejoin=\"round\">"
        );
        for (r, path) in self.regions.iter().zip(&inset.paths) {
            if !path.is_empty() {
                let _ = write!(out, "<path d=\"{path}\" fill=\"{}\"/>", fill_of(&r.code));
            }
        }
        if !inset.areas.is_empty() {
            let _ = write!(
                out,
                "<path class=\"inset-areas\" d=\"{}\" fill=\"#bdbdbd\"/>",
                inset.areas
            );
        }
        if !inset.lines.is_empty() {
            let _ = write!(
                out,
                "<path class=\"inset-lines\" d=\"{}\" fill=\"none\" stroke-width=\"1\"/>",
                inset.lines
            );
        }
        let _ = write!(
            out,
            "</g><rect class=\"inset-frame\" {rect} fill=\"none\" stroke=\"#333\" stroke-width=\"1\"/>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"10\" fill=\"#333\">{}</text></g>",
            num(x + w - 4.0),
            num(y + h - 5.0),
            lang.pick("南海诸岛", "South China Sea Islands")
        );
    }
}

/// "name: value (rank N)" in the page language; "name: no data" without a value.
fn tooltip(spec: &ChoroplethSpec<'_>, name: &str, v: Option<&MapValue>) -> String {
    match (v, spec.lang) {
        (None, Lang::Zh) => format!("{name}：{}", spec.head.no_data_label),
        (None, Lang::En) => format!("{name}: {}", spec.head.no_data_label),
        (Some(v), Lang::Zh) => match v.rank {
            Some(r) => format!("{name}：{}（第 {r} 名）", v.display),
            None => format!("{name}：{}", v.display),
        },
        (Some(v), Lang::En) => match v.rank {
            Some(r) => format!("{name}: {} (rank {r})", v.display),
            None => format!("{name}: {}", v.display),
        },
    }
}

/// Appends "M x,y L x,y … Z" (without "Z" for a line, `closed` false) with 0.1 px
/// coordinates, skipping points that round together.
fn write_ring(path: &mut String, ring: &[(f64, f64)], closed: bool) {
    // GeoJSON repeats the first position at the end; "Z" closes the ring instead.
    let open = match ring {
        [first, rest @ .., last] if closed && first == last => &ring[..rest.len() + 1],
        _ => ring,
    };
    let mut last = String::new();
    let mut count = 0;
    for &(x, y) in open {
        let p = format!("{},{}", num(x), num(y));
        if p == last {
            continue;
        }
        path.push_str(if count == 0 {
            "M"
        } else if count == 1 {
            "L"
        } else {
            " "
        });
        path.push_str(&p);
        last = p;
        count += 1;
    }
    if count > 0 && closed {
        path.push('Z');
    }
}

/// Lays out the South China Sea inset in the lower-right corner of a `width` × `height` map,
/// below the lowest ink in its columns (`bottom`; the map grows when it must): the box
/// [`INSET_LON`] × [`INSET_LAT`] projected like the main map (so shapes keep their form) at
/// the scale that fits it into [`INSET_WIDTH`], and the path of every region and inset shape
/// that reaches into the box.
fn inset(
    shapes: &[RegionShape],
    extra: &[Shape],
    width: f64,
    height: f64,
    bottom: &[f64],
) -> Inset {
    let proj = Albers::china();
    // The box's edges are curves on the cone: sample them for its projected extent.
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    let ((lon0, lon1), (lat0, lat1)) = (INSET_LON, INSET_LAT);
    for k in 0..=20 {
        let t = f64::from(k) / 20.0;
        let lon = lon0 + t * (lon1 - lon0);
        let lat = lat0 + t * (lat1 - lat0);
        for (x, y) in [
            proj.project(lon, lat0),
            proj.project(lon, lat1),
            proj.project(lon0, lat),
            proj.project(lon1, lat),
        ] {
            (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
        }
    }
    let scale = INSET_WIDTH / (x1 - x0);
    let h = ((y1 - y0) * scale).ceil();
    let x = width - PAD - INSET_WIDTH;
    let ink = bottom
        .iter()
        .enumerate()
        .filter(|(col, _)| (col + 1) as f64 * COLUMN > x)
        .fold(0.0, |m: f64, (_, b)| m.max(*b));
    let frame = (x, (height - PAD - h).max(ink + 6.0), INSET_WIDTH, h);
    let mut inset = Inset {
        frame,
        main_height: height,
        origin: (x0, y1),
        scale,
        paths: Vec::with_capacity(shapes.len()),
        areas: String::new(),
        lines: String::new(),
    };
    let in_box = |ring: &Ring| {
        ring.iter()
            .any(|&(lon, lat)| (lon0..=lon1).contains(&lon) && (lat0..=lat1).contains(&lat))
    };
    let px = |inset: &Inset, ring: &Ring| -> Ring {
        ring.iter()
            .map(|&(lon, lat)| inset.to_px(lon, lat))
            .collect()
    };
    for shape in shapes {
        let mut path = String::new();
        for poly in shape
            .polygons
            .iter()
            .filter(|p| p.first().is_some_and(in_box))
        {
            for ring in poly {
                write_ring(&mut path, &px(&inset, ring), true);
            }
        }
        inset.paths.push(path);
    }
    let (mut areas, mut lines) = (String::new(), String::new());
    for shape in extra {
        match shape {
            Shape::Area(poly) => {
                for ring in poly {
                    write_ring(&mut areas, &px(&inset, ring), true);
                }
            }
            Shape::Line(line) => write_ring(&mut lines, &px(&inset, line), false),
        }
    }
    (inset.areas, inset.lines) = (areas, lines);
    inset
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{check_xml, choropleth, count, texts};
    use super::*;

    #[test]
    fn albers_matches_snyders_worked_example() {
        // Snyder (1987) p. 292: sphere R = 1, φ1 = 29.5°, φ2 = 45.5°, φ0 = 23°, λ0 = −96°;
        // (35° N, 75° W) → x = 0.2952720, y = 0.2416774; n = 0.6028370.
        let a = Albers::new(29.5, 45.5, 23.0, -96.0);
        let (x, y) = a.project(-75.0, 35.0);
        assert!((a.n() - 0.602_837_0).abs() < 5e-8);
        assert!((x - 0.295_272_0).abs() < 5e-8, "{x}");
        assert!((y - 0.241_677_4).abs() < 5e-8, "{y}");
    }

    #[test]
    fn albers_china_parameters_against_hand_computed_values() {
        // Values from eqs. 14-1..14-6 evaluated independently (Python, IEEE doubles).
        let a = Albers::china();
        assert!((a.n() - 0.576_985_981_679_935).abs() < 1e-12);
        assert!((a.c() - 1.309_083_430_095_92).abs() < 1e-12);
        assert!((a.rho0() - 1.982_980_306_402_560_2).abs() < 1e-12);
        let cases = [
            ((105.0, 0.0), (0.0, 0.0)),
            ((105.0, 35.0), (0.0, 0.588_695_771_562_248_1)),
            (
                (116.4, 39.9),
                (0.149_738_611_725_262_73, 0.684_388_907_514_426_5),
            ),
            (
                (121.5, 31.2),
                (0.241_760_788_974_087_56, 0.541_407_749_381_725_5),
            ),
            (
                (87.6, 43.8),
                (-0.215_846_181_014_675, 0.763_778_417_713_009_8),
            ),
        ];
        for ((lon, lat), (ex, ey)) in cases {
            let (x, y) = a.project(lon, lat);
            assert!(
                (x - ex).abs() < 1e-9 && (y - ey).abs() < 1e-9,
                "({lon},{lat}) → ({x},{y})"
            );
        }
    }

    fn sample_values(map: &ChinaMap) -> Vec<MapValue> {
        map.regions()
            .iter()
            .filter(|r| r.kind == RegionKind::Province)
            .enumerate()
            .map(|(i, r)| MapValue {
                code: r.code.clone(),
                name: r.name_en.clone(),
                value: if r.code == "CN-XZ" {
                    None
                } else {
                    Some(i as f64)
                },
                rank: Some(i as u32 + 1),
                display: format!("{i}.0"),
            })
            .collect()
    }

    fn render(map: &ChinaMap, values: &[MapValue], bins: &Bins) -> String {
        let href = |c: &str| Some(format!("/regions/{c}?lang=en&x=1"));
        choropleth(map, (values, bins), Lang::En, &href)
    }

    /// The bundled map of [`sample_values`] in five classes, and its values.
    fn sample() -> (Vec<MapValue>, String) {
        let values = sample_values(ChinaMap::bundled());
        let bins = Bins::equal(0.0, 30.0, 5).unwrap();
        let svg = render(ChinaMap::bundled(), &values, &bins);
        (values, svg)
    }

    #[test]
    fn bundled_map_has_31_provinces_and_3_no_data_regions() {
        let map = ChinaMap::bundled();
        let provinces = map
            .regions()
            .iter()
            .filter(|r| r.kind == RegionKind::Province)
            .count();
        assert_eq!(provinces, 31);
        let mut nd: Vec<&str> = map
            .regions()
            .iter()
            .filter(|r| r.kind == RegionKind::NoData)
            .map(|r| r.code.as_str())
            .collect();
        nd.sort_unstable();
        assert_eq!(nd, ["CN-HK", "CN-MO", "CN-TW"]);
        assert_eq!(
            map.region("CN-TW").map(|r| r.name_zh.as_str()),
            Some("台湾")
        );
        assert_eq!(
            map.region("CN-MO").map(|r| r.name_en.as_str()),
            Some("Macao")
        );
        assert_eq!(
            map.region("CN-HA").map(|r| r.name_zh.as_str()),
            Some("河南")
        );
        let (w, h) = map.size();
        assert_eq!(w, 800.0);
        assert!(h > 550.0 && h < 750.0, "{h}");
    }

    #[test]
    fn bundled_map_is_north_up_and_equal_area() {
        let map = ChinaMap::bundled();
        let top = |code: &str| {
            let r = map.region(code).unwrap();
            r.path
                .split(['M', 'L', ' ', 'Z'])
                .filter_map(|p| p.split_once(',').and_then(|(_, y)| y.parse::<f64>().ok()))
                .fold(f64::MAX, f64::min)
        };
        // Heilongjiang is north of Hainan: smaller y on screen.
        assert!(top("CN-HL") < top("CN-HI"));
        // Equal-area: Xinjiang (1.66 M km²) is about 9.8 × Guangdong (0.18 M km²).
        let ratio = map.region("CN-XJ").unwrap().area / map.region("CN-GD").unwrap().area;
        assert!((8.0..11.5).contains(&ratio), "{ratio}");
    }

    #[test]
    fn render_links_and_titles_every_province() {
        let (_, svg) = sample();
        check_xml(&svg).unwrap();
        assert_eq!(count(&svg, "a[href] > path"), 31);
        assert_eq!(count(&svg, "a[href] > title"), 31);
        assert_eq!(count(&svg, "g.region.no-data > path"), 3);
        assert_eq!(count(&svg, "a[href^=\"/regions/CN-GD?lang=en&x=1\"]"), 1);
        assert!(svg.contains("href=\"/regions/CN-GD?lang=en&amp;x=1\""));
        assert!(svg.contains("role=\"group\""));
        assert!(svg.contains("aria-labelledby=\"m-title\""));
        // The legend: k entries + no data.
        assert_eq!(count(&svg, "g.legend rect"), 6);
        let labels = texts(&svg, "g.legend text");
        assert_eq!(labels.first().map(String::as_str), Some("Score"));
        assert_eq!(labels.last().map(String::as_str), Some("no data"));
        assert_eq!(labels[1], "0.0 – 6.0");
    }

    #[test]
    fn the_legend_sits_below_the_outline_inside_the_svg() {
        let (_, svg) = sample();
        let t = &svg[svg.find("translate(").unwrap() + 10..];
        let (x, y) = t[..t.find(')').unwrap()].split_once(',').unwrap();
        let (x, y): (f64, f64) = (x.parse().unwrap(), y.parse().unwrap());
        // Lowest point of Xizang west of x = 150 (the legend's labels end near x = 135).
        let xz = ChinaMap::bundled().region("CN-XZ").unwrap();
        let lowest = xz
            .path
            .split(['M', 'L', ' ', 'Z'])
            .filter_map(|p| p.split_once(','))
            .filter_map(|(a, b)| Some((a.parse::<f64>().ok()?, b.parse::<f64>().ok()?)))
            .filter(|(px, _)| *px < 150.0)
            .fold(0.0, |m, (_, py)| f64::max(m, py));
        assert!(
            x < 20.0 && y > lowest,
            "legend at ({x},{y}), Xizang reaches {lowest}"
        );
        let h: f64 = {
            let s = &svg[svg.find("height=\"").unwrap() + 8..];
            s[..s.find('"').unwrap()].parse().unwrap()
        };
        // 7 rows (title, 5 classes, no data) of 18 px plus the title gap, scaled.
        assert!(h >= y + (2.0 + 7.0 * 18.0) * LEGEND_SCALE, "{h}");
    }

    #[test]
    fn a_province_without_value_is_hatched_and_says_so() {
        let (values, svg) = sample();
        assert!(svg.contains("data-code=\"CN-XZ\"><title>Tibet: no data</title><path d=\""));
        let xz = &svg[svg.find("data-code=\"CN-XZ\"").unwrap()..];
        let xz = &xz[..xz.find("</a>").unwrap()];
        assert!(xz.contains("fill=\"url(#m-nodata)\""));
        assert_eq!(count(&svg, "a.no-data[data-code=\"CN-XZ\"]"), 1);
        let tw = texts(&svg, "g[data-code=\"CN-TW\"] > title");
        assert_eq!(tw, ["Taiwan: no data"]);
        let gd = &values.iter().find(|v| v.code == "CN-GD").unwrap();
        let want = format!("Guangdong: {} (rank {})", gd.display, gd.rank.unwrap());
        assert_eq!(texts(&svg, "a[data-code=\"CN-GD\"] > title"), [want]);
    }

    #[test]
    fn bins_are_fixed_across_years() {
        let map = ChinaMap::bundled();
        // Year 1 scores 0..=30, year 2 the same provinces +30: bins over both years.
        let year = |offset: f64| -> Vec<MapValue> {
            sample_values(map)
                .into_iter()
                .map(|v| MapValue {
                    value: v.value.map(|x| x + offset),
                    ..v
                })
                .collect()
        };
        let (y1, y2) = (year(0.0), year(30.0));
        let all: Vec<f64> = y1.iter().chain(&y2).filter_map(|v| v.value).collect();
        let bins = Bins::quantiles(&all, 5).unwrap();
        let fill = |svg: &str, code: &str| {
            let s = &svg[svg.find(&format!("data-code=\"{code}\"")).unwrap()..];
            let f = &s[s.find("fill=\"").unwrap() + 6..];
            f[..f.find('"').unwrap()].to_string()
        };
        let (s1, s2) = (render(map, &y1, &bins), render(map, &y2, &bins));
        // The lowest province of year 2 (value 30) is mid-range overall, not the lightest class.
        let low2 = y2.iter().find(|v| v.value == Some(30.0)).unwrap();
        assert_eq!(fill(&s2, &low2.code), "#41b6c4");
        // A value present in both years (30 in year 1, 30 in year 2) gets the same colour.
        let top1 = y1.iter().find(|v| v.value == Some(30.0)).unwrap();
        assert_eq!(fill(&s1, &top1.code), fill(&s2, &low2.code));
        // Rendering is deterministic: the same inputs give byte-identical SVG.
        assert_eq!(s1, render(map, &y1, &bins));
    }

    #[test]
    fn names_are_escaped() {
        let map = ChinaMap::bundled();
        let values = vec![MapValue {
            code: "CN-GD".into(),
            name: "<script>alert(1)</script> & Co".into(),
            value: Some(1.0),
            rank: None,
            display: "1 & 2".into(),
        }];
        let bins = Bins::equal(0.0, 2.0, 2).unwrap();
        let svg = render(map, &values, &bins);
        check_xml(&svg).unwrap();
        assert!(!svg.contains("<script"));
        assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co: 1 &amp; 2"));
        assert_eq!(count(&svg, "script"), 0);
    }

    #[test]
    fn from_geojson_reports_errors_with_codes() {
        let e = ChinaMap::from_geojson("{\"features\": [").unwrap_err();
        assert_eq!(e.code(), "charts.geojson");
        let bad = r#"{"features":[{"properties":{"code":"X"},"geometry":{"type":"Point","coordinates":[1,2]}}]}"#;
        let e = ChinaMap::from_geojson(bad).unwrap_err();
        assert_eq!(e.code(), "charts.feature");
        assert!(e.to_string().contains("feature 0"));
        let far = r#"{"features":[{"properties":{"code":"X"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,200],[0,0]]]}}]}"#;
        assert_eq!(
            ChinaMap::from_geojson(far).unwrap_err().code(),
            "charts.feature"
        );
        let ok = r#"{"features":[{"properties":{"code":"CN-X","kind":"province"},"geometry":{"type":"Polygon","coordinates":[[[100,30],[110,30],[110,40],[100,30]]]}}]}"#;
        let m = ChinaMap::from_geojson(ok).unwrap();
        assert_eq!(m.regions().len(), 1);
        assert_eq!(m.regions()[0].name_zh, "CN-X");
        assert!(m.regions()[0].path.starts_with('M') && m.regions()[0].path.ends_with('Z'));
        assert_eq!(m.regions()[0].path.matches(',').count(), 3);
    }
}
